import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, wayfinder } from '../helpers.js';

/** A script run the way a user would run it by hand, with none of the variables it needs. */
function bare(script: string, args: string[] = [], env: Record<string, string> = {}) {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env };
  return spawnSync(join(ROOT, script), args, { env: clean, encoding: 'utf8' });
}

describe('Unikraft and Demikernel experiments', () => {
  for (const [file, configs, builds] of [
    ['unikraft-nginx.yaml', 512, 512],
    ['unikraft-helloworld.yaml', 16, 16],
    ['demikernel-tcp-echo.yaml', 40, undefined],
    ['linux-dupack.yaml', 60, 0],
  ] as const) {
    it(`${file} plans without errors`, async () => {
      const r = await wayfinder(['plan', join(ROOT, 'experiments', file), '--json']);
      expect(r.status, r.stderr).toBe(0);
      const plan = JSON.parse(r.stdout) as { configurations: string; builds: { listed: number; atMost: string } };
      expect(plan.configurations).toBe(String(configs));
      if (builds !== undefined) expect(plan.builds).toEqual({ listed: builds, atMost: String(builds) });
    });
  }

  it('the Unikraft build script says which tree is missing', () => {
    const none = bare('scripts/build/unikraft.sh', ['olddefconfig']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/UK_ROOT is not set: point it at a Unikraft tree/);
    const noApp = bare('scripts/build/unikraft.sh', [], { UK_ROOT: ROOT });
    expect(noApp.status).toBe(2);
    expect(noApp.stderr).toMatch(/UK_APP is not set/);
    const notTree = bare('scripts/build/unikraft.sh', [], { UK_ROOT: ROOT, UK_APP: ROOT, WAYFINDER_BUILD_DIR: ROOT });
    expect(notTree.status).toBe(2);
    expect(notTree.stderr).toMatch(/UK_ROOT=.* is not a Unikraft tree \(no Makefile, Config.uk and support\/build\)/);
  });

  it('the Unikraft wrk script says the VM port is missing', () => {
    const r = bare('scripts/test/unikraft-wrk.sh');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no forwarded guest port 80/);
  });

  it('the Demikernel scripts say the tree is missing', () => {
    const build = bare('scripts/build/demikernel.sh');
    expect(build.status).toBe(2);
    expect(build.stderr).toMatch(/set DEMIKERNEL_ROOT to a Demikernel checkout/);
    const notTree = bare('scripts/build/demikernel.sh', [], { WAYFINDER_SOURCE_DIR: join(ROOT, 'test') });
    expect(notTree.status).toBe(2);
    expect(notTree.stderr).toMatch(/has no Makefile/);
    const test = bare('scripts/test/demikernel-tcp-echo.sh', [], { WAYFINDER_BUILD_DIR: join(ROOT, 'nope'), WAYFINDER_OUTPUT_DIR: ROOT });
    expect(test.status).toBe(2);
    expect(test.stderr).toMatch(/no tcp-echo binary at .*tcp-echo.elf: the build must compile a Demikernel tree \(set DEMIKERNEL_ROOT\)/);
  });
});
