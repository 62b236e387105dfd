// Every way a build parameter reaches its target, by name. The built-in ones are registered here;
// another is one module exporting a ParamKind plus one registerParamKind call. The experiment
// schema's parameter keys, the spec's checks of a parameter and the build's preparation read this.

import { envKind } from './env.js';
import { kconfigKind } from './kconfig.js';
import type { ParamKind } from './kind.js';
import { patchKind } from './patch.js';

/** Keys of every parameter; no kind may declare itself with one of them. */
export const PARAM_KEYS: readonly string[] = ['name', 'type', 'only', 'min', 'max', 'step', 'step_mode', 'default', 'when', 'if', 'description'];

const kinds = new Map<string, ParamKind>();

/** Make a kind known: parameters may declare it, and builds prepare it, from now on (in this process). */
export function registerParamKind(kind: ParamKind): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(kind.name)) throw new Error(`parameter kind name "${kind.name}" must be a lower-case word`);
  if (kinds.has(kind.name)) throw new Error(`a parameter kind named "${kind.name}" is already registered`);
  const key = kind.key?.name;
  if (key !== undefined) {
    if (PARAM_KEYS.includes(key)) throw new Error(`parameter kind "${kind.name}": "${key}" is a key of every parameter`);
    const owner = [...kinds.values()].find((k) => k.key?.name === key);
    if (owner) throw new Error(`parameter kind "${kind.name}": key "${key}" is already parameter kind "${owner.name}"'s`);
  }
  kinds.set(kind.name, kind);
}

// Patches before Kconfig: a resolver may read the Kconfig files of the patched source tree.
for (const k of [envKind, patchKind, kconfigKind]) registerParamKind(k);

/** Every registered kind, in the order registered (the order builds prepare them in). */
export function paramKinds(): readonly ParamKind[] {
  return [...kinds.values()];
}
