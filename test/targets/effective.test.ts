// Effective configurations with a real Kconfig tool (kconfig-frontends' kconfig-conf): a tree made
// here where TCP depends on NET, WND_SCALE is forced on by a select, and one requested symbol
// (SND_BUF_FACTOR) and one base symbol (OLD_AUTOMOUNT) do not exist. 16 requested configurations
// resolve to 3 effective ones: NET and TCP on, NET on and TCP off, NET off (TCP dropped).
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Space } from '../../src/generator/index.js';
import { loadExperiment } from '../../src/spec/index.js';
import { createStrategy } from '../../src/strategies/index.js';
import { countEffective } from '../../src/study/effective-plan.js';
import { effectiveIdentity, resolveEffective } from '../../src/targets/effective.js';
import { requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const KCONFIG = `mainmenu "tiny"
config NET
\tbool "networking"
\tdefault y
config TCP
\tbool "tcp"
\tdepends on NET
\tdefault y
config WND_SCALE
\tbool "tcp window scaling"
config APP
\tbool "the application"
\tdefault y
\tselect WND_SCALE
`;

interface Options {
  sources?: boolean;
  resolve?: string;
  parallel?: number;
  budget?: number;
  strategy?: string;
  iterations?: number;
  /** A test parameter T in 1, 2 besides the Kconfig symbols (it adds T to the score). */
  testParam?: boolean;
}

/** The tree, its base defconfig and an experiment over it; builds and test runs leave a line each in builds.log and runs.log. */
function setUp(o: Options = {}): { dir: string; file: string; workdir: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  mkdirSync(join(dir, 'tree'));
  writeFile(dir, 'tree/Kconfig', KCONFIG);
  writeFile(dir, 'base.defconfig', 'CONFIG_APP=y\nCONFIG_OLD_AUTOMOUNT=y\n');
  const file = writeFile(
    dir,
    'k.yaml',
    `name: kconfig-effective
params:
  - name: CONFIG_NET
    type: boolean
    only: [true, false]
  - name: CONFIG_TCP
    type: boolean
    only: [true, false]
  - name: CONFIG_WND_SCALE
    type: boolean
    only: [false, true]
  - name: CONFIG_SND_BUF_FACTOR
    type: integer
    only: [4, 8]
${o.testParam ? '  - { name: T, type: integer, only: [1, 2], when: test }\n' : ''}build:
  env: { TREE: ${dir}/tree }
  kconfig:
    base: base.defconfig
    resolve: ${o.resolve ?? 'kconfig-conf --olddefconfig "$TREE/Kconfig"'}
${o.sources === false ? '' : '    sources: [tree]\n'}  run: echo "$WAYFINDER_BUILD_ID" >> ${dir}/builds.log
test:
  name: t
  iterations: ${o.iterations ?? 2}
  # What the build really has: its resolved .config, not the environment.
  run: |
    echo "$WAYFINDER_BUILD_ID" >> ${dir}/runs.log
    unset CONFIG_NET CONFIG_TCP
    . "$WAYFINDER_BUILD_DIR/.config"
    s=\${T:-0}; s=$((s + 1)); [ "\${CONFIG_NET:-n}" = y ] && s=$((s + 5)); [ "\${CONFIG_TCP:-n}" = y ] && s=$((s + 10))
    echo "score=$s"
metrics:
  - name: score
    parser: regex
    pattern: 'score=(\\d+)'
objective:
  maximize: score
exploration:
  strategy: ${o.strategy ?? 'grid'}
  seed: 5
  parallel: ${o.parallel ?? 1}
${o.budget !== undefined ? `  budget: ${o.budget}\n` : ''}`,
  );
  return { dir, file, workdir: join(dir, '.wayfinder') };
}

const lines = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').filter(Boolean) : []);

type Row = Record<string, unknown> & { status: string; config_id: string; duplicate_of?: string; requested?: Record<string, unknown>; kconfig?: { unknown: string[]; base_unknown: string[]; overridden: { symbol: string }[]; checked: boolean } };

async function results(workdir: string): Promise<Row[]> {
  const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
  expect(res.status, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { configurations: Row[] }).configurations;
}

describe('effective configurations', () => {
  it('a strategy told that an asked configuration is a duplicate gives its place in the budget back, and keeps it seen', () => {
    const exp = loadExperiment(setUp().file);
    const space = new Space(exp.params);
    const s = createStrategy('grid', space, { seed: 1, direction: 'maximize', budget: 2 });
    const [a, b] = s.ask(2) as [Record<string, unknown>, Record<string, unknown>];
    expect(s.ask(1)).toEqual([]);
    s.tell([{ config: a as never, configId: 'a', status: 'ok', value: 1 }]);
    s.tell([{ config: b as never, configId: 'b', status: 'ok', value: 1, duplicateOf: 'a' }]);
    // One place back: one more, never b again; told twice, still one place.
    s.tell([{ config: b as never, configId: 'b', status: 'ok', value: 1, duplicateOf: 'a' }]);
    const resumed = createStrategy('grid', space, { seed: 1, direction: 'maximize', budget: 2, state: s.state() });
    const [c] = resumed.ask(2);
    expect(c).toBeDefined();
    expect([a, b]).not.toContainEqual(c);
    expect(resumed.ask(1)).toEqual([]);
    // A duplicate told to a fresh strategy (a changed strategy learning what was measured) is not counted at all.
    const fresh = createStrategy('random', space, { seed: 1, direction: 'maximize', budget: 1 });
    fresh.tell([{ config: b as never, configId: 'b', status: 'ok', value: 1, duplicateOf: 'a' }]);
    expect(fresh.ask(1)).toHaveLength(1);
  });

  it('tells a symbol the tree does not declare from one its dependencies or a select changed, and a base symbol that does not exist', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    const { dir, file } = setUp();
    const exp = loadExperiment(file);
    const config = { CONFIG_NET: false, CONFIG_TCP: true, CONFIG_WND_SCALE: false, CONFIG_SND_BUF_FACTOR: 8 };
    const r = await resolveEffective(exp, config, join(dir, 'resolve-a'));
    if ('error' in r) throw new Error(r.error);
    expect(r.outcome.checked).toBe(true);
    expect(r.outcome.unknown).toEqual(['CONFIG_SND_BUF_FACTOR']);
    expect(r.outcome.baseUnknown).toEqual(['CONFIG_OLD_AUTOMOUNT']);
    // TCP: its dependency (NET) is off; WND_SCALE: APP selects it.
    expect(r.outcome.overridden).toEqual([
      { symbol: 'CONFIG_TCP', requested: 'y', effective: 'n' },
      { symbol: 'CONFIG_WND_SCALE', requested: 'n', effective: 'y' },
    ]);
    // Another request that the tool resolves alike has the same identity; one that differs does not.
    const same = await resolveEffective(exp, { ...config, CONFIG_TCP: false, CONFIG_WND_SCALE: true, CONFIG_SND_BUF_FACTOR: 4 }, join(dir, 'resolve-b'));
    const other = await resolveEffective(exp, { ...config, CONFIG_NET: true }, join(dir, 'resolve-c'));
    if ('error' in same || 'error' in other) throw new Error('resolver failed');
    expect(effectiveIdentity(exp, { ...config, CONFIG_TCP: false }, same).effectiveId).toBe(effectiveIdentity(exp, config, r).effectiveId);
    expect(effectiveIdentity(exp, config, other).effectiveId).not.toBe(effectiveIdentity(exp, config, r).effectiveId);

    // Without the tree's Kconfig folders a dropped symbol cannot be told apart: it is reported as changed, and says so.
    const { file: unchecked, dir: dir2 } = setUp({ sources: false });
    const u = await resolveEffective(loadExperiment(unchecked), config, join(dir2, 'resolve'));
    if ('error' in u) throw new Error(u.error);
    expect(u.outcome.checked).toBe(false);
    expect(u.outcome.unknown).toEqual([]);
    expect(u.outcome.overridden.map((o) => o.symbol)).toEqual(['CONFIG_TCP', 'CONFIG_WND_SCALE', 'CONFIG_SND_BUF_FACTOR']);
  });

  it('counts the effective configurations of a space with the tree\'s tool, and says when it cannot', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    const { dir, file } = setUp();
    const count = await countEffective(loadExperiment(file), join(dir, 'plan'));
    expect(count).toMatchObject({ known: true, effective: 3, requested: 16, resolutions: 16, unknown: ['CONFIG_SND_BUF_FACTOR'], baseUnknown: ['CONFIG_OLD_AUTOMOUNT'] });
    expect(await countEffective(loadExperiment(file), join(dir, 'plan2'), { limit: 8 })).toMatchObject({ known: false });

    const plan = await wayfinder(['plan', file, '--json', '--show', '20']);
    expect(plan.status, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout) as { configurations: string; order: unknown[]; builds: { listed: number }; effective: Record<string, unknown> };
    expect(p.effective).toMatchObject({ configurations: 3, requested: 16, duplicates: 13 });
    // run measures the effective ones: three, built three times.
    expect(p.configurations).toBe('3');
    expect(p.order).toHaveLength(3);
    expect(p.builds.listed).toBe(3);
    const text = await wayfinder(['plan', file]);
    expect(text.stdout).toMatch(/effective configurations \(after Kconfig resolution\): 3 of 16/);
    const limited = await wayfinder(['plan', file, '--resolve-limit', '4']);
    expect(limited.stdout).toMatch(/effective configurations \(after Kconfig resolution\): unknown until built: more than 4 distinct Kconfig requests/);
  });

  it('runs each effective configuration once: the others are duplicates, not built or measured, and cost no budget', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    const { dir, file, workdir } = setUp({ iterations: 2 });
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { done: number; failed: number; duplicates: number; best: { effective: Record<string, unknown> } };
    expect(out).toMatchObject({ done: 3, failed: 0, duplicates: 13 });
    expect(out.best.effective).toEqual({ CONFIG_NET: true, CONFIG_TCP: true, CONFIG_WND_SCALE: true, CONFIG_SND_BUF_FACTOR: null });
    // Said as it happens (on the terminal without --json; in the log always).
    const log = readFileSync(join(workdir, 'logs', 'wayfinder.log'), 'utf8');
    expect(log).toMatch(/CONFIG_SND_BUF_FACTOR is requested but the tree declares no such symbol/);
    expect(log).toMatch(/the base configuration sets symbols the tree does not declare \(dropped\): CONFIG_OLD_AUTOMOUNT/);
    expect(log).toMatch(/resolves to the effective configuration of [0-9a-f]{8}: a duplicate/);
    // Three builds, three configurations measured twice each: nothing more.
    expect(lines(join(dir, 'builds.log'))).toHaveLength(3);
    expect(lines(join(dir, 'runs.log'))).toHaveLength(6);
    expect(new Set(lines(join(dir, 'builds.log'))).size).toBe(3);

    const rows = await results(workdir);
    expect(rows).toHaveLength(16);
    const measured = rows.filter((x) => x.status === 'done');
    const dups = rows.filter((x) => x.status === 'duplicate');
    expect(measured).toHaveLength(3);
    expect(dups).toHaveLength(13);
    // Effective values: what the builds had.
    expect(measured.map((x) => `${String(x.CONFIG_NET)}/${String(x.CONFIG_TCP)}/${String(x.score)}`).sort()).toEqual(['false/false/1', 'true/false/6', 'true/true/16']);
    for (const x of rows) {
      expect(x.CONFIG_WND_SCALE).toBe(true);
      expect(x.CONFIG_SND_BUF_FACTOR).toBeNull();
      expect(x.kconfig?.unknown).toEqual(['CONFIG_SND_BUF_FACTOR']);
      expect(x.kconfig?.base_unknown).toEqual(['CONFIG_OLD_AUTOMOUNT']);
      expect(x.requested?.CONFIG_SND_BUF_FACTOR).toBeTypeOf('number');
    }
    for (const d of dups) {
      const of = measured.find((m) => m.config_id === d.duplicate_of);
      expect(of, `duplicate ${d.config_id} names a measured configuration`).toBeDefined();
      expect([d.CONFIG_NET, d.CONFIG_TCP, d.objective]).toEqual([of?.CONFIG_NET, of?.CONFIG_TCP, null]);
    }
    // Only the measured configurations have runs and builds.
    const exp = readdirSync(join(workdir, 'experiments'))[0] as string;
    expect(readdirSync(join(workdir, 'experiments', exp, 'builds'))).toHaveLength(3);
    expect(readdirSync(join(workdir, 'experiments', exp, 'configs')).sort()).toEqual(measured.map((m) => m.config_id).sort());

    const table = await wayfinder(['results', '--workdir', workdir]);
    expect(table.stdout).toMatch(/= [0-9a-f]{8}/);
    expect(table.stdout).toMatch(/unset \(asked/);
    expect(table.stdout).toMatch(/a duplicate, resolved to the effective configuration of C/);

    // The report: duplicates counted and named, effective values with what was asked.
    const out2 = join(dir, 'report');
    const rep = await wayfinder(['report', '--workdir', workdir, '--out', out2, '--no-png', '--json'], { timeoutMs: 120_000 });
    expect(rep.status, rep.stderr).toBe(0);
    const data = JSON.parse(rep.stdout) as { counts: { duplicates: number; done: number }; best: { params: Record<string, unknown>; differing: Record<string, unknown> }[] };
    expect(data.counts).toMatchObject({ done: 3, duplicates: 13 });
    expect(data.best[0]?.params).toMatchObject({ CONFIG_NET: true, CONFIG_TCP: true, CONFIG_WND_SCALE: true, CONFIG_SND_BUF_FACTOR: null });
    const html = readFileSync(join(out2, 'report.html'), 'utf8');
    expect(html).toMatch(/duplicate of [0-9a-f]{10}/);
    expect(html).toMatch(/unset \(asked [48]\)/);
    expect(html).toMatch(/<b>13<\/b>duplicates/);
  });

  it('a budget counts distinct measured configurations: duplicates asked on the way do not use it up', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    // The grid walks the four NET=y TCP=y requests (one effective configuration, the default's)
    // before any other: counted against the budget, they would leave room for one more.
    // Two in parallel: duplicates of a configuration still being measured are told when it finishes.
    const { dir, file, workdir } = setUp({ strategy: 'grid', budget: 3, iterations: 1, parallel: 2 });
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { done: number; duplicates: number };
    // All three effective configurations measured, with the duplicates asked on the way.
    expect(out.done).toBe(3);
    expect(out.duplicates).toBeGreaterThanOrEqual(4);
    expect(lines(join(dir, 'runs.log'))).toHaveLength(3);
    const rows = await results(workdir);
    expect(new Set(rows.filter((x) => x.status === 'done').map((x) => `${String(x.CONFIG_NET)}/${String(x.CONFIG_TCP)}`))).toEqual(new Set(['true/true', 'true/false', 'false/false']));

    // Run again (resumed): nothing more is built, measured or asked.
    const again = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ done: 3, duplicates: out.duplicates });
    expect(lines(join(dir, 'runs.log'))).toHaveLength(3);
  });

  it('a resolver that cannot run on the coordinating host: each build resolves its own, and one that resolves like a measured configuration is built but not measured; said once', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    // Only a build has WAYFINDER_BUILD_ID: this resolver fails before the build is queued, as one
    // whose tree is on the workers' hosts only would, and works in the build.
    const { dir, file, workdir } = setUp({ strategy: 'grid', budget: 2, iterations: 1, resolve: `'test -n "$WAYFINDER_BUILD_ID" && kconfig-conf --olddefconfig "$TREE/Kconfig"'` });
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    // The grid's first four requests (NET=y TCP=y) resolve like the default: known only once each
    // is built, so they are built, then recorded as its duplicates and not measured; the budget of
    // two distinct measured configurations takes the fifth.
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 2, failed: 0, duplicates: 3 });
    expect(lines(join(dir, 'builds.log'))).toHaveLength(5);
    expect(lines(join(dir, 'runs.log'))).toHaveLength(2);
    const log = readFileSync(join(workdir, 'logs', 'wayfinder.log'), 'utf8');
    expect(log.match(/cannot resolve Kconfig here before building/g)).toHaveLength(1);
    const rows = await results(workdir);
    expect(rows).toHaveLength(5);
    for (const x of rows) expect(x.effective_id).toMatch(/^[0-9a-f]{32}$/);
    const measured = rows.filter((x) => x.status === 'done');
    expect(measured.map((x) => `${String(x.CONFIG_NET)}/${String(x.CONFIG_TCP)}`).sort()).toEqual(['true/false', 'true/true']);
    for (const d of rows.filter((x) => x.status === 'duplicate')) {
      expect(measured.find((m) => m.config_id === d.duplicate_of)?.CONFIG_TCP).toBe(true);
      expect(d.kconfig?.unknown).toEqual(['CONFIG_SND_BUF_FACTOR']);
    }
  });

  it('without resolving before building: a configuration whose build another already made takes its identity from the stored build', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    // T is a test parameter: T=1 and T=2 of one Kconfig request share a build, and the second
    // finds it made. 16 builds (nothing is known before building), 3 x 2 effective configurations.
    const { dir, file, workdir } = setUp({ strategy: 'grid', iterations: 1, testParam: true, resolve: `'test -n "$WAYFINDER_BUILD_ID" && kconfig-conf --olddefconfig "$TREE/Kconfig"'` });
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 6, failed: 0, duplicates: 26 });
    expect(lines(join(dir, 'builds.log'))).toHaveLength(16);
    expect(lines(join(dir, 'runs.log'))).toHaveLength(6);
    const rows = await results(workdir);
    expect(rows).toHaveLength(32);
    for (const x of rows) expect(x.effective_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rows.filter((x) => x.status === 'done').map((x) => Number(x.score)).sort((a, b) => a - b)).toEqual([2, 3, 7, 8, 17, 18]);
  });
});
