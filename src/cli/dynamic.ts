// `wayfinder dynamic FILE`: a workload schedule run against static configurations and controllers
// of the reference dataplane, interleaved, the objective per time window stored and drawn
// (docs/control.md, "Dynamic experiments").

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { controllerSource } from '../control/controller-c.js';
import { runVariant, type RunCpus, type Variant } from '../control/dynamic.js';
import { parseDynamicSpec, type DynamicSpec, type Objective } from '../control/dynamic-spec.js';
import { buildReference, compileC } from '../control/reference.js';
import { readPolicy } from '../policy/policy-file.js';
import { dynamicFigure, dynamicHtml, type DynamicSeries } from '../report/dynamic.js';
import { Store, type DynamicRun, type DynamicWindow } from '../store/store.js';
import { fmtNum, table } from '../util/format.js';
import { databasePath, dynamicDir, reportsDir } from '../workdir.js';
import { positiveInt, UsageError } from './errors.js';

export interface DynamicOptions {
  workdir: string;
  repeats?: string;
  nice?: string;
  /** "DATAPLANE,OTHERS": the dataplane alone on the first CPU, the generator and controller on the second. */
  pin?: string;
  json?: boolean;
  quiet?: boolean;
  /** Draw the report again from the runs of this experiment's name in the store; run nothing. */
  reportOnly?: boolean;
}

const FIELD: Record<Objective, keyof DynamicWindow> = { p50_us: 'p50Us', p90_us: 'p90Us', p99_us: 'p99Us', p999_us: 'p999Us', max_us: 'maxUs' };

export function windowValue(w: DynamicWindow, objective: Objective): number | null {
  return w[FIELD[objective]] as number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
}

function variantsOf(spec: DynamicSpec): Variant[] {
  const out: Variant[] = spec.statics.map((v) => ({ label: `static ${spec.knob}=${v}`, kind: 'static' as const, value: v }));
  for (const c of spec.controllers) {
    if (!existsSync(c.policy)) throw new UsageError(`${spec.file}: controller policy ${c.policy} does not exist`);
    const binary = compileC('controller', controllerSource(readPolicy(c.policy)));
    out.push({ label: c.label, kind: 'controller', controller: { binary, periodUs: c.periodUs, wait: c.wait, policy: c.policy } });
  }
  const seen = new Set<string>();
  for (const v of out) {
    if (seen.has(v.label)) throw new UsageError(`${spec.file}: two variants are both labelled "${v.label}"; give the controllers a label`);
    seen.add(v.label);
  }
  return out;
}

/** The figures of a set of runs: per variant, per-run and per-window objective, and the figure. */
export function summarise(spec: Pick<DynamicSpec, 'objective' | 'knob' | 'windowUs' | 'schedule'>, runs: { run: DynamicRun; windows: DynamicWindow[] }[]) {
  const labels = [...new Set(runs.map((r) => r.run.variant))];
  const byVariant = labels.map((label) => {
    const rs = runs.filter((r) => r.run.variant === label);
    const runP = rs.map((r) => Number(r.run.summary[spec.objective] ?? NaN));
    const perWindow = rs.flatMap((r) => r.windows.map((w) => windowValue(w, spec.objective)).filter((v): v is number => v !== null));
    const sent = rs.reduce((s, r) => s + r.windows.reduce((a, w) => a + w.sent, 0), 0);
    const lost = rs.reduce((s, r) => s + r.windows.reduce((a, w) => a + w.lost, 0), 0);
    // The series drawn: per window, the median over the repeats.
    const n = Math.max(...rs.map((r) => r.windows.length));
    const points = Array.from({ length: n }, (_, i) => {
      const ws = rs.map((r) => r.windows[i]).filter((w): w is DynamicWindow => !!w);
      const vals = ws.map((w) => windowValue(w, spec.objective)).filter((v): v is number => v !== null);
      const knobs = ws.map((w) => w.knobs[spec.knob]).filter((v): v is number => v !== undefined);
      return { tUs: ws[0]?.tUs ?? i * spec.windowUs, value: vals.length ? median(vals) : null, knob: knobs.length ? median(knobs) : null };
    });
    return { label, kind: rs[0]!.run.kind, runs: rs.length, runP, perWindowMean: perWindow.reduce((s, v) => s + v, 0) / (perWindow.length || 1), lostShare: sent ? lost / sent : 0, points, loadavg: rs.map((r) => r.run.loadavg.split(' ')[0]) };
  });
  const series: DynamicSeries[] = byVariant.map((v) => ({ label: v.label, kind: v.kind, points: v.points }));
  let at = 0;
  const phases = spec.schedule.map((p) => {
    const ph = { startUs: at * 1000, endUs: (at + p.durationMs) * 1000, text: `${p.flows} flow${p.flows === 1 ? '' : 's'} · ${fmtNum(p.rate)}/s${p.loss ? ` · loss ${p.loss}` : ''}` };
    at += p.durationMs;
    return ph;
  });
  const svg = dynamicFigure(series, phases, { objective: spec.objective, knob: spec.knob, windowUs: spec.windowUs });
  // Does each controller beat every static, run by run (the same repeat's runs, interleaved)?
  const statics = byVariant.filter((v) => v.kind === 'static');
  const verdicts = byVariant
    .filter((v) => v.kind === 'controller')
    .map((c) => {
      const against = statics.map((s) => {
        const pairs = c.runP.map((x, i) => [x, s.runP[i]] as const).filter(([, y]) => y !== undefined);
        return { static: s.label, wins: pairs.filter(([x, y]) => x < y!).length, pairs: pairs.length };
      });
      return { controller: c.label, against, beatsAll: against.every((a) => a.wins === a.pairs && a.pairs > 0) };
    });
  return { byVariant, svg, verdicts };
}

/** --pin DATAPLANE,OTHERS (CPU numbers): the busy-polling dataplane on a CPU of its own. */
export function parsePin(text: string, cpus = availableParallelism()): RunCpus {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(text);
  const bad = (why: string): never => {
    throw new UsageError(`--pin: ${why}, got "${text}"`);
  };
  if (!m) return bad(`expected DATAPLANE_CPU,OTHER_CPU such as 1,0 (the dataplane on the first, the load generator and the controller on the second)`);
  const [dp, other] = [Number(m[1]), Number(m[2])];
  for (const c of [dp, other]) if (c >= cpus) bad(`CPU ${c} does not exist here (CPUs 0..${cpus - 1})`);
  if (dp === other) bad('the dataplane busy-polls: give it a CPU of its own, not the one the load generator and the controller share');
  return { dataplane: String(dp), loadgen: String(other), controller: String(other) };
}

export async function dynamicCommand(file: string, o: DynamicOptions): Promise<number> {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  const spec = parseDynamicSpec(readFileSync(file, 'utf8'), file);
  const repeats = o.repeats ? positiveInt(o.repeats, '--repeats') : spec.repeats;
  let nice: number | undefined;
  if (o.nice !== undefined) {
    nice = Number(o.nice);
    if (!/^-?\d+$/.test(o.nice.trim()) || nice < -20 || nice > 19) throw new UsageError(`--nice: expected a whole number from -20 to 19, got "${o.nice}"`);
  }
  const cpus = o.pin !== undefined ? parsePin(o.pin) : undefined;
  const workdir = resolve(o.workdir);
  if (o.reportOnly) {
    if (!existsSync(databasePath(workdir))) throw new UsageError(`no results in ${workdir} (no wayfinder.db)`);
    const store = new Store(databasePath(workdir));
    let runs: { run: DynamicRun; windows: DynamicWindow[] }[];
    try {
      runs = store.dynamicRuns(spec.name).map((run) => ({ run, windows: store.dynamicWindows(run.id) }));
    } finally {
      store.close();
    }
    if (!runs.length) throw new UsageError(`no runs of ${spec.name} in ${workdir}`);
    return writeReport(spec, runs, workdir, runs.length / new Set(runs.map((r) => r.run.variant)).size, o, '');
  }
  const variants = variantsOf(spec);
  const bins = buildReference();
  mkdirSync(workdir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const raw = dynamicDir(workdir, spec.name, stamp);
  mkdirSync(raw, { recursive: true });
  const store = new Store(databasePath(workdir));
  const say = (s: string): void => {
    if (!o.quiet && !o.json) process.stdout.write(`${s}\n`);
  };
  const totalS = spec.schedule.reduce((s, p) => s + p.durationMs, 0) / 1000;
  say(`${spec.name}: ${variants.length} variants × ${repeats} repeat(s), ${fmtNum(totalS)} s each, interleaved; objective ${spec.objective} per ${spec.windowUs / 1000} ms window`);
  const runs: { run: DynamicRun; windows: DynamicWindow[] }[] = [];
  try {
    let n = 0;
    for (let r = 0; r < repeats; r++) {
      // Each repeat starts one variant later: drift in the machine's load hits every variant alike.
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const v of order) {
        n++;
        const out = await runVariant(spec, v, bins, raw, { nice, cpus, tag: `r${r}-${v.label.replace(/[^A-Za-z0-9]+/g, '_')}` });
        const run: Omit<DynamicRun, 'id'> = {
          name: spec.name,
          file: resolve(file),
          text: spec.text,
          variant: v.label,
          kind: v.kind,
          params: v.kind === 'static' ? { [spec.knob]: v.value } : { policy: v.controller!.policy, periodUs: v.controller!.periodUs, wait: v.controller!.wait },
          repeat: r,
          windowUs: spec.windowUs,
          objective: spec.objective,
          loadavg: String(out.summary.loadavg),
          summary: out.summary,
          startedAt: Date.now(),
        };
        const id = store.addDynamicRun(run, out.windows);
        runs.push({ run: { ...run, id }, windows: out.windows });
        const s = out.summary;
        say(
          `[${n}/${variants.length * repeats}] ${v.label}: ${spec.objective} over the run ${fmtNum(Number(s[spec.objective]))} µs, lost ${fmtNum((100 * Number(s.lost)) / Number(s.requests || 1))}%` +
            `${v.kind === 'controller' ? `, ${s.knob_changes} knob changes, controller CPU ${fmtNum(Number(s.controller_cpu_s))} s` : ''} (load ${s.loadavg})`,
        );
      }
    }
  } finally {
    store.close();
  }
  return writeReport(spec, runs, workdir, repeats, o, raw);
}

function writeReport(spec: DynamicSpec, runs: { run: DynamicRun; windows: DynamicWindow[] }[], workdir: string, repeats: number, o: DynamicOptions, raw: string): number {
  const say = (s: string): void => {
    if (!o.quiet && !o.json) process.stdout.write(`${s}\n`);
  };
  const totalS = spec.schedule.reduce((s, p) => s + p.durationMs, 0) / 1000;
  const sum = summarise(spec, runs);
  const head = [`${spec.objective} over the run (median of runs), µs`, `mean of window ${spec.objective}, µs`, 'lost', 'load average at start'];
  const rows = sum.byVariant.map((v) => ({
    label: v.label,
    runs: v.runs,
    cells: [fmtNum(median(v.runP)), fmtNum(v.perWindowMean), `${(100 * v.lostShare).toFixed(2)}%`, v.loadavg.join(', ')],
  }));
  const notes = sum.verdicts.map(
    (c) =>
      `${c.controller} ${c.beatsAll ? 'beat every static configuration in every repeat' : 'did not beat every static configuration in every repeat'}: ` +
      c.against.map((a) => `${a.wins} of ${a.pairs} against ${a.static}`).join('; ') +
      ` (${spec.objective} over the whole run; no significance test with so few repeats).`,
  );
  const dir = reportsDir(workdir, `dynamic-${spec.name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'dynamic.svg'), sum.svg);
  const intro = `The schedule (${spec.schedule.length} phases, ${fmtNum(totalS)} s) run against every variant, interleaved, ${repeats} time(s); lines: the ${spec.objective} of each ${spec.windowUs / 1000} ms window (median over repeats); dashed steps: the ${spec.knob} each controller set. A request without a reply within ${spec.timeoutMs} ms counts as ${spec.timeoutMs} ms.`;
  writeFileSync(join(dir, 'index.html'), dynamicHtml(`Dynamic experiment ${spec.name}`, intro, sum.svg, head, rows, notes));
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ name: spec.name, report: join(dir, 'index.html'), raw, runs: runs.map((r) => ({ id: r.run.id, variant: r.run.variant, repeat: r.run.repeat, summary: r.run.summary, windows: r.windows.length })), verdicts: sum.verdicts }, null, 2)}\n`);
  } else {
    say('');
    say(table([['variant', 'runs', ...head], ...rows.map((r) => [r.label, String(r.runs), ...r.cells])]));
    for (const n of notes) say(n);
    say(`report: ${join(dir, 'index.html')}${raw ? `; raw files: ${raw}` : ''}`);
  }
  return 0;
}
