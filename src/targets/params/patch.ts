// `patch` parameters: a constant set in the build's copy of its source tree (`source:` on the build),
// found by a pattern whose first capture group is the value (src/targets/patch.ts does the edit).

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { applyPatch, PatchError } from '../patch.js';
import type { ParamKind } from './kind.js';

export const patchKind: ParamKind = {
  name: 'patch',
  description: "a constant in a copy of the build's source tree, where a pattern's capture group matches",
  key: {
    name: 'patch',
    description: "sets a constant in a copy of the build's source tree",
    schema: z.strictObject({
      file: z.string().describe("relative to the build's source tree"),
      pattern: z.string().describe('a regular expression with one capture group around the value; must match exactly once'),
    }),
  },
  load(param, value) {
    if (value === undefined) return undefined;
    const patch = value as { file: string; pattern: string };
    if (param.when !== 'build') return { message: `'${param.name}' patches the source, so it is a build parameter: remove 'when: test'`, at: ['when'] };
    let re: RegExp;
    try {
      re = new RegExp(patch.pattern);
    } catch (e) {
      return { message: `patch pattern ${JSON.stringify(patch.pattern)} is not a valid regular expression: ${(e as Error).message.split(': ').pop()}`, at: ['patch', 'pattern'] };
    }
    if ((new RegExp(`${re.source}|`).exec('')?.length ?? 1) < 2) {
      return { message: `patch pattern ${JSON.stringify(patch.pattern)} needs a capture group around the value, like 'SIZE: usize = (\\d+);'`, at: ['patch', 'pattern'] };
    }
    param.patch = { file: patch.file, pattern: patch.pattern };
    return undefined;
  },
  applies: (param) => param.patch !== undefined,
  async prepare(ctx) {
    const source = ctx.env.WAYFINDER_SOURCE_DIR;
    try {
      for (const p of ctx.params) {
        if (source === undefined) return `patch parameter ${p.name} needs the build to name its source tree ('source:')`;
        const changed = applyPatch(source, p.patch!, p.name, ctx.env[p.name] ?? '');
        appendFileSync(join(ctx.dir, 'patches.log'), `${p.name}=${ctx.env[p.name]}: ${changed}\n`);
      }
    } catch (e) {
      if (e instanceof PatchError) return e.message;
      throw e;
    }
    return undefined;
  },
};
