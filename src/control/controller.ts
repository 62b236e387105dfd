// `wayfinder control`'s loop (docs/control.md): every period it reads the signals, lets the guard
// rails judge the policy's decision, applies what they let through, and records the decision (what
// changed and why) and the period's observation (signals, knobs in force, objective). Sysctls are
// saved in the host tuning's snapshot before the first write and put back on exit; a restore guard
// child puts them back when this process is killed.

import { HostTuning } from '../isolation/host.js';
import type { Policy } from '../policy/policy.js';
import { InputError, type Config } from '../types.js';
import { Actuators, type Applied } from './actuators.js';
import type { ControlConfig } from './config.js';
import { ControllerLink } from './controller-link.js';
import { Rails, type RailDecision } from './rails.js';
import { startRestoreGuard, type RestoreGuard } from './restore-guard.js';
import { Sources, type Roots } from './sources.js';

export interface DecisionEvent extends RailDecision {
  seq: number;
  applied?: Applied;
}

export interface ObservationEvent {
  seq: number;
  timeMs: number;
  signals: Record<string, number>;
  knobs: Config;
  objective?: number;
}

/** Where decisions and observations go (the store, JSON lines); called from the loop. */
export interface ControlRecorder {
  start(info: { objective: string | undefined; direction: string | undefined; features: string[]; knobs: string[]; periodMs: number; startedAt: number }): void;
  decision(d: DecisionEvent): void;
  observation(o: ObservationEvent): void;
  /** Something worth a line that is not a decision: the dataplane stopped, a source failed. */
  note(timeMs: number, what: string): void;
  end(timeMs: number, reason: string): void;
}

export interface ControllerOptions {
  config: ControlConfig;
  policy: Policy;
  policyFile: string;
  roots: Roots;
  /** The host tuning snapshot for sysctl knobs. */
  stateFile: string;
  recorder: ControlRecorder;
  /** Stop after this long (ms); default: until stopped. */
  durationMs?: number;
  /** Ends the loop (SIGINT/SIGTERM). */
  stop?: AbortSignal;
  now?: () => number;
}

/** The objective and checks of a configuration against its policy; errors name the configuration's lines. */
export function checkAgainstPolicy(c: ControlConfig, p: Policy, policyFile: string): { objective: { signal: string; direction: 'maximize' | 'minimize' } | undefined } {
  const signals = new Set(c.signals.map((s) => s.name));
  for (const f of p.features) {
    if (!signals.has(f.name)) throw new InputError(`the policy (${policyFile}) decides on "${f.name}", which is not one of the signals (${[...signals].join(', ')})`, c.locs.signals);
  }
  const knobs = new Map(c.knobs.map((k) => [k.name, k]));
  for (const k of p.knobs) {
    if (!knobs.has(k.name)) throw new InputError(`the policy (${policyFile}) sets knob "${k.name}": say how it is applied (shm, sysctl or command)`, c.locs.knobs);
    if (k.type === 'string' && knobs.get(k.name)!.kind === 'shm') throw new InputError(`knob ${k.name}: a string knob has no shared-memory form`, knobs.get(k.name)!.loc);
  }
  for (const k of c.knobs) {
    if (!p.knobs.some((x) => x.name === k.name)) throw new InputError(`knob ${k.name} is not one of the policy's knobs (${p.knobs.map((x) => x.name).join(', ')})`, k.loc);
  }
  let objective: { signal: string; direction: 'maximize' | 'minimize' } | undefined;
  if (c.objective) objective = { signal: c.objective.signal, direction: c.objective.direction ?? p.objective.direction };
  else if (signals.has(p.objective.name)) objective = { signal: p.objective.name, direction: p.objective.direction };
  return { objective };
}

export async function runController(o: ControllerOptions): Promise<{ periods: number; decisions: number; overruns: number; reason: string }> {
  const c = o.config;
  const now = o.now ?? (() => Date.now());
  const { objective } = checkAgainstPolicy(c, o.policy, o.policyFile);
  let link: ControllerLink | undefined;
  if (c.region) {
    try {
      link = ControllerLink.open(c.region, c.access);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A region that is missing or not one is the configuration's (or the dataplane's) business, not a crash.
      if (code === 'ENOENT' || code === 'EACCES' || (e as Error).name === 'RegionFormatError')
        throw new InputError(`region: ${code === 'ENOENT' ? `${c.region} does not exist (is the dataplane running?)` : code === 'EACCES' ? `${c.region}: permission denied` : (e as Error).message}`, c.locs.region);
      throw e;
    }
  }
  let guard: RestoreGuard | undefined;
  let tuning: HostTuning | undefined;
  if (c.knobs.some((k) => k.kind === 'sysctl')) {
    // What a killed predecessor left is put back first; then the guard watches this process.
    await HostTuning.recover(o.stateFile);
    guard = await startRestoreGuard(o.stateFile);
    tuning = new HostTuning({ stateFile: o.stateFile, procRoot: o.roots.procRoot, sysfsRoot: o.roots.sysRoot });
  }
  const actuators = new Actuators({ knobs: c.knobs, link, tuning, procRoot: o.roots.procRoot });
  let beat: NodeJS.Timeout | undefined;
  let periods = 0;
  let decisions = 0;
  let overruns = 0;
  let reason = 'stopped';
  try {
    const initial = await actuators.start();
    const rails = new Rails({
      policy: o.policy,
      domains: Object.fromEntries(c.knobs.map((k) => [k.name, k.domain])),
      guard: c.guard,
      objective,
      initial,
    });
    const sources = new Sources(c.signals, o.roots, () => link);
    o.recorder.start({
      objective: objective?.signal,
      direction: objective?.direction,
      features: o.policy.features.map((f) => f.name),
      knobs: c.knobs.map((k) => k.name),
      periodMs: c.periodMs,
      startedAt: now(),
    });
    if (link) {
      // Our heartbeat on its own timer, a few times per the region's timeout, so a long period
      // (or a slow command source) never makes the dataplane fall back.
      const every = Math.max(1, Math.min(c.periodMs, Number(link.region.layout.controllerTimeoutNs / 4_000_000n)));
      link.beat();
      beat = setInterval(() => link.beat(), every);
    }
    const start = now();
    let seq = 0;
    let paused = false;
    let lastErrors = '';
    for (let k = 0; ; k++) {
      if (o.stop?.aborted) break;
      if (o.durationMs !== undefined && now() - start >= o.durationMs) {
        reason = 'duration reached';
        break;
      }
      const t = now();
      const { values, errors } = await sources.sample(t);
      periods++;
      const errText = Object.entries(errors)
        .filter(([, e]) => e !== 'first sample of a rate')
        .map(([n, e]) => `${n}: ${e}`)
        .join('; ');
      if (errText !== lastErrors) {
        if (errText) o.recorder.note(t, `signals not read: ${errText}`);
        lastErrors = errText;
      }
      const warmingUp = Object.values(errors).includes('first sample of a rate');
      // A dataplane whose heartbeat stopped is not tuned (docs/control-protocol.md).
      const alive = link ? link.dataplaneAlive() : true;
      if (alive !== !paused) {
        paused = !alive;
        o.recorder.note(t, paused ? "the dataplane's heartbeat stopped: not tuning" : "the dataplane's heartbeat is back: tuning");
      }
      if (!paused && !warmingUp) {
        const d = rails.step(t, values);
        if (d) {
          const event: DecisionEvent = { ...d, seq: seq++ };
          if (d.action !== 'hold') event.applied = await actuators.apply(d.to, d.from);
          decisions++;
          o.recorder.decision(event);
        }
      }
      const obj = objective ? values[objective.signal] : undefined;
      o.recorder.observation({ seq: k, timeMs: t, signals: values, knobs: rails.current, ...(obj !== undefined ? { objective: obj } : {}) });
      // The next period starts on the schedule, not after this one's work; periods a slow one
      // overran are skipped, not run back to back to catch up.
      const after = now();
      const next = Math.max(k + 1, Math.ceil((after - start) / c.periodMs));
      if (next > k + 1) overruns += next - k - 1;
      k = next - 1;
      const wait = start + next * c.periodMs - after;
      if (wait > 0) await sleep(wait, o.stop);
    }
  } catch (e) {
    reason = `failed: ${(e as Error).message}`;
    throw e;
  } finally {
    clearInterval(beat);
    if (overruns > 0) o.recorder.note(now(), `${overruns} periods skipped: reading the signals and deciding took longer than the period ${c.periodMs} ms`);
    try {
      await actuators.stop();
    } finally {
      await guard?.stop();
      link?.close();
      o.recorder.end(now(), reason);
    }
  }
  return { periods, decisions, overruns, reason };
}

function sleep(ms: number, stop: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });
}
