// The shared-memory addon (native/addon/wayfinder_shm.c). Built at install (`npm install` runs
// scripts/build-addon.mjs from `prepare`, after the TypeScript build) into native/build/, beside a
// file holding the hash of the source it was built from. When that build is missing or was made
// from another source, it is compiled the first time it is needed, with the C compiler against the
// running Node's headers, into a per-user cache keyed by the source and Node's version. N-API keeps
// a build valid across Node versions; the key only avoids loading a build of an older source.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ShmAddon {
  /** The region's file mapped shared, read-write; unmapped when the buffer is collected. */
  map(path: string): ArrayBuffer;
  /** A full memory fence. */
  fence(): void;
}

const SOURCE = fileURLToPath(new URL('../../native/addon/wayfinder_shm.c', import.meta.url));
/** Where the install-time build goes. */
export const INSTALLED = fileURLToPath(new URL('../../native/build/wayfinder_shm.node', import.meta.url));
let loaded: { addon: ShmAddon; from: 'install' | 'first use'; path: string } | undefined;

function sourceHash(): string {
  return createHash('sha256').update(readFileSync(SOURCE)).digest('hex');
}

/** Compile the addon to `out` (replaced whole: a process loading it at the same time never sees half a file). */
function compile(out: string): void {
  const headers = join(dirname(process.execPath), '..', 'include', 'node');
  const cc = process.env.CC ?? 'gcc';
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-I', headers, SOURCE, '-o', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`the shared-memory addon did not build (${cc}, Node's headers in ${headers}): ${r.error?.message ?? r.stderr.trim()}`);
  renameSync(tmp, out);
}

/** The install-time build: compile into native/build/ and record the source's hash beside it. */
export function installShmAddon(): string {
  mkdirSync(dirname(INSTALLED), { recursive: true });
  compile(INSTALLED);
  writeFileSync(`${INSTALLED}.sha256`, `${sourceHash()}\n`);
  return INSTALLED;
}

/** The install-time build, when it exists and was made from the source as it is now. */
export function installedShmAddon(at = INSTALLED): string | undefined {
  try {
    return readFileSync(`${at}.sha256`, 'utf8').trim() === sourceHash() && existsSync(at) ? at : undefined;
  } catch {
    return undefined;
  }
}

/** Where the addon is: the install-time build, or (built if it is not yet) the first-use cache. */
export function buildShmAddon(): string {
  const installed = installedShmAddon();
  if (installed) return installed;
  const key = createHash('sha256').update(readFileSync(SOURCE)).update(process.version).update(process.arch).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `wayfinder-native-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = join(dir, `wayfinder_shm-${key}.node`);
  if (!existsSync(out)) compile(out);
  return out;
}

export function shmAddon(): ShmAddon {
  if (!loaded) {
    const path = buildShmAddon();
    loaded = { addon: createRequire(import.meta.url)(path) as ShmAddon, from: path === INSTALLED ? 'install' : 'first use', path };
  }
  return loaded.addon;
}

/** Which build was loaded (after shmAddon()). */
export function shmAddonOrigin(): { from: 'install' | 'first use'; path: string } | undefined {
  return loaded && { from: loaded.from, path: loaded.path };
}
