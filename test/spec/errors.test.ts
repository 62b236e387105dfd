// Bad experiment files: each is refused with an InputError at the exact line and column of the
// offending node, and a message in our own words (never zod's or yaml's text, never a stack).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExperiment, parseExperiment } from '../../src/spec/index.js';
import { InputError } from '../../src/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'spec');
const FILE = join(FIXTURES, 'inline.yaml');

// A valid native file in three parts, so that each case below swaps one part for a broken one.
const HEAD = 'name: t\nparams:\n  - name: A\n    type: integer\n    only: [1, 2]\n'; // lines 1-5
const TEST = 'test:\n  run: echo 1\n'; // lines 6-7 after HEAD
const TAIL = "metrics:\n  - name: m\n    parser: regex\n    pattern: 'v=(\\d+)'\nobjective:\n  maximize: m\n";

function errorOf(text: string, file = FILE): InputError {
  try {
    parseExperiment(text, file);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

function expectError(text: string, line: number, col: number, message: string): InputError {
  const e = errorOf(text);
  expect({ line: e.loc?.line, col: e.loc?.col, message: e.message }).toEqual({ line, col, message });
  expect(e.loc?.file).toBe(FILE);
  expect(e.format()).not.toMatch(/\n\s+at /); // no stack trace in what the user sees
  return e;
}

describe('the valid base file', () => {
  it('parses, so each case below fails for its own reason only', () => {
    const e = parseExperiment(HEAD + TEST + TAIL, FILE);
    expect(e.params.map((p) => p.name)).toEqual(['A']);
  });
});

describe('shape errors', () => {
  it('unknown key, with a suggestion', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  itrations: 3\n${TAIL}`, 8, 3, "unknown key 'itrations'; did you mean 'iterations'?");
  });

  it('unknown key without a close match lists the known keys', () => {
    const e = expectError(`${HEAD}${TEST}${TAIL}colour: blue\n`, 14, 1, "unknown key 'colour'");
    expect(e.hint).toContain('known keys here: name, description, pool');
  });

  it('unknown top-level key in a paper-era file suggests the paper key', () => {
    const text = 'params:\n  - name: A\n    type: int\n    only: [1]\nruns:\n  - name: run\n    comand: ./x\n';
    expectError(text, 7, 5, "unknown key 'comand'; did you mean 'cmd'?");
  });

  it('wrong type', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  cores: two\n${TAIL}`, 8, 10, "expected an integer for 'cores', got the string 'two'");
  });

  it('a fraction where an integer belongs', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  iterations: 1.5\n${TAIL}`, 8, 15, "expected an integer for 'iterations', got the number 1.5");
  });

  it('missing required key points at the mapping that lacks it', () => {
    expectError(`name: t\nparams:\n  - name: A\n    only: [1, 2]\n${TEST}${TAIL}`, 3, 5, "missing required key 'type'");
  });

  it('missing top-level section', () => {
    expectError(`${HEAD}${TAIL}`, 1, 1, "missing required key 'test'");
  });

  it('a scalar where a job or a list of jobs belongs', () => {
    expectError(`${HEAD}test: 5\n${TAIL}`, 6, 7, "expected a mapping or a list for 'test', got the number 5");
  });

  it('an error inside one job of a list is found through the union', () => {
    expectError(`${HEAD}test:\n  - name: a\n    run: x\n  - name: b\n    run: y\n    warmup: -1\n${TAIL}`, 11, 13, "'warmup' must be at least 0, got the number -1");
  });

  it('unknown isolation level, with a suggestion', () => {
    expectError(
      `${HEAD}test:\n  run: echo 1\n  isolation: cor\n${TAIL}`,
      8,
      14,
      "unknown isolation level 'cor'; expected one of none, core, cache, socket, full; did you mean 'core'?",
    );
  });

  it('device outside the allow-list', () => {
    expectError(
      `${HEAD}test:\n  run: echo 1\n  devices: [/dev/kvm, /dev/sda]\n${TAIL}`,
      8,
      23,
      "unknown device '/dev/sda'; expected one of /dev/kvm, /dev/net/tun, /dev/random, /dev/urandom, /dev/loop-control",
    );
  });

  it('bad experiment name', () => {
    expectError(`name: my exp\n${HEAD.slice(8)}${TEST}${TAIL}`, 1, 7, "'name' must match ^[A-Za-z0-9._-]+$, got the string 'my exp'");
  });

  it('empty only', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: integer\n    only: []\n${TEST}${TAIL}`, 5, 11, "'only' must list at least 1 item");
  });

  it('a daemon-format test without benchtool commands', () => {
    const text =
      'params:\n  - name: A\n    type: int\n    only: [1]\nbuild:\n  commands: make\ntest:\n  - name: t\n    benchtool:\n      image: x\n';
    expectError(text, 10, 7, "missing required key 'commands'");
  });

  it('reports the first problem in reading order and counts the rest', () => {
    const e = expectError(`${HEAD}test:\n  run: echo 1\n  cores: two\n  isolation: x\n${TAIL}`, 8, 10, "expected an integer for 'cores', got the string 'two'");
    expect(e.hint).toBe('(1 more problem after this one)');
  });
});

describe('parameter errors', () => {
  it('duplicate parameter', () => {
    expectError(`${HEAD}  - name: A\n    type: string\n    only: [x]\n${TEST}${TAIL}`, 6, 11, "duplicate parameter name 'A' (first declared at line 3)");
  });

  it('a reserved parameter name', () => {
    expectError(`name: t\nparams:\n  - name: WAYFINDER_CORES\n    type: integer\n    only: [1]\n${TEST}${TAIL}`, 3, 11,
      "parameter name 'WAYFINDER_CORES' is reserved: WAYFINDER_* variables are what Wayfinder itself passes to jobs");
  });

  it('default outside a list domain', () => {
    expectError(`${HEAD}    default: 3\n${TEST}${TAIL}`, 6, 14, "default 3 of 'A' is not in its domain [1, 2]");
  });

  it('default between the steps of a range', () => {
    const p = 'name: t\nparams:\n  - name: A\n    type: integer\n    min: 1\n    max: 9\n    step: 2\n    default: 4\n';
    expectError(`${p}${TEST}${TAIL}`, 8, 14, "default 4 of 'A' is not in its domain 1..9 step 2");
  });

  it('default of the wrong type', () => {
    expectError(`${HEAD}    default: "1"\n${TEST}${TAIL}`, 6, 14, "default of 'A' must be integer, got the string '1'");
  });

  it('min greater than max', () => {
    const p = 'name: t\nparams:\n  - name: A\n    type: integer\n    min: 8\n    max: 1\n';
    expectError(`${p}${TEST}${TAIL}`, 5, 10, "min (8) of 'A' is greater than its max (1)");
  });

  it('step of zero', () => {
    const p = 'name: t\nparams:\n  - name: A\n    type: integer\n    min: 1\n    max: 8\n    step: 0\n';
    expectError(`${p}${TEST}${TAIL}`, 7, 11, "step of 'A' must be positive, got 0");
  });

  it('power step below 2', () => {
    const p = 'name: t\nparams:\n  - name: A\n    type: integer\n    min: 1\n    max: 8\n    step: 1\n    step_mode: power\n';
    expectError(`${p}${TEST}${TAIL}`, 7, 11, "step of 'A' must be at least 2 with step_mode power, got 1");
  });

  it('only with a value of the wrong type', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: integer\n    only: [1, two]\n${TEST}${TAIL}`, 5, 15, "'only' of 'A' must list integer values, got the string 'two'");
  });

  it('a string parameter with numbers in only (native files are strict)', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: string\n    only: [63]\n${TEST}${TAIL}`, 5, 12, "'only' of 'A' must list string values, got the number 63");
  });

  it('a range on a string parameter', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: string\n    min: 1\n    max: 2\n${TEST}${TAIL}`, 5, 5, "'min' applies only to integer parameters; give 'A' an 'only' list instead");
  });

  it('an integer parameter with no domain', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: integer\n${TEST}${TAIL}`, 3, 5, "parameter 'A' needs an 'only' list or 'min' and 'max'");
  });

  it('`if` naming an unknown parameter points at the name inside the condition', () => {
    expectError(
      `${HEAD}  - name: B\n    type: boolean\n    if: "B_ == true && A > 1"\n${TEST}${TAIL}`,
      8,
      10,
      "condition of 'B' refers to unknown parameter 'B_'; did you mean 'B'?",
    );
  });

  it('`if` in a plain scalar, name after a string literal', () => {
    expectError(`${HEAD}  - name: B\n    type: boolean\n    if: A=='x' || GOVERNOR\n${TEST}${TAIL}`, 8, 19, "condition of 'B' refers to unknown parameter 'GOVERNOR'");
  });

  it('integer outside the safe range', () => {
    expectError(`name: t\nparams:\n  - name: A\n    type: integer\n    only: [1, 9007199254740993]\n${TEST}${TAIL}`, 5, 15,
      'integer 9007199254740993 is outside the safe integer range (±9007199254740991); quote it if it is meant as a string');
  });
});

describe('job errors', () => {
  it('bad duration', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  timeout: 10 minutes\n${TAIL}`, 8, 12,
      "bad duration '10 minutes' for 'timeout'; expected seconds or a number with s, m or h (90s, 10m, 1h)");
  });

  it('missing script file', () => {
    const e = errorOf(`${HEAD}test:\n  script: scripts/nope.sh\n${TAIL}`);
    expect({ line: e.loc?.line, col: e.loc?.col }).toEqual({ line: 7, col: 11 });
    expect(e.message).toBe(`script file 'scripts/nope.sh' not found (looked for ${join(FIXTURES, 'scripts', 'nope.sh')})`);
  });

  it('both run and script', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  script: scripts/wrk.sh\n${TAIL}`, 8, 3, "give either 'run' or 'script', not both");
  });

  it('neither run nor script', () => {
    expectError(`${HEAD}test:\n  cores: 2\n${TAIL}`, 7, 3, "the test job needs a command: 'run' (a command line) or 'script' (a file)");
  });

  it('unknown capability', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  capabilities: [CAP_NET_ADMN]\n${TAIL}`, 8, 18, "unknown Linux capability 'CAP_NET_ADMN'; did you mean 'NET_ADMIN'?");
  });

  it('bad input mapping string', () => {
    expectError(`${HEAD}test:\n  run: echo 1\n  inputs: [onlysource]\n${TAIL}`, 8, 12,
      `expected "source:destination" or a mapping with source and destination, got 'onlysource'`);
  });

  it('duplicate test names', () => {
    expectError(`${HEAD}test:\n  - name: a\n    run: x\n  - name: a\n    run: y\n${TAIL}`, 9, 11, "duplicate test name 'a'; each test needs a name of its own");
  });
});

describe('metric and objective errors', () => {
  const M = (metric: string, objective = '  maximize: m\n') => `${HEAD}${TEST}metrics:\n  - name: m\n${metric}objective:\n${objective}`;

  it('objective naming no metric', () => {
    const e = expectError(M("    parser: regex\n    pattern: 'v=(\\d+)'\n", '  maximize: mm\n'), 13, 13,
      "objective metric 'mm' is produced by no metrics entry; did you mean 'm'?");
    expect(e.hint).toBe('metrics here: m');
  });

  it('objective naming a field of a metric that is not multi-valued', () => {
    expectError(M("    parser: regex\n    pattern: 'v=(\\d+)'\n", '  metric: m.requests_per_sec\n  direction: maximize\n'), 13, 11,
      "objective metric 'm.requests_per_sec' is produced by no metrics entry; did you mean 'm'?");
  });

  it('objective naming a field the parser does not produce: the closest field it does', () => {
    const e = expectError(M('    parser: wrk\n', '  maximize: m.requests_per_sek\n'), 12, 13,
      "objective metric 'm.requests_per_sek' is produced by no metrics entry; did you mean 'm.requests_per_sec'?");
    expect(e.hint).toContain('m.latency_p99_ms');
    // Fields known by their shape: any percentile of wrk, any test of redis-benchmark.
    expect(parseExperiment(M('    parser: wrk\n', '  minimize: m.latency_p99_9_ms\n'), FILE).objective.metric).toBe('m.latency_p99_9_ms');
    expect(parseExperiment(M('    parser: redis-benchmark\n', '  maximize: m.lrange_100_first_100_elements_rps\n'), FILE).objective.metric).toBe('m.lrange_100_first_100_elements_rps');
    expectError(M('    parser: redis-benchmark\n', '  maximize: m.set_rsp\n'), 12, 13,
      "objective metric 'm.set_rsp' is produced by no metrics entry; did you mean 'm.set_rps'?");
    expectError(M('    parser: tcp-echo\n', '  maximize: mm.rps\n'), 12, 13,
      "objective metric 'mm.rps' is produced by no metrics entry; did you mean 'm.rps'?");
  });

  it('objective with the metric named twice', () => {
    expectError(M("    parser: regex\n    pattern: 'v=(\\d+)'\n", '  maximize: m\n  minimize: m\n'), 14, 3,
      "the objective names its metric twice: give only one of 'metric', 'maximize', 'minimize'");
  });

  it('regex that does not compile', () => {
    expectError(M("    parser: regex\n    pattern: 'v=(\\d+'\n"), 11, 14, 'pattern "v=(\\\\d+" is not a valid regular expression: Unterminated group');
  });

  it('regex without a capture group', () => {
    expectError(M("    parser: regex\n    pattern: 'v=\\d+'\n"), 11, 14, `pattern "v=\\\\d+" needs a capture group around the number, like 'rps=(\\d+)'`);
  });

  it('regex parser without a pattern', () => {
    expectError(M('    parser: regex\n'), 9, 5, "metric 'm' uses the regex parser and needs a 'pattern'");
  });

  it('json parser without a path', () => {
    expectError(M('    parser: json\n'), 9, 5, "metric 'm' uses the json parser and needs a 'path'");
  });

  it('metric naming no test', () => {
    expectError(M('    parser: json\n    path: a.b\n    test: wrk\n'), 12, 11, "metric 'm' names test 'wrk', but there is no such test; tests here: test");
  });

  it('unknown parser', () => {
    expectError(M('    parser: wrk2\n', '  maximize: m.x\n'), 10, 13,
      "unknown parser 'wrk2'; expected one of wrk, redis-benchmark, regex, json, tcp-echo; did you mean 'wrk'?");
  });
});

describe('refused before validation', () => {
  it('YAML syntax error at its position', () => {
    expectError('name: t\nparams: [1, 2\ntest: x\n', 3, 1, 'YAML syntax error: a [ ] or { } collection is not closed, or its lines are not indented enough');
  });

  it('duplicate YAML key', () => {
    expectError(`${HEAD}${TEST}${TAIL}name: u\n`, 14, 1, "duplicate key 'name': a key may appear once per mapping");
  });

  it('multiple documents', () => {
    expectError(`${HEAD}${TEST}${TAIL}---\nname: u\n`, 14, 1,
      'the file holds more than one YAML document (a second "---"); an experiment file holds exactly one');
  });

  it('a list at the top level', () => {
    expectError('- name: t\n- params: []\n', 1, 1, 'the top level of an experiment file must be a mapping (key: value lines), not a list');
  });

  it('an empty file', () => {
    expectError('# nothing here\n', 1, 1, 'the file is empty; expected a mapping with at least `params` and `test` (or `runs`)');
  });

  it('alias bomb refused (it would expand to 9^8 strings)', () => {
    const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++) {
      const prev = names[i - 1];
      lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    // `f` is the first level past the limit (9^5 strings); the error points at its first alias.
    expectError(`${lines.join('\n')}\n`, 6, 8,
      'aliases expand to too much data (a "billion laughs" document?); at most 250000 nodes are allowed after expansion');
  });

  it('an alias inside the node it names is refused', () => {
    expectError('a: &a [1, *a]\n', 1, 11, 'an alias refers to the node that contains it, which would never end');
  });

  it('many uses of one small anchor are fine', () => {
    let params = 'name: t\nparams:\n  - name: P0\n    type: string\n    only: &yn [y, n]\n';
    for (let i = 1; i < 300; i++) params += `  - name: P${i}\n    type: string\n    only: *yn\n`;
    const e = parseExperiment(params + TEST + TAIL, FILE);
    expect(e.params).toHaveLength(300);
    expect(e.params[299]?.domain).toEqual({ kind: 'list', values: ['y', 'n'] });
  });

  it('a few harmless aliases are fine', () => {
    const text = `name: t\nparams:\n  - name: A\n    type: integer\n    only: &vals [1, 2]\n  - name: B\n    type: integer\n    only: *vals\n${TEST}${TAIL}`;
    const e = parseExperiment(text, FILE);
    expect(e.params[1]?.domain).toEqual({ kind: 'list', values: [1, 2] });
  });

  it('huge text refused', () => {
    const text = `${HEAD}${TEST}${TAIL}# ${'x'.repeat(1024 * 1024)}\n`;
    expectError(text, 1, 1, `file is ${Buffer.byteLength(text)} bytes; an experiment file may be at most 1048576 bytes (1 MiB)`);
  });
});

describe('loadExperiment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wayfinder-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a huge file by its size', () => {
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, `name: t\n# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const e = (() => {
      try {
        loadExperiment(file);
      } catch (err) {
        return err as InputError;
      }
      throw new Error('expected a refusal');
    })();
    expect(e).toBeInstanceOf(InputError);
    expect(e.loc).toEqual({ file, line: 1, col: 1 });
    expect(e.message).toBe(`file is ${2 * 1024 * 1024 + 11} bytes; an experiment file may be at most 1048576 bytes (1 MiB)`);
  });

  it('a missing file is an InputError naming the file', () => {
    const file = join(dir, 'absent.yaml');
    expect(() => loadExperiment(file)).toThrow('cannot open experiment file: no such file');
    try {
      loadExperiment(file);
    } catch (err) {
      expect((err as InputError).format()).toBe(`${file}:1:1: cannot open experiment file: no such file`);
    }
  });

  it('errors carry the path as given', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, `${HEAD}test:\n  run: echo 1\n  itrations: 3\n${TAIL}`);
    try {
      loadExperiment(file);
      throw new Error('expected a refusal');
    } catch (err) {
      expect((err as InputError).format()).toBe(`${file}:8:3: unknown key 'itrations'; did you mean 'iterations'?`);
    }
  });
});
