import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyPatchText, PatchError } from '../../src/targets/patch.js';
import { tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

// Stand-ins for the files of a Demikernel tree that declare the constants the catalogue patches.
const CONSTS = `/// Length of a buffer batch.
pub const RECEIVE_BATCH_SIZE: usize = 4;
pub const MAX_WINDOW_SCALE: usize = 14;
`;
const CUBIC = `impl Cubic {
    const BETA_CUBIC: f32 = 0.7;
    const C: f32 = 0.4;
    const DUP_ACK_THRESHOLD: u32 = 3;
}
`;
const DUP_ACK = { file: 'cubic.rs', pattern: String.raw`const DUP_ACK_THRESHOLD: u32 = (\d+);` };

describe('patch parameters', () => {
  it('replaces the one match of the pattern, its first group only', () => {
    expect(applyPatchText(CUBIC, DUP_ACK, '1', 'cubic.rs')).toContain('const DUP_ACK_THRESHOLD: u32 = 1;\n}');
    expect(applyPatchText(CUBIC, DUP_ACK, '1', 'cubic.rs').replace('= 1;', '= 3;')).toBe(CUBIC);
  });

  it('refuses a pattern that matches no time or more than once, saying where', () => {
    expect(() => applyPatchText(CUBIC, { file: 'x', pattern: String.raw`DUP_ACK_THRESHOLD: u64 = (\d+)` }, '1', 'cubic.rs')).toThrow(
      /matches 0 times in cubic.rs; it must match exactly once/,
    );
    expect(() => applyPatchText(CUBIC, { file: 'x', pattern: String.raw`const \w+: f32 = ([\d.]+);` }, '1', 'cubic.rs')).toThrow(
      /matches 2 times in cubic.rs; it must match exactly once \(lines 2, 3\)/,
    );
    expect(() => applyPatchText(CUBIC, { file: 'x', pattern: 'const C' }, '1', 'cubic.rs')).toThrow(PatchError);
  });

  it('builds each configuration from its own patched copy of the tree, leaving the tree alone', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const tree = join(dir, 'demikernel');
    mkdirSync(join(tree, 'src'), { recursive: true });
    writeFile(join(tree, 'src'), 'consts.rs', CONSTS);
    writeFile(join(tree, 'src'), 'cubic.rs', CUBIC);
    const exp = (extra: string) => `name: patch-tiny
params:
  - name: DUP_ACK_THRESHOLD
    type: integer
    only: [1, 3]
    patch: { file: src/cubic.rs, pattern: 'const DUP_ACK_THRESHOLD: u32 = (\\d+);' }
  - name: RECEIVE_BATCH_SIZE
    type: integer
    only: [4, 16]
    patch: { file: src/consts.rs, pattern: 'pub const RECEIVE_BATCH_SIZE: usize = (\\d+);' }
${extra}
build:
  env: { DEMIKERNEL_ROOT: ${tree} }
  source: \${DEMIKERNEL_ROOT}
  run: cat "$WAYFINDER_SOURCE_DIR/src/cubic.rs" "$WAYFINDER_SOURCE_DIR/src/consts.rs" > image.txt
test:
  name: t
  run: cat "$WAYFINDER_BUILD_DIR/image.txt"
metrics:
  - name: dupack
    parser: regex
    pattern: 'DUP_ACK_THRESHOLD: u32 = (\\d+)'
  - name: batch
    parser: regex
    pattern: 'RECEIVE_BATCH_SIZE: usize = (\\d+)'
objective:
  maximize: batch
`;
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', writeFile(dir, 'p.yaml', exp('')), '--workdir', workdir, '--json'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 4, failed: 0 });
    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    const rows = (JSON.parse(res.stdout) as { configurations: Record<string, number>[] }).configurations;
    for (const row of rows) {
      expect(row.dupack).toBe(row.DUP_ACK_THRESHOLD);
      expect(row.batch).toBe(row.RECEIVE_BATCH_SIZE);
    }
    expect(readFileSync(join(tree, 'src', 'cubic.rs'), 'utf8')).toBe(CUBIC);

    // A pattern that matches twice fails the build, naming the parameter, the file and the lines.
    const bad = `  - name: CUBIC_FLOAT
    type: string
    only: ["0.5"]
    patch: { file: src/cubic.rs, pattern: 'const \\w+: f32 = ([\\d.]+);' }`;
    const w2 = join(dir, '.wayfinder2');
    const r2 = await wayfinder(['run', '--no-confirm', writeFile(dir, 'p2.yaml', exp(bad)), '--workdir', w2, '--json'], { timeoutMs: 120_000 });
    expect(JSON.parse(r2.stdout)).toMatchObject({ done: 0, failed: 4 });
    const res2 = await wayfinder(['results', '--workdir', w2, '--format', 'json']);
    expect(res2.stdout).toMatch(/patch parameter CUBIC_FLOAT: patch pattern .* matches 2 times in src\/cubic.rs; it must match exactly once \(lines 2, 3\)/);
  });
});
