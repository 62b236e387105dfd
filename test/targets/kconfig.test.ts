import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compareResolved, kconfigValue, mergeFragment, parseDotConfig } from '../../src/targets/kconfig.js';
import { requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';
import { sourceRoots } from '../../src/targets/params/kconfig.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

// A Kconfig tree of our own: TCP depends on NET, and its connection count has a range.
const KCONFIG = `mainmenu "tiny"
config NET
\tbool "networking"
\tdefault y
config TCP
\tbool "tcp"
\tdepends on NET
\tdefault y
config TCP_CONNS
\tint "max tcp connections"
\tdepends on TCP
\trange 1 1024
\tdefault 32
config ALLOC
\tstring "allocator"
\tdefault "buddy"
`;

describe('Kconfig fragments', () => {
  it('writes values as .config does and replaces earlier lines of the same symbols', () => {
    expect(kconfigValue(true)).toBe('y');
    expect(kconfigValue(false)).toBe('n');
    expect(kconfigValue(64)).toBe('64');
    expect(kconfigValue('m')).toBe('m');
    expect(kconfigValue('0x1000')).toBe('0x1000');
    expect(kconfigValue('tl"sf')).toBe('"tl\\"sf"');
    const merged = mergeFragment('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=3\n', { CONFIG_A: 'n', CONFIG_B: 'y' });
    expect(parseDotConfig(merged)).toEqual(new Map([['CONFIG_C', '3'], ['CONFIG_A', 'n'], ['CONFIG_B', 'y']]));
    expect(merged.match(/CONFIG_A/g)).toHaveLength(1);
  });

  it('names every symbol the resolver changed, a dropped one as n', () => {
    const out = compareResolved({ CONFIG_NET: 'n', CONFIG_TCP: 'y', CONFIG_TCP_CONNS: '64' }, '# CONFIG_NET is not set\n');
    expect(out.effective).toEqual({ CONFIG_NET: 'n', CONFIG_TCP: 'n', CONFIG_TCP_CONNS: 'n' });
    expect(out.overridden.map((o) => o.symbol)).toEqual(['CONFIG_TCP', 'CONFIG_TCP_CONNS']);
  });

  it('resolves build parameters with kconfig-conf, reports overrides, records the effective .config and reuses builds', async () => {
    requireTool('kconfig-conf', 'kconfig-frontends');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    writeFile(dir, 'Kconfig', KCONFIG);
    const exp = (iterations: number) => `name: kconfig-tiny
params:
  - name: CONFIG_NET
    type: boolean
    only: [false, true]
  - name: CONFIG_TCP_CONNS
    type: integer
    only: [64, 2048]
  - name: ALLOC
    type: string
    kconfig: true
    only: [tlsf]
build:
  env: { TREE: ${dir} }
  kconfig:
    resolve: kconfig-conf --olddefconfig "$TREE/Kconfig"
  # The "image": what the build saw in its resolved .config.
  run: grep -E '^(# )?CONFIG_' .config > image.txt
test:
  name: t
  iterations: ${iterations}
  # Parameters are in the environment too: only the resolved .config counts here.
  run: unset CONFIG_TCP_CONNS; . "$WAYFINDER_BUILD_DIR/.config"; echo "conns=\${CONFIG_TCP_CONNS:-0}"
metrics:
  - name: conns
    parser: regex
    pattern: 'conns=(\\d+)'
objective:
  maximize: conns
`;
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', writeFile(dir, 'k.yaml', exp(1)), '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    // NET off resolves alike whatever the connection count: one of those two is the other's duplicate.
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 3, failed: 0, duplicates: 1 });
    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    type Row = Record<string, number | string | boolean | null> & { requested?: Record<string, number | boolean> };
    const rows = (JSON.parse(res.stdout) as { configurations: Row[] }).configurations;
    // By what was asked; the values shown are the effective ones.
    const byKey = new Map(rows.map((x) => [`${String(x.requested?.CONFIG_NET ?? x.CONFIG_NET)}/${String(x.requested?.CONFIG_TCP_CONNS ?? x.CONFIG_TCP_CONNS)}`, x]));
    // NET off drops TCP and its connection count; 2048 is outside the range, so the default comes back.
    expect(byKey.get('true/64')).toMatchObject({ CONFIG_TCP_CONNS: 64, conns: 64, 'kconfig.overridden': 0 });
    expect(byKey.get('true/2048')).toMatchObject({ CONFIG_TCP_CONNS: 32, conns: 32, 'kconfig.overridden': 1 });
    const off = [byKey.get('false/64'), byKey.get('false/2048')];
    expect(off.map((x) => x?.status).sort()).toEqual(['done', 'duplicate']);
    expect(off.find((x) => x?.status === 'done')).toMatchObject({ CONFIG_NET: false, CONFIG_TCP_CONNS: null, conns: 0, 'kconfig.overridden': 1 });

    const builds = readdirSync(join(workdir, 'experiments')).map((e) => join(workdir, 'experiments', e, 'builds'));
    const buildDirs = builds.flatMap((b) => readdirSync(b).map((x) => join(b, x)));
    expect(buildDirs).toHaveLength(3);
    for (const b of buildDirs) {
      const k = JSON.parse(readFileSync(join(b, 'kconfig.json'), 'utf8')) as { effective: Record<string, string>; overridden: { symbol: string }[] };
      expect(k.effective.CONFIG_ALLOC).toBe('"tlsf"');
      if (k.overridden.length > 0) expect(readFileSync(join(b, 'stderr.log'), 'utf8')).toMatch(/kconfig: CONFIG_TCP_CONNS requested (64|2048), resolved to (n|32)/);
      expect(readFileSync(join(b, 'image.txt'), 'utf8')).toContain('CONFIG_ALLOC="tlsf"');
    }

    // The same builds in a changed experiment (its tests changed: a new id): reused from the cache, not rebuilt.
    const r2 = await wayfinder(['run', '--no-confirm', writeFile(dir, 'k.yaml', exp(2)), '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r2.status, r2.stderr).toBe(0);
    const second = JSON.parse(r2.stdout) as { experiment: string };
    const reused = readdirSync(join(workdir, 'experiments', second.experiment, 'builds')).map((x) =>
      readFileSync(join(workdir, 'experiments', second.experiment, 'builds', x, 'stderr.log'), 'utf8'),
    );
    expect(reused).toHaveLength(3);
    for (const log of reused) expect(log).toMatch(/reused the build of the same inputs/);
    expect(existsSync(join(workdir, 'build-cache'))).toBe(true);
  });
});

describe('kconfig.sources', () => {
  it('leaves out a source whose variable is unset, splits a colon-separated list, and resolves relative paths at the experiment', () => {
    const env = { UK_ROOT: '/uk/unikraft', UK_LIBS: '/uk/libs/lib-musl:/uk/libs/lib-lwip' };
    const roots = sourceRoots({ env, experimentDir: '/exp' }, ['${UK_ROOT}', '${UK_APP}', '${UK_LIBS}', 'local/Kconfig']);
    expect(roots).toEqual(['/uk/unikraft', '/uk/libs/lib-musl', '/uk/libs/lib-lwip', '/exp/local/Kconfig']);
  });
});
