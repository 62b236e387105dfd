// The three formats an experiment file may be written in, each read into a Draft of the native
// model. The native format maps one to one; Wayfinder's two formats are mapped key by key onto it.

import { basename, dirname, extname } from 'node:path';
import { InputError, type ExperimentFormat } from '../types.js';
import type { Path, SourceDoc } from './document.js';
import type { Draft, DraftJob, DraftMetric, DraftParam } from './draft.js';
import {
  NAME_RE,
  type DaemonFile,
  type NativeFile,
  type PaperFile,
  type RawMetric,
  type RawObjective,
  type RawParam,
  type RawTestJob,
} from './schema.js';

/**
 * The metric a Wayfinder file implies, since it names none: the last number the test prints
 * (the paper's test scripts print their result last). A file may add native `metrics` and
 * `objective` keys to say otherwise.
 */
export const LAST_NUMBER_PATTERN = String.raw`([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\s\S]*\d)`;
export const IMPLIED_METRIC = 'result';

const DAEMON_TEST_KEYS = ['benchtool', 'kernel', 'results'];
const DAEMON_BUILD_KEYS = ['commands', 'workdir'];

/**
 * Which format a file is written in, by its keys: `runs` is the paper's; a build with `commands`,
 * `workdir` or an outputs mapping, or tests with a `benchtool`/`kernel`/`results`, are the daemon's; anything else is native. (Native files may also
 * have a list of tests, a build mapping and `when` on parameters, so those alone decide nothing.)
 */
export function detectFormat(value: unknown): ExperimentFormat {
  const root = (value ?? {}) as Record<string, unknown>;
  if ('runs' in root) return 'paper';
  const has = (v: unknown, keys: string[]) => typeof v === 'object' && v !== null && !Array.isArray(v) && keys.some((k) => k in v);
  const tests = Array.isArray(root.test) ? root.test : [root.test];
  const build = root.build as Record<string, unknown> | undefined;
  // The daemon's build outputs are a mapping (kernel, initrd, disks); native outputs are a list.
  const daemonOutputs = has(build, ['outputs']) && !Array.isArray(build?.outputs);
  if (has(build, DAEMON_BUILD_KEYS) || daemonOutputs || tests.some((t) => has(t, DAEMON_TEST_KEYS))) return 'daemon';
  return 'native';
}

export function nativeDraft(f: NativeFile): Draft {
  const draft: Draft = {
    format: 'native',
    name: f.name,
    params: [
      ...f.params.map((raw, i): DraftParam => ({ raw, path: ['params', i], workload: false, lenient: false })),
      ...(f.workload ?? []).map((raw, i): DraftParam => ({ raw, path: ['workload', i], workload: true, lenient: false })),
    ],
    tests: Array.isArray(f.test)
      ? f.test.map((raw, i): DraftJob => ({ raw, phase: 'test', path: ['test', i] }))
      : [{ raw: f.test, phase: 'test', path: ['test'] }],
    metrics: (f.metrics ?? []).map((raw, i) => ({ raw, path: ['metrics', i] })),
    objective: { raw: f.objective, path: ['objective'] },
  };
  if (f.build) draft.build = { raw: f.build, phase: 'build', path: ['build'] };
  return withCommon(draft, f);
}

export function paperDraft(f: PaperFile, src: SourceDoc): Draft {
  // Inputs and outputs are the job's, shared by every run: Wayfinder mounted the inputs into each
  // run and copied the outputs out of one run and into the next.
  const inputs = (f.inputs ?? []).map((i) => ({ source: i.source, destination: i.destination }));
  const outputs = (f.outputs ?? []).map((o) => ({ source: relativeOf(o.path), destination: o.path }));
  let build: DraftJob | undefined;
  const tests: DraftJob[] = [];
  f.runs.forEach((run, i) => {
    const path: Path = ['runs', i];
    // Wayfinder ran `path` as the process when given, else wrote `cmd` into an entrypoint script.
    const command = run.path ?? run.cmd;
    if (command === undefined) throw new InputError(`run '${run.name}' needs a 'cmd' or a 'path'`, src.loc(path));
    const raw: RawTestJob = { name: run.name, run: command, inputs, outputs };
    if (run.image !== undefined) raw.image = run.image;
    if (run.cores !== undefined) raw.cores = run.cores;
    if (run.devices !== undefined) raw.devices = run.devices;
    if (run.capabilities !== undefined) raw.capabilities = run.capabilities;
    const job: DraftJob = { raw, phase: 'test', path, rename: { run: [run.path !== undefined ? 'path' : 'cmd'] } };
    if (run.name === 'build') {
      if (build) throw new InputError(`a second run named 'build'; only one run can be the build`, src.loc([...path, 'name']));
      build = { ...job, phase: 'build' };
    } else {
      tests.push(job);
    }
  });
  if (tests.length === 0) {
    throw new InputError(`no test run: every run other than the one named 'build' is a test, and there is none`, src.loc(['runs']));
  }
  const draft: Draft = {
    format: 'paper',
    name: f.name ?? nameFromFile(src.file),
    params: f.params.map((raw: RawParam, i): DraftParam => ({ raw, path: ['params', i], workload: false, lenient: true })),
    tests,
    ...impliedMetrics(f, [{ raw: lastNumberMetric(IMPLIED_METRIC) }], src),
  };
  if (build) draft.build = build;
  return withCommon(draft, f);
}

export function daemonDraft(f: DaemonFile, src: SourceDoc): Draft {
  const b = f.build;
  const buildOutputs = [b.outputs?.kernel, b.outputs?.initrd, ...(b.outputs?.disks ?? []).map((d) => d.path)]
    .filter((p): p is string => p !== undefined)
    .map((p) => ({ source: relativeOf(p), destination: p }));
  const buildRaw: RawTestJob = {
    name: 'build',
    // The daemon ran the commands in `workdir`.
    run: b.workdir !== undefined ? `cd '${b.workdir.replace(/'/g, `'\\''`)}' || exit 1\n${b.commands}` : b.commands,
    outputs: buildOutputs,
  };
  if (b.image !== undefined) buildRaw.image = b.image;
  if (b.cores !== undefined) buildRaw.cores = b.cores;
  if (b.devices !== undefined) buildRaw.devices = b.devices;
  if (b.capabilities !== undefined) buildRaw.capabilities = b.capabilities;

  const list = Array.isArray(f.test) ? f.test : [f.test];
  const implied: DraftMetric[] = [];
  const tests = list.map((t, i): DraftJob => {
    const path: Path = Array.isArray(f.test) ? ['test', i] : ['test'];
    const name = t.name ?? (i === 0 ? 'test' : `test-${i + 1}`);
    const bt = t.benchtool;
    const env: Record<string, string | number | boolean> = { ...(bt.environment ?? {}) };
    // The daemon booted the built kernel in a VM with these settings; the job model has no VM
    // fields, so they reach the test as environment variables.
    if (t.kernel?.memory !== undefined) env.WAYFINDER_KERNEL_MEMORY = t.kernel.memory;
    if (t.kernel?.args !== undefined) env.WAYFINDER_KERNEL_ARGS = t.kernel.args.trim();
    if (t.kernel?.cores !== undefined) env.WAYFINDER_KERNEL_CORES = t.kernel.cores;
    const delay = bt.start_delay ?? bt.boot_delay;
    if (delay !== undefined) env.WAYFINDER_START_DELAY = delay;
    if (bt.duration !== undefined) env.WAYFINDER_DURATION = bt.duration;
    const outputs: Array<{ source: string; destination: string }> = [];
    (t.results ?? []).forEach((r, j) => {
      outputs.push({ source: relativeOf(r.path), destination: r.path });
      // Text and boolean results are recorded facts, not numbers to optimise.
      if (r.type === 'str' || r.type === 'string' || r.type === 'bool') return;
      implied.push({ raw: { ...lastNumberMetric(r.name), source: { file: relativeOf(r.path) }, test: name }, path: [...path, 'results', j] });
    });
    const raw: RawTestJob = { name, run: bt.commands, env, outputs };
    if (bt.image !== undefined) raw.image = bt.image;
    if (bt.cores !== undefined) raw.cores = bt.cores;
    if (bt.devices !== undefined) raw.devices = bt.devices;
    if (bt.capabilities !== undefined) raw.capabilities = bt.capabilities;
    const rename: Record<string, Path> = { name: ['name'] };
    for (const k of ['image', 'cores', 'devices', 'capabilities']) rename[k] = ['benchtool', k];
    rename.run = ['benchtool', 'commands'];
    rename.env = ['benchtool', 'environment'];
    return { raw, phase: 'test', path, rename };
  });

  const draft: Draft = {
    format: 'daemon',
    name: f.name ?? nameFromFile(src.file),
    params: f.params.map((raw, i): DraftParam => ({ raw, path: ['params', i], workload: false, lenient: true })),
    build: { raw: buildRaw, phase: 'build', path: ['build'], rename: { run: ['commands'] } },
    tests,
    ...impliedMetrics(f, implied, src),
  };
  return withCommon(draft, f);
}

function lastNumberMetric(name: string): RawMetric {
  return { name, parser: 'regex', source: 'stdout', pattern: LAST_NUMBER_PATTERN };
}

/** The file's own metrics and objective when it adds them, else the implied ones (maximised). */
function impliedMetrics(
  f: { metrics?: RawMetric[]; objective?: RawObjective },
  implied: DraftMetric[],
  src: SourceDoc,
): Pick<Draft, 'metrics' | 'objective'> {
  const metrics = f.metrics ? f.metrics.map((raw, i) => ({ raw, path: ['metrics', i] as Path })) : implied;
  if (f.objective) return { metrics, objective: { raw: f.objective, path: ['objective'] } };
  const first = metrics[0];
  if (f.metrics || !first) {
    throw new InputError(
      f.metrics ? `a file that adds 'metrics' must also give the 'objective'` : `no numeric result to optimise: add 'metrics' and an 'objective'`,
      src.keyLoc(f.metrics ? ['metrics'] : ['test']),
    );
  }
  return { metrics, objective: { raw: { maximize: first.raw.name } } };
}

function withCommon(
  d: Draft,
  f: { description?: string; pool?: string; exploration?: Draft['exploration']; host?: Draft['host'] },
): Draft {
  if (f.description !== undefined) d.description = f.description;
  if (f.pool !== undefined) d.pool = f.pool;
  if (f.exploration !== undefined) d.exploration = f.exploration;
  if (f.host !== undefined) d.host = f.host;
  return d;
}

/** A container path as a path under the configuration's folder: "/results/x.txt" -> "results/x.txt". */
function relativeOf(p: string): string {
  return p.replace(/^\/+/, '') || '.';
}

/** Wayfinder files carry no name: use the file's (or, for the usual job.yaml, its folder's). */
export function nameFromFile(file: string): string {
  let name = basename(file, extname(file));
  if (/^(job|experiment|spec)$/i.test(name)) name = basename(dirname(file)) || name;
  name = name.replace(/[^A-Za-z0-9._-]+/g, '-');
  return NAME_RE.test(name) ? name : 'experiment';
}
