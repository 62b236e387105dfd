// The shared-memory addon (native/addon/wayfinder_shm.c): compiled with the C compiler against
// the running Node's headers the first time it is needed, into a per-user cache keyed by the
// source and Node's version, then loaded. N-API keeps it valid across Node versions; the key only
// avoids loading a build of an older source.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
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
let loaded: ShmAddon | undefined;

/** Where the addon is (built if it is not yet). */
export function buildShmAddon(): string {
  const src = readFileSync(SOURCE);
  const key = createHash('sha256').update(src).update(process.version).update(process.arch).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `wayfinder-native-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out = join(dir, `wayfinder_shm-${key}.node`);
  if (existsSync(out)) return out;
  const headers = join(dirname(process.execPath), '..', 'include', 'node');
  const cc = process.env.CC ?? 'gcc';
  const tmp = `${out}.${process.pid}.tmp`;
  const r = spawnSync(cc, ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror', '-shared', '-fPIC', '-I', headers, SOURCE, '-o', tmp], { encoding: 'utf8' });
  if (r.error || r.status !== 0)
    throw new Error(`the shared-memory addon did not build (${cc}, Node's headers in ${headers}): ${r.error?.message ?? r.stderr.trim()}`);
  // Renamed into place whole: another process loading it at the same time never sees half a file.
  renameSync(tmp, out);
  return out;
}

export function shmAddon(): ShmAddon {
  loaded ??= createRequire(import.meta.url)(buildShmAddon()) as ShmAddon;
  return loaded;
}
