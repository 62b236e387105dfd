import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { checkKnobs, CONFIG_READER, otherValue, type Catalogue, type Knob, type Located } from '../../scripts/check-demikernel-knobs.js';
import { ROOT, tempDir } from '../helpers.js';

const catalogue = parse(readFileSync(join(ROOT, 'experiments', 'demikernel', 'knobs.yaml'), 'utf8')) as Catalogue;

/** The source of a pattern's first capturing group, e.g. `\d+` for 'SIZE: usize = (\d+);'. */
function groupSource(pattern: string): string {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(' && pattern[i + 1] !== '?') {
      let depth = 0;
      for (let j = i; j < pattern.length; j++) {
        const d = pattern[j];
        if (d === '\\') j++;
        else if (inClass) inClass = d !== ']';
        else if (d === '[') inClass = true;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) return pattern.slice(i + 1, j);
      }
    }
  }
  throw new Error(`no capturing group in ${pattern}`);
}

function capturingGroups(pattern: string): number {
  return (new RegExp(`${pattern}|`).exec('') as RegExpExecArray).length - 1;
}

/** The group must take every value the catalogue may write, the default first. */
function expectGroupTakes(name: string, at: Located, knob: Knob): void {
  expect(capturingGroups(at.pattern), `${name}: one capture group in ${at.pattern}`).toBe(1);
  const group = new RegExp(`^(?:${groupSource(at.pattern)})$`);
  const values = [knob.default, ...(knob.values ?? []), ...(knob.range ?? [])].filter((v) => v !== undefined);
  for (const v of values) expect(group.test(String(v)), `${name}: ${String(v)} is taken by (${groupSource(at.pattern)})`).toBe(true);
}

describe('Demikernel knob catalogue', () => {
  it('names the release it was checked against, and every entry is verified against it', () => {
    expect(catalogue.checked_against?.release).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(catalogue.checked_against?.commit).toMatch(/^[0-9a-f]{40}$/);
    const names = catalogue.knobs.map((k) => k.name);
    expect(new Set(names).size, 'unique names').toBe(names.length);
    for (const k of catalogue.knobs) {
      expect(k.verified, `${k.name} verified`).toBe(true);
      expect(['config', 'env', 'patch'], k.name).toContain(k.how);
      if (k.range && typeof k.default === 'number') expect(k.default >= k.range[0] && k.default <= k.range[1], k.name).toBe(true);
      if (k.values && k.default !== undefined) expect(k.values, k.name).toContain(k.default);
    }
  });

  it('patch entries have a file and a pattern whose one group takes the default and every value to try', () => {
    const patches = catalogue.knobs.filter((k) => k.how === 'patch');
    expect(patches.length).toBeGreaterThan(10);
    for (const k of patches) {
      expect(k.file, k.name).toMatch(/^src\/rust\/.+\.rs$/);
      expect(k.default, `${k.name} default`).toBeDefined();
      expectGroupTakes(k.name, { file: k.file as string, pattern: k.pattern as string }, k);
      expect(otherValue(k), `${k.name} has a non-default value to try`).not.toBe(String(k.default));
    }
  });

  it('config entries are section.key of the runtime YAML; a default is located in the source', () => {
    for (const k of catalogue.knobs.filter((x) => x.how !== 'patch')) {
      if (k.how === 'config') expect(k.path, k.name).toMatch(/^\w+\.\w+$/);
      if (k.how === 'env') expect(k.name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      if (k.default !== undefined) {
        expect(k.default_at, `${k.name}: where the source sets its default`).toBeDefined();
        expectGroupTakes(k.name, k.default_at as Located, k);
      }
    }
  });

  it('the build script, missing its tree, names the commit the catalogue was checked against', () => {
    const r = spawnSync(join(ROOT, 'scripts', 'build', 'demikernel.sh'), { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`checkout ${catalogue.checked_against?.commit}, ${catalogue.checked_against?.release}`);
  });

  it("the experiment's patches are the catalogue's, with its defaults and values the patterns take", () => {
    const exp = parse(readFileSync(join(ROOT, 'experiments', 'demikernel-tcp-echo.yaml'), 'utf8')) as {
      params: { name: string; default?: unknown; only?: unknown[]; patch?: { file: string; pattern: string } }[];
    };
    const byName = new Map(catalogue.knobs.map((k) => [k.name, k]));
    const patched = exp.params.filter((p) => p.patch);
    expect(patched.length).toBeGreaterThan(3);
    for (const p of patched) {
      const k = byName.get(p.name);
      expect(k, `${p.name} is in the catalogue`).toBeDefined();
      expect(p.patch, p.name).toEqual({ file: k?.file, pattern: k?.pattern });
      expect(p.default, p.name).toEqual(k?.default);
      expectGroupTakes(p.name, p.patch as Located, { ...(k as Knob), values: p.only as Knob['values'] });
    }
  });
});

// Declarations as Demikernel v1.5.12 writes them, one line each, for a stand-in tree: the checker is
// run on it (and on broken copies of it) to show what it finds. The real tree is checked by hand.
const DECLARATIONS: Record<string, string> = {
  RECEIVE_BATCH_SIZE: 'pub const RECEIVE_BATCH_SIZE: usize = 4;',
  DUP_ACK_THRESHOLD: '    const DUP_ACK_THRESHOLD: u32 = 3;',
  CONGESTION_CONTROL_CONNECT: '            congestion_control::None::new,',
  CONGESTION_CONTROL_ACCEPT: '            congestion_control::None::new,',
  RTO_LOWER_BOUND_SEC: '        const LOWER_BOUND_SEC: f64 = 0.100f64;',
  RTO_UPPER_BOUND_SEC: '        const UPPER_BOUND_SEC: f64 = 60.0f64;',
  TCP_ACK_DELAY_TIMEOUT_MS: 'pub const TCP_ACK_DELAY_TIMEOUT: Duration = Duration::from_millis(500);',
  RECEIVE_WINDOW: '            receive_window_size: 0xffff,',
  WINDOW_SCALE: '            window_scale: 0,',
  OUT_OF_ORDER_LIMIT: 'const MAX_OUT_OF_ORDER: usize = 16;',
  UNSENT_QUEUE_CUTOFF: 'const UNSENT_QUEUE_CUTOFF: usize = 1024;',
  TIMER_RESOLUTION: 'const TIMER_RESOLUTION: usize = 64;',
  DPDK_RX_RING_SIZE: '        let rx_ring_size: u16 = 2048;',
  DPDK_TX_RING_SIZE: '        let tx_ring_size: u16 = 2048;',
  DPDK_HEADER_POOL_SIZE: 'pub const DEFAULT_HEADER_POOL_SIZE: usize = 8192 - 1;',
  DPDK_BODY_POOL_SIZE: 'pub const DEFAULT_BODY_POOL_SIZE: usize = 8192 - 1;',
  LIBOS: 'export LIBOS ?= catnap',
  tcp_nodelay: 'const DEFAULT_NO_DELAY: bool = true;',
  mss: 'pub const DEFAULT_MSS: usize = 1450;',
  tcp_checksum_offload: '            tx_checksum_offload: false,',
};

function append(tree: string, file: string, line: string): void {
  const path = join(tree, file);
  mkdirSync(dirname(path), { recursive: true });
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // a new file
  }
  writeFileSync(path, `${text}// context\n${line}\n`);
}

/** A tree with each entry's declaration, a config reader with its sections, and the env reads. */
function standIn(tree: string): void {
  const sections = new Map<string, string[]>();
  for (const k of catalogue.knobs) {
    const at = k.how === 'patch' ? { file: k.file as string } : k.default_at;
    if (at) {
      const line = DECLARATIONS[k.name];
      if (line === undefined) throw new Error(`the stand-in tree has no declaration for ${k.name}: add Demikernel's line to DECLARATIONS`);
      append(tree, at.file, line);
    }
    if (k.how === 'config') {
      const [section, key] = (k.path as string).split('.') as [string, string];
      sections.set(section, [...(sections.get(section) ?? []), key]);
    }
    if (k.how === 'env') append(tree, 'src/rust/demikernel/libos/env.rs', `let v = env::var("${k.name}");`);
  }
  let reader = '';
  let uses = '';
  for (const [section, keys] of sections) {
    reader += `mod ${section}_config {\n    pub const SECTION_NAME: &str = "${section}";\n`;
    keys.forEach((key, i) => {
      reader += `    pub const KEY_${i}: &str = "${key}";\n`;
      uses += `    fn get_${key}() { get(${section}_config::KEY_${i}) }\n`;
    });
    reader += '}\n';
  }
  append(tree, CONFIG_READER, `${reader}impl Config {\n${uses}}`);
}

describe('scripts/check-demikernel-knobs.ts on a stand-in tree', () => {
  let cleanup: () => void = () => {};
  afterEach(() => cleanup());

  function tree(): string {
    const t = tempDir('wf-demikernel-tree-');
    cleanup = t.cleanup;
    standIn(t.dir);
    return t.dir;
  }

  it('finds every entry, patches a copy with the real patch kind, and leaves the tree as it was', () => {
    const dir = tree();
    const before = readFileSync(join(dir, 'src/rust/runtime/network/consts.rs'), 'utf8');
    const results = checkKnobs(dir, catalogue);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(results.map((r) => r.name)).toEqual(catalogue.knobs.map((k) => k.name));
    const batch = results.find((r) => r.name === 'RECEIVE_BATCH_SIZE');
    expect(batch?.detail).toMatch(/^src\/rust\/runtime\/network\/consts\.rs:\d+ 4 -> 64: pub const RECEIVE_BATCH_SIZE: usize = 64;$/);
    expect(results.find((r) => r.name === 'CONGESTION_CONTROL_ACCEPT')?.detail).toMatch(/None -> Cubic: congestion_control::Cubic::new,$/);
    expect(results.find((r) => r.name === 'mss')?.detail).toMatch(/reads inetstack_config\.mss; default 1450 at src\/rust\/runtime\/network\/consts\.rs:\d+$/);
    expect(readFileSync(join(dir, 'src/rust/runtime/network/consts.rs'), 'utf8')).toBe(before);
  });

  it('reports a moved file, a pattern matching twice, another default, a renamed key and an unread variable', () => {
    const dir = tree();
    rmSync(join(dir, 'src/rust/runtime/mod.rs'));
    append(dir, 'src/rust/inetstack/protocols/tcp/established/sender.rs', DECLARATIONS.UNSENT_QUEUE_CUTOFF as string);
    const rto = join(dir, 'src/rust/inetstack/protocols/tcp/established/rto.rs');
    writeFileSync(rto, readFileSync(rto, 'utf8').replace('0.100f64', '0.200f64'));
    const reader = join(dir, CONFIG_READER);
    writeFileSync(reader, readFileSync(reader, 'utf8').replace('"interface_name"', '"linux_interface_name"'));
    const env = join(dir, 'src/rust/demikernel/libos/env.rs');
    writeFileSync(env, readFileSync(env, 'utf8').replace('"CONFIG_PATH"', '"CONFIG"'));
    const failed = Object.fromEntries(checkKnobs(dir, catalogue).filter((r) => !r.ok).map((r) => [r.name, r.detail]));
    expect(failed).toEqual({
      TIMER_RESOLUTION: 'file src/rust/runtime/mod.rs does not exist',
      UNSENT_QUEUE_CUTOFF: 'pattern "const UNSENT_QUEUE_CUTOFF: usize = (\\\\d+);" matches 2 times in src/rust/inetstack/protocols/tcp/established/sender.rs; it must match exactly once',
      RTO_LOWER_BOUND_SEC: "the source's value is 0.200 (src/rust/inetstack/protocols/tcp/established/rto.rs:2), the catalogue's default is 0.100",
      interface_name: expect.stringMatching(/^section "raw_socket" of src\/rust\/demikernel\/config\.rs has no key "interface_name" \(it has linux_interface_name\)$/),
      CONFIG_PATH: 'no env::var("CONFIG_PATH") in src/rust',
    });
  });

  it('run by hand: one line per entry and exit 0 on the stand-in, exit 2 naming what is missing without a tree', () => {
    const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
    const script = join(ROOT, 'scripts', 'check-demikernel-knobs.ts');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const none = spawnSync(tsx, [script], { encoding: 'utf8', env });
    expect(none.status, none.stderr).toBe(2);
    expect(none.stderr).toMatch(/name a Demikernel tree .* or set WAYFINDER_DEMIKERNEL_TREE/);
    expect(none.stderr).not.toMatch(/\n\s+at /);
    const notTree = spawnSync(tsx, [script, ROOT], { encoding: 'utf8', env });
    expect(notTree.status).toBe(2);
    expect(notTree.stderr).toMatch(/has no src\/rust: name the top of a Demikernel checkout/);
    const dir = tree();
    const ok = spawnSync(tsx, [script], { encoding: 'utf8', env: { ...env, WAYFINDER_DEMIKERNEL_TREE: dir } });
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const n = catalogue.knobs.length;
    expect(ok.stdout.split('\n').filter((l) => l.startsWith('OK   '))).toHaveLength(n);
    expect(ok.stdout).toContain(`${n} of ${n} OK in ${dir} (the catalogue says it was checked against ${catalogue.checked_against?.release} ${catalogue.checked_against?.commit})`);
  });
});
