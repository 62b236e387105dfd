// `wayfinder control POLICY --config control.yaml`: runs a learned policy online (docs/control.md).
// Decisions and observations go to the results database of the work directory; each decision is
// also printed (a line of text, or a JSON line with --json), appended to --events FILE, and with
// --server sent to a daemon, which publishes it on its event stream.

import { appendFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { readControlConfig } from '../control/config.js';
import { runController, type ControlRecorder, type DecisionEvent, type ObservationEvent } from '../control/controller.js';
import { hostRootsFromEnv } from '../isolation/host.js';
import { readPolicy } from '../policy/policy-file.js';
import { Store, type ControlDecisionRow, type ControlObservationRow } from '../store/store.js';
import { fmtConfig } from '../util/format.js';
import { controlTuningPath, databasePath } from '../workdir.js';
import { UsageError } from './errors.js';
import { trapInterrupts } from './interrupt.js';
import { parseMs } from '../control/config.js';
import { DaemonPublisher } from './control-publisher.js';
import { driftText, sessionDrift } from '../policy/online.js';

export interface ControlCommandOptions {
  config?: string;
  workdir: string;
  duration?: string;
  json?: boolean;
  events?: string;
  procRoot?: string;
  sysRoot?: string;
  /** A daemon to report to (its event stream carries the decisions). */
  server?: string;
  tokenFile?: string;
}

/** NaN (a signal not read) as null, as JSON and the store write it. */
const plain = (r: Record<string, number>): Record<string, number | null> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));

/** Buffers rows and writes them in one transaction per second: a period of milliseconds must not wait for the disk. */
class StoreRecorder {
  private decisions: ControlDecisionRow[] = [];
  private observations: ControlObservationRow[] = [];
  private session = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly store: Store, private readonly files: { policy: string; config: string }) {}

  start(info: Parameters<ControlRecorder['start']>[0]): void {
    this.session = this.store.startControlSession({
      policyFile: this.files.policy,
      configFile: this.files.config,
      ...(info.objective ? { objective: info.objective } : {}),
      ...(info.direction ? { direction: info.direction as 'maximize' | 'minimize' } : {}),
      features: info.features,
      knobs: info.knobs,
      periodMs: info.periodMs,
      startedAt: info.startedAt,
    });
    this.timer = setInterval(() => this.flush(), 1000);
  }

  decision(d: DecisionEvent): void {
    this.decisions.push({ seq: d.seq, timeMs: d.timeMs, action: d.action, rule: d.rule, context: d.context, from: d.from, to: d.to, wanted: d.wanted, signals: plain(d.signals), ...(d.applied ? { applied: d.applied } : {}) });
  }

  observation(o: ObservationEvent): void {
    this.observations.push({ seq: o.seq, timeMs: o.timeMs, signals: plain(o.signals), knobs: o.knobs, ...(o.objective !== undefined ? { objective: o.objective } : {}) });
  }

  flush(): void {
    if (!this.decisions.length && !this.observations.length) return;
    this.store.recordControl(this.session, this.decisions.splice(0), this.observations.splice(0));
  }

  end(timeMs: number, reason: string): void {
    clearInterval(this.timer);
    this.flush();
    this.store.endControlSession(this.session, timeMs, reason);
  }

  get id(): number {
    return this.session;
  }
}

export async function controlCommand(policyFile: string, o: ControlCommandOptions): Promise<number> {
  if (!o.config) throw new UsageError('--config: name the controller configuration (signals, knobs, period, guard rails; docs/control.md)');
  let durationMs: number | undefined;
  if (o.duration !== undefined) {
    durationMs = parseMs(o.duration);
    if (durationMs === undefined || durationMs <= 0) throw new UsageError(`--duration: expected a duration such as 30s or 500ms, got "${o.duration}"`);
  }
  const policy = readPolicy(policyFile);
  const config = readControlConfig(o.config);
  const workdir = resolve(o.workdir);
  mkdirSync(workdir, { recursive: true });
  const env = hostRootsFromEnv();
  const roots = { procRoot: o.procRoot ?? env.procRoot ?? '/proc', sysRoot: o.sysRoot ?? env.sysfsRoot ?? '/sys' };
  // Registered before anything is opened or moved: a daemon that refuses is an error of the command line.
  const daemon = o.server !== undefined ? await DaemonPublisher.open({ server: o.server, ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}), policy: resolve(policyFile), config: resolve(o.config), warn: (m) => process.stderr.write(`wayfinder control: ${m}\n`) }) : undefined;
  const store = new Store(databasePath(workdir));
  const stored = new StoreRecorder(store, { policy: resolve(policyFile), config: resolve(o.config) });
  const line = (obj: Record<string, unknown>, text: string): void => {
    const json = JSON.stringify(obj);
    process.stdout.write(`${o.json ? json : text}\n`);
    if (o.events) appendFileSync(o.events, `${json}\n`);
    daemon?.send(obj);
  };
  const recorder: ControlRecorder = {
    start: (info) => {
      stored.start(info);
      line({ event: 'control-started', session: stored.id, ...(daemon ? { daemonSession: daemon.id } : {}), ...info }, `control session ${stored.id}${daemon ? ` (daemon: ${daemon.id})` : ''}: every ${info.periodMs} ms, features ${info.features.join(', ')}, knobs ${info.knobs.join(', ')}${info.objective ? `, objective ${info.objective} (${info.direction})` : ''}`);
    },
    decision: (d) => {
      stored.decision(d);
      const failed = Object.entries(d.applied?.failed ?? {});
      line(
        { event: 'control-decision', session: stored.id, ...d, signals: plain(d.signals) },
        `${new Date(d.timeMs).toISOString()} ${d.action} ${d.action === 'hold' ? fmtConfig(d.wanted) : `${fmtConfig(d.from)} -> ${fmtConfig(d.to)}`}: ${d.rule}${failed.length ? `; NOT APPLIED ${failed.map(([k, e]) => `${k}: ${e}`).join('; ')}` : ''}`,
      );
    },
    observation: (ob) => stored.observation(ob),
    note: (t, what) => line({ event: 'control-note', session: stored.id, timeMs: t, what }, `${new Date(t).toISOString()} ${what}`),
    end: (t, reason) => {
      checkDrift(true);
      stored.end(t, reason);
      line({ event: 'control-ended', session: stored.id, timeMs: t, reason }, `control session ${stored.id} ended: ${reason}`);
    },
  };
  // Drift: every 30 s and at the end, the session's observations against the policy's own data.
  const warned = new Set<string>();
  const checkDrift = (final: boolean): void => {
    stored.flush();
    const { drift, why } = sessionDrift(policy, policyFile, store, stored.id);
    if (why && final) line({ event: 'control-note', session: stored.id, timeMs: Date.now(), what: `no drift check: ${why}` }, `no drift check: ${why}`);
    for (const d of drift) {
      const k = JSON.stringify([d.point, d.params]);
      if (warned.has(k)) continue;
      warned.add(k);
      line({ event: 'control-drift', session: stored.id, timeMs: Date.now(), ...d }, `warning: ${driftText(d, policy.objective.name)}`);
    }
  };
  const driftTimer = setInterval(() => checkDrift(false), 30_000);
  driftTimer.unref();
  const stop = new AbortController();
  const interrupts = trapInterrupts(process.stderr, 'stopping the controller; knobs are put back', () => stop.abort());
  try {
    await runController({
      config,
      policy,
      policyFile,
      roots,
      stateFile: controlTuningPath(workdir),
      recorder,
      stop: stop.signal,
      ...(durationMs !== undefined ? { durationMs } : {}),
    });
  } finally {
    clearInterval(driftTimer);
    interrupts.release();
    store.close();
    await daemon?.close();
  }
  return 0;
}
