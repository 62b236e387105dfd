import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { applyPatchText } from '../../src/targets/patch.js';
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
      const plan = JSON.parse(r.stdout) as { planned: number; builds: number };
      expect(plan.planned).toBe(configs);
      if (builds !== undefined) expect(plan.builds).toBe(builds);
    });
  }

  it('the Unikraft build script says which tree is missing', () => {
    const none = bare('scripts/build/unikraft.sh', ['olddefconfig']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/UK_ROOT is not set: point it at a Unikraft tree/);
    const noApp = bare('scripts/build/unikraft.sh', [], { UK_ROOT: ROOT });
    expect(noApp.status).toBe(2);
    expect(noApp.stderr).toMatch(/UK_APP is not set/);
    const notDir = bare('scripts/build/unikraft.sh', [], { UK_ROOT: ROOT, UK_APP: ROOT, UK_LIBS: join(ROOT, 'nope') });
    expect(notDir.status).toBe(2);
    expect(notDir.stderr).toMatch(/UK_LIBS=.*nope is not a directory/);
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

  it("the Demikernel catalogue lists the issue's constants with their defaults, and its verified patterns match their declarations", () => {
    type Knob = { name: string; how: string; default?: unknown; range?: [number, number]; values?: unknown[]; file?: string; pattern?: string; verified?: boolean };
    const { knobs } = parse(readFileSync(join(ROOT, 'experiments', 'demikernel', 'knobs.yaml'), 'utf8')) as { knobs: Knob[] };
    const byName = new Map(knobs.map((k) => [k.name, k]));
    const expected: Record<string, unknown> = {
      RECEIVE_BATCH_SIZE: 4, DUP_ACK_THRESHOLD: 3, RTO_LOWER_BOUND_SEC: '0.100', RTO_UPPER_BOUND_SEC: '60.0', TCP_ACK_DELAY_TIMEOUT_MS: 500,
      RECEIVE_WINDOW: '0xffff', WINDOW_SCALE: 0, OUT_OF_ORDER_LIMIT: 16, UNSENT_QUEUE_CUTOFF: 1024, TIMER_RESOLUTION: 64, DPDK_RING_SIZE: 2048,
      DPDK_MBUF_POOL: 8191, LIBOS: 'catnap',
    };
    for (const [name, def] of Object.entries(expected)) expect(byName.get(name)?.default, name).toBe(def);
    for (const k of knobs) {
      expect(['config', 'env', 'patch']).toContain(k.how);
      if (k.how === 'patch') expect(k.file && k.pattern, k.name).toBeTruthy();
      if (k.range && typeof k.default === 'number') expect(k.default >= k.range[0] && k.default <= k.range[1], k.name).toBe(true);
      if (k.values && k.default !== undefined) expect(k.values, k.name).toContain(k.default);
    }
    // Declarations as Demikernel writes them: each verified pattern sets exactly its default.
    const declarations: Record<string, string> = {
      RECEIVE_BATCH_SIZE: 'pub const RECEIVE_BATCH_SIZE: usize = 4;',
      DUP_ACK_THRESHOLD: '    const DUP_ACK_THRESHOLD: u32 = 3;',
      RTO_LOWER_BOUND_SEC: '        const LOWER_BOUND_SEC: f64 = 0.100f64;',
      RTO_UPPER_BOUND_SEC: '        const UPPER_BOUND_SEC: f64 = 60.0f64;',
      TCP_ACK_DELAY_TIMEOUT_MS: 'pub const TCP_ACK_DELAY_TIMEOUT: Duration = Duration::from_millis(500);',
      UNSENT_QUEUE_CUTOFF: 'const UNSENT_QUEUE_CUTOFF: usize = 1024;',
    };
    for (const k of knobs.filter((x) => x.verified)) {
      const line = declarations[k.name] as string;
      expect(line, `a declaration for ${k.name}`).toBeDefined();
      const def = String(k.default);
      const at = line.lastIndexOf(def);
      expect(at, k.name).toBeGreaterThan(0);
      expect(applyPatchText(line, { file: k.file as string, pattern: k.pattern as string }, 'VALUE', k.name)).toBe(`${line.slice(0, at)}VALUE${line.slice(at + def.length)}`);
    }
    // The experiment's patches are the catalogue's.
    const exp = parse(readFileSync(join(ROOT, 'experiments', 'demikernel-tcp-echo.yaml'), 'utf8')) as { params: { name: string; patch?: { file: string; pattern: string } }[] };
    for (const p of exp.params.filter((x) => x.patch)) {
      expect(p.patch, p.name).toEqual({ file: byName.get(p.name)?.file, pattern: byName.get(p.name)?.pattern });
    }
  });
});
