// A metric parser, a search strategy and a way for a parameter to reach its build that wayfinder
// does not ship, each added as one file (beside this test) plus one registration, then used by an
// experiment file like any built-in: the file is checked against them, the study asks the new
// strategy for configurations, the build is prepared by the new kind, the worker reads each run's
// output with the new parser, and the objective is the number only that parser understands.

import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../src/cli/run.js';
import { explorationFlags } from '../../src/cli/exploration-flags.js';
import { parsersHelp, strategiesHelp } from '../../src/cli/registry-help.js';
import { checkSubmission } from '../../src/daemon/api.js';
import { openApiText } from '../../src/daemon/openapi.js';
import { metricParserNames, registerMetricParser } from '../../src/metrics/registry.js';
import { parseExperiment } from '../../src/spec/index.js';
import { createStrategy, registerStrategy, strategyNames } from '../../src/strategies/registry.js';
import { registerParamKind } from '../../src/targets/params/registry.js';
import { Space } from '../../src/generator/index.js';
import { Store } from '../../src/store/store.js';
import { InputError } from '../../src/types.js';
import { databasePath } from '../../src/workdir.js';
import { tempDir, writeFile } from '../helpers.js';
import { appendKind } from './append-kind.js';
import { backwardsStrategy } from './backwards-strategy.js';
import { romanParser } from './roman-parser.js';

registerMetricParser(romanParser);
registerStrategy(backwardsStrategy);
registerParamKind(appendKind);

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

// A prints its score in Roman numerals only: ten times A.
const EXPERIMENT = `
name: roman-numerals
params:
  - { name: A, type: integer, only: [1, 2, 3, 4], default: 4, when: test }
test:
  name: t
  run: 'case "$A" in 1) echo "score: X";; 2) echo "score: XX";; 3) echo "score: XXX";; 4) echo "score: XL";; esac'
metrics:
  - { name: score, parser: roman, label: score }
objective: { maximize: score }
exploration: { strategy: backwards, budget: 2 }
`;

function refusal(text: string): InputError {
  try {
    parseExperiment(text, '/x/exp.yaml');
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected the file to be refused');
}

describe('a registered metric parser and strategy', () => {
  it('are named by experiment files, checked where written, and listed with the built-ins', () => {
    expect(metricParserNames()).toEqual(['wrk', 'redis-benchmark', 'regex', 'json', 'tcp-echo', 'roman']);
    expect(strategyNames()).toEqual(['grid', 'random', 'bayesian', 'backwards']);
    const exp = parseExperiment(EXPERIMENT, '/x/exp.yaml');
    expect(exp.metrics).toEqual([{ name: 'score', parser: 'roman', label: 'score', source: { kind: 'stdout' }, loc: { file: '/x/exp.yaml', line: 9, col: 5 } }]);
    expect(exp.exploration.strategy).toBe('backwards');
    // The help texts and the API description say what is registered, not a list of their own.
    expect(strategiesHelp()).toMatch(/^  backwards +every configuration in reverse declaration order$/m);
    expect(parsersHelp()).toMatch(/^  roman +a number in Roman numerals after a label, as in "score: XLII"$/m);
    expect(openApiText('components: { schemas: { Submission: { properties: { strategy: {} } } } }\n')).toContain('enum: [grid, random, bayesian, backwards]');

    // The parser's own option is checked by the parser's own rule, at the option's line and column.
    const bad = refusal(EXPERIMENT.replace('label: score', "label: 'two words'"));
    expect(bad.format()).toBe("/x/exp.yaml:9:42: label 'two words' must be one word of letters, digits and _");
    expect(refusal(EXPERIMENT.replace(', label: score', '')).format()).toBe("/x/exp.yaml:9:5: metric 'score' uses the roman parser and needs a 'label'");
    expect(refusal(EXPERIMENT.replace('parser: roman, label: score', "parser: regex, pattern: 'x(1)', label: score")).format()).toBe(
      "/x/exp.yaml:9:52: 'label' applies only to the roman parser, not regex",
    );
    // Unknown names are told with every registered name, the new ones among them.
    expect(refusal(EXPERIMENT.replace('parser: roman', 'parser: romen')).format()).toBe(
      "/x/exp.yaml:9:28: unknown parser 'romen'; expected one of wrk, redis-benchmark, regex, json, tcp-echo, roman; did you mean 'roman'?",
    );
    expect(refusal(EXPERIMENT.replace('strategy: backwards', 'strategy: backward')).format()).toBe(
      "/x/exp.yaml:11:26: unknown strategy 'backward'; expected one of grid, random, bayesian, backwards; did you mean 'backwards'?",
    );
  });

  it('the strategy is selectable by name: --strategy, the daemon\'s submissions, the study\'s factory', () => {
    expect(explorationFlags({ strategy: 'backwards' })).toEqual({ strategy: 'backwards' });
    expect(() => explorationFlags({ strategy: 'forwards' })).toThrow('--strategy: unknown strategy "forwards" (known: grid, random, bayesian, backwards)');
    expect(checkSubmission({ yaml: EXPERIMENT, strategy: 'backwards' }, '/x').options).toEqual({ strategy: 'backwards' });
    expect(() => checkSubmission({ yaml: EXPERIMENT, strategy: 'forwards' }, '/x')).toThrow('"strategy": expected grid, random, bayesian, backwards');
    const exp = parseExperiment(EXPERIMENT, '/x/exp.yaml');
    const s = createStrategy('backwards', new Space(exp.params), { seed: 1, direction: 'maximize' });
    expect(s.name).toBe('backwards');
    expect(s.ask(4).map((c) => c.A)).toEqual([4, 3, 2, 1]);
  });

  it('run an experiment end to end: the study asks the new strategy, the worker measures with the new parser', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(dir, 'exp.yaml', EXPERIMENT);
    const workdir = join(dir, '.wayfinder');
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    let status: number;
    try {
      status = await runCommand(file, { workdir, json: true });
    } finally {
      write.mockRestore();
    }
    expect(status).toBe(0);
    const summary = JSON.parse(out.join('')) as { best: { params: { A: number }; objective: number }; done: number; failed: number };
    expect(summary.best).toMatchObject({ params: { A: 4 }, objective: 40 });
    expect(summary.failed).toBe(0);

    const store = new Store(databasePath(workdir));
    try {
      const [experiment] = store.listExperiments();
      const rows = store.configurations(experiment!.id);
      // Backwards with a budget of two: A=4 (also the default) and A=3, never grid's A=1 or A=2.
      expect(rows.map((r) => [r.params.A, r.status, r.objective]).sort()).toEqual([
        [3, 'done', 30],
        [4, 'done', 40],
      ]);
      expect(rows.filter((r) => !r.isDefault).every((r) => r.strategy === 'backwards')).toBe(true);
      expect(rows.every((r) => r.summary?.score?.median === (r.params.A as number) * 10)).toBe(true);
    } finally {
      store.close();
    }
  }, 120_000);

  it('a registered parameter kind is declared in the file, checked where written, and prepares the build', async () => {
    const exp = (append: string, when = '') => `
name: appended
params:
  - { name: N, type: integer, only: [1, 2, 3], default: 1, append: ${append}${when} }
build:
  run: 'grep -qx "N=$N" limits.conf'
test:
  name: t
  run: 'echo "n=$(sed -n "s/^N=//p" "$WAYFINDER_BUILD_DIR/limits.conf")"'
metrics:
  - { name: n, parser: regex, pattern: 'n=(\\d+)' }
objective: { maximize: n }
`;
    expect(parseExperiment(exp('limits.conf'), '/x/exp.yaml').params[0]?.append).toBe('limits.conf');
    expect(refusal(exp('../limits.conf')).format()).toBe("/x/exp.yaml:4:68: append file '../limits.conf' must be inside the build directory");
    expect(refusal(exp('limits.conf', ', when: test')).format()).toBe("/x/exp.yaml:4:87: 'N' is written into the build, so it is a build parameter");

    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const file = writeFile(dir, 'exp.yaml', exp('limits.conf'));
    const workdir = join(dir, '.wayfinder');
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let status: number;
    try {
      status = await runCommand(file, { workdir, json: true });
    } finally {
      write.mockRestore();
    }
    expect(status).toBe(0);
    const store = new Store(databasePath(workdir));
    try {
      const [experiment] = store.listExperiments();
      // Each build found its own line (the build command checks it) and each test read it back.
      expect(store.configurations(experiment!.id).map((r) => [r.params.N, r.status, r.objective]).sort()).toEqual([
        [1, 'done', 1],
        [2, 'done', 2],
        [3, 'done', 3],
      ]);
    } finally {
      store.close();
    }
  }, 120_000);
});
