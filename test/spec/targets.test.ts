// The keys of targets (vm on tests, kconfig and source on builds, patch on parameters): normalised
// with their defaults, and refused at the line and column of the offending node.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/spec/index.js';
import { InputError } from '../../src/types.js';

const FILE = join(import.meta.dirname, '..', 'fixtures', 'spec', 'inline.yaml');

function errorOf(text: string): InputError {
  try {
    parseExperiment(text, FILE);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

const vmFile = (vm: string, extra = '') => `name: t
params:
  - name: A
    type: integer
    only: [1, 2]
${extra}test:
  name: boot
  vm:
${vm}
objective:
  minimize: vm.boot_ms
`;

describe('vm on a test', () => {
  it('needs no command or metrics entry, fills in defaults, forwards the probed port', () => {
    const e = parseExperiment(vmFile('    kernel: k.elf\n    probe: 8080'), FILE);
    expect(e.objective).toEqual({ metric: 'vm.boot_ms', direction: 'minimize' });
    expect(e.tests[0]?.vm).toEqual({
      kernel: 'k.elf', memory: '64M', cores: 1, accel: 'auto', net: 'user', forward: [8080], marker: '.',
      probe: { kind: 'http', port: 8080, path: '/' }, bootTimeoutSec: 60,
    });
    expect(parseExperiment(vmFile('    kernel: k\n    memory: 48\n    footprint: true'), FILE).tests[0]?.vm).toMatchObject({ memory: '48M', footprint: { min: 8, max: 1024 } });
    expect(parseExperiment(vmFile('    kernel: k\n    net: tap\n    probe: 80'), FILE).tests[0]?.vm).toMatchObject({
      net: 'tap', forward: [], tap: { host: '10.0.3.1/24', guest: '10.0.3.2' }, probe: { port: 80 },
    });
  });

  it('refuses what cannot work, where it is written', () => {
    const cases: Array<[string, number, number, RegExp]> = [
      ['    kernel: k\n    memory: lots', 10, 13, /bad size 'lots' for 'memory'/],
      ['    kernel: k\n    marker: "("', 10, 13, /marker "\(" is not a valid regular expression/],
      ['    kernel: k\n    net: none\n    probe: 80', 11, 12, /'probe' needs networking/],
      ['    kernel: k\n    footprint: { min: 64, max: 8 }', 10, 16, /footprint min \(64\) is greater than its max \(8\)/],
      ['    kernel: k\n    accel: xen', 10, 12, /accel/],
      ['    kernel: k\n    net: tap\n    forward: [80]', 11, 14, /'forward' needs 'net: user'/],
      ['    kernel: k\n    net: tap\n    tap: { host: 10.0.3.1 }', 11, 18, /tap host address must be an IPv4 CIDR/],
      ['    kernel: k\n    tap: { guest: 10.0.3.2 }', 10, 10, /'tap' applies only with 'net: tap'/],
    ];
    for (const [vm, line, col, message] of cases) {
      const e = errorOf(vmFile(vm));
      expect(e.message).toMatch(message);
      expect([e.loc?.line, e.loc?.col], e.message).toEqual([line, col]);
    }
  });

  it('keeps vm.* objectives for experiments with a VM only', () => {
    const e = errorOf(`name: t\nparams:\n  - name: A\n    type: integer\n    only: [1]\ntest:\n  run: 'true'\nobjective:\n  minimize: vm.boot_ms\n`);
    expect(e.message).toMatch(/objective metric 'vm.boot_ms' is produced by no metrics entry/);
  });
});

describe('patch parameters and build sources', () => {
  const patchFile = (patch: string, when = '') => `name: t
params:
  - name: N
    type: integer
    only: [1, 2]
${when}    patch: ${patch}
build:
  source: \${TREE}
  kconfig: { resolve: kconfig-conf --olddefconfig Kconfig }
  run: make
test:
  vm: { kernel: k }
objective:
  minimize: vm.boot_ms
`;

  it('carries the patch, the source and the kconfig resolver', () => {
    const e = parseExperiment(patchFile("{ file: a.rs, pattern: 'N: u32 = (\\d+);' }"), FILE);
    expect(e.params[0]?.patch).toEqual({ file: 'a.rs', pattern: 'N: u32 = (\\d+);' });
    expect(e.build?.source).toBe('${TREE}');
    expect(e.build?.kconfig).toEqual({ config: '.config', resolve: 'kconfig-conf --olddefconfig Kconfig' });
  });

  it('refuses a pattern without a group, a bad pattern, and a test-time patch', () => {
    expect(errorOf(patchFile("{ file: a.rs, pattern: 'N: u32 = 1' }")).message).toMatch(/needs a capture group around the value/);
    const bad = errorOf(patchFile("{ file: a.rs, pattern: '(' }"));
    expect(bad.message).toMatch(/patch pattern "\(" is not a valid regular expression/);
    expect(bad.loc?.line).toBe(6);
    const test = errorOf(patchFile("{ file: a.rs, pattern: '(\\d+)' }", '    when: test\n'));
    expect(test.message).toMatch(/'N' patches the source, so it is a build parameter/);
    expect(test.loc?.line).toBe(6);
  });
});
