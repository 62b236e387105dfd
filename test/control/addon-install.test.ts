// The shared-memory addon is built at install (package.json `prepare` runs scripts/build-addon.mjs)
// and loaded from there; a missing or stale install-time build falls back to the first-use build.
// A machine where it cannot be built fails this test (gcc and Node's headers are part of the set-up).

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALLED, installedShmAddon, shmAddon, shmAddonOrigin } from '../../src/control/native.js';
import { ROOT, requireTool, tempDir } from '../helpers.js';

describe('the shared-memory addon', () => {
  it('is built by the install step and loaded from there', () => {
    requireTool('gcc');
    expect(readFileSync(join(ROOT, 'package.json'), 'utf8')).toMatch(/"prepare": "tsc -p tsconfig.json && node scripts\/build-addon.mjs"/);
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/build-addon.mjs'), '--strict'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/addon: built .*native\/build\/wayfinder_shm\.node/);
    expect(existsSync(INSTALLED)).toBe(true);
    expect(installedShmAddon()).toBe(INSTALLED);
    expect(typeof shmAddon().map).toBe('function');
    expect(shmAddonOrigin()).toEqual({ from: 'install', path: INSTALLED });
  }, 180_000);

  it('does not take an install-time build of another source', () => {
    const t = tempDir('wf-addon-');
    try {
      const copy = join(t.dir, 'wayfinder_shm.node');
      copyFileSync(INSTALLED, copy);
      writeFileSync(`${copy}.sha256`, '0'.repeat(64));
      expect(installedShmAddon(copy)).toBeUndefined();
      copyFileSync(`${INSTALLED}.sha256`, `${copy}.sha256`);
      expect(installedShmAddon(copy)).toBe(copy);
    } finally {
      t.cleanup();
    }
  });
});
