// The reference dataplane and load generator (native/dataplane/*.c) and controllers generated from
// a policy: compiled with the C compiler into a per-user cache keyed by the sources, so `setup.sh`,
// the tests and `wayfinder dynamic` share one build and a changed source is rebuilt.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const NATIVE_INCLUDE = fileURLToPath(new URL('../../native/include', import.meta.url));
const PROTOCOL_HEADER = join(NATIVE_INCLUDE, 'wayfinder_control.h');
const DATAPLANE_DIR = fileURLToPath(new URL('../../native/dataplane', import.meta.url));

/** The flags every program here compiles under: warnings are errors. */
export const C_FLAGS = ['-std=gnu11', '-O2', '-Wall', '-Wextra', '-Werror'];

function cacheDir(): string {
  const dir = join(tmpdir(), `wayfinder-native-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * Compile one C source (text) that includes wayfinder_control.h into an executable named after the
 * hash of the source and the header; returns its path (built only when not cached). `out`: build
 * to this path instead, always.
 */
export function compileC(name: string, source: string, out?: string): string {
  const header = readFileSync(PROTOCOL_HEADER);
  const key = createHash('sha256').update(source).update(header).update(C_FLAGS.join(' ')).digest('hex').slice(0, 16);
  const dir = cacheDir();
  const target = out ?? join(dir, `${name}-${key}`);
  if (!out && existsSync(target)) return target;
  const src = join(dir, `${name}-${key}.${process.pid}.c`);
  const tmp = `${target}.${process.pid}.tmp`;
  const cc = process.env.CC ?? 'gcc';
  try {
    writeFileSync(src, source);
    const r = spawnSync(cc, [...C_FLAGS, '-I', NATIVE_INCLUDE, src, '-o', tmp, '-lm'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`${name} did not build (${cc} ${C_FLAGS.join(' ')}): ${r.error?.message ?? r.stderr.trim()}`);
    // Renamed into place whole: another process starting it at the same time never sees half a file.
    renameSync(tmp, target);
  } finally {
    rmSync(src, { force: true });
    rmSync(tmp, { force: true });
  }
  return target;
}

export interface ReferenceBinaries {
  dataplane: string;
  loadgen: string;
}

/** The reference dataplane and load generator, built if their sources changed. */
export function buildReference(): ReferenceBinaries {
  const build = (name: string): string => compileC(name, readFileSync(join(DATAPLANE_DIR, `${name}.c`), 'utf8'));
  return { dataplane: build('dataplane'), loadgen: build('loadgen') };
}
