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
  type RawVm,
} from './schema.js';

type DaemonTest = Extract<DaemonFile['test'], { benchtool: unknown }>;

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
    // The daemon gave the benchtool DURATION (30 s unless told), the file's environment and the
    // test parameters (ours get every parameter).
    const env: Record<string, string | number | boolean> = { DURATION: bt.duration ?? 30, ...(bt.environment ?? {}) };
    if (bt.duration !== undefined) env.WAYFINDER_DURATION = bt.duration;
    const outputs: Array<{ source: string; destination: string }> = [];
    // One of Wayfinder's own files puts `results` under the benchtool, where its daemon never
    // looked (it then recorded nothing); they are read as the test's results here.
    const resultsKey: Path = t.results !== undefined ? ['results'] : ['benchtool', 'results'];
    (t.results ?? bt.results ?? []).forEach((r, j) => {
      outputs.push({ source: relativeOf(r.path), destination: r.path });
      // Text and boolean results are recorded facts, not numbers to optimise.
      if (r.type === 'str' || r.type === 'string' || r.type === 'bool') return;
      const pattern = r.type === 'int' || r.type === 'integer' ? LEADING_INTEGER_PATTERN : LEADING_NUMBER_PATTERN;
      implied.push({
        raw: { name: r.name, parser: 'regex', source: { file: relativeOf(r.path) }, pattern, test: name },
        path: [...path, ...resultsKey, j],
      });
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
    if (t.kernel !== undefined) {
      raw.vm = kernelVm(t.kernel, b.outputs, bt.start_delay ?? bt.boot_delay, src, [...path, 'kernel']);
      // The grant holds the guest's vCPUs and the benchtool's CPUs (Wayfinder gave each their own).
      raw.cores = (raw.vm.cores ?? 1) + (bt.cores ?? 1);
      rename.vm = ['kernel'];
    }
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

/**
 * The daemon's VM for a test: the build's kernel, initrd and disks booted with the test's
 * `kernel:` settings, on a tap whose addresses the kernel arguments and the benchtool are given
 * as $WAYFINDER_DOMAIN_* (the daemon's names and its default subnet, 172.88.0.1/24).
 */
function kernelVm(
  k: NonNullable<DaemonTest['kernel']>,
  outputs: DaemonFile['build']['outputs'],
  startDelay: number | undefined,
  src: SourceDoc,
  at: Path,
): RawVm {
  if (outputs?.kernel === undefined) {
    throw new InputError(`the test boots a kernel, but the build names none: give the build 'outputs: { kernel: ... }'`, src.keyLoc(at));
  }
  const vm: RawVm = {
    kernel: relativeOf(outputs.kernel),
    cores: k.cores ?? 1,
    net: 'tap',
    tap: { host: `${DOMAIN_GATEWAY}/${DOMAIN_PREFIX}`, guest: DOMAIN_ADDRESS },
    // Wayfinder started the benchtool this long after the VM (its daemon's default: 5 s).
    start_delay: startDelay ?? 5,
    accel: platAccel(k.plat, src, [...at, 'plat']),
  };
  if (outputs.initrd !== undefined) vm.initrd = relativeOf(outputs.initrd);
  if (outputs.disks !== undefined && outputs.disks.length > 0) {
    vm.disks = outputs.disks.map((d) => ({ path: relativeOf(d.path), format: d.type === 'qcow2' ? 'qcow2' : 'raw' }));
  }
  if (k.memory !== undefined) vm.memory = k.memory;
  if (k.arch !== undefined) vm.arch = k.arch;
  // $WAYFINDER_DOMAIN_IP_ADDR as the daemon wrote it is ${WAYFINDER_DOMAIN_IP_ADDR} here; ${PARAM} stays.
  if (k.args !== undefined) vm.args = k.args.trim().replace(/\$(WAYFINDER_DOMAIN_[A-Z_]+)(?![A-Za-z0-9_])/g, (_m, n: string) => `\${${n}}`);
  return vm;
}

/** The daemon's libvirt domain type: kvm (KVM; here, TCG with a note where KVM does not run guests) or qemu (TCG). */
function platAccel(plat: string | undefined, src: SourceDoc, at: Path): RawVm['accel'] {
  if (plat === undefined || plat === 'kvm') return 'auto';
  if (plat === 'qemu') return 'tcg';
  throw new InputError(`plat '${plat}' is not one a VM is booted with here: kvm or qemu`, src.loc(at));
}

/** The addresses Wayfinder's daemon gave a test's VM by default (its subnet 172.88.0.1/24). */
export const DOMAIN_GATEWAY = '172.88.0.1';
export const DOMAIN_ADDRESS = '172.88.0.2';
export const DOMAIN_PREFIX = 24;

/**
 * A result file's value as the daemon read it (fmt.Fscanf with %f or %d): the number the file
 * starts with.
 */
export const LEADING_NUMBER_PATTERN = String.raw`^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)`;
export const LEADING_INTEGER_PATTERN = String.raw`^\s*([-+]?\d+)`;

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
