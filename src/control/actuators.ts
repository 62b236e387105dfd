// How a decision reaches the knobs (docs/control.md, "Running a controller"): the dataplane's
// shared-memory knob block (every knob at once, under a new epoch), sysctls (saved first in the host
// tuning's snapshot file, so they are put back on exit, by the restore guard after a SIGKILL, or by
// the next start), and a command (a reload, say) given the new values in its environment.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HostTuning } from '../isolation/host.js';
import type { Config, Value } from '../types.js';
import type { ControllerLink } from './controller-link.js';
import type { KnobSpec } from './config.js';

export interface Applied {
  /** Knob -> what happened ("epoch 7", "written", "command exited 0"). */
  done: Record<string, string>;
  /** Knob -> why it could not be applied. */
  failed: Record<string, string>;
}

export interface ActuatorOptions {
  knobs: readonly KnobSpec[];
  link: ControllerLink | undefined;
  /** The host tuning's snapshot file for the sysctls (absent: no sysctl knob). */
  tuning: HostTuning | undefined;
  /** Where /proc is (a stand-in tree in tests). */
  procRoot: string;
}

const asNumber = (v: Value): number => (typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));

export class Actuators {
  constructor(private readonly o: ActuatorOptions) {}

  /** Save the sysctls' values before anything is written; the values in force now, by knob. */
  async start(): Promise<Config> {
    const now: Config = {};
    const sysctls = this.o.knobs.filter((k) => k.kind === 'sysctl');
    if (sysctls.length) {
      const tuning = this.o.tuning!;
      const current: Record<string, string> = {};
      // apply() with the values found saves them and writes nothing.
      for (const k of sysctls) {
        try {
          current[k.sysctl] = (await readFile(join(this.o.procRoot, 'sys', ...k.sysctl.split('.')), 'utf8')).trim();
        } catch (e) {
          throw new Error(`knob ${k.name}: cannot read sysctl ${k.sysctl}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      const report = await tuning.apply({ sysctls: current });
      if (report.unavailable.length) throw new Error(report.unavailable.map((u) => `${u.setting}: ${u.reason}`).join('; '));
      for (const k of sysctls) now[k.name] = typed(current[k.sysctl]!);
    }
    const link = this.o.link;
    if (link) {
      const { knobs, defaults } = link.region.layout;
      const block = link.region.knobs();
      const values = block && block.count > 0n ? block.values : defaults;
      for (const k of this.o.knobs) if (k.kind === 'shm') now[k.name] = values[knobs.indexOf(k.knob)]!;
    }
    return now;
  }

  async apply(to: Config, from: Config): Promise<Applied> {
    const done: Record<string, string> = {};
    const failed: Record<string, string> = {};
    const changed = this.o.knobs.filter((k) => to[k.name] !== undefined && to[k.name] !== from[k.name]);
    const shm = this.o.knobs.filter((k) => k.kind === 'shm');
    if (shm.length && changed.some((k) => k.kind === 'shm')) {
      const link = this.o.link!;
      const { knobs, defaults } = link.region.layout;
      const block = link.region.knobs();
      // Every knob of the region in one decision: those this controller does not set keep theirs.
      const values: Record<string, number> = {};
      knobs.forEach((n, i) => (values[n] = block && block.count > 0n ? block.values[i]! : defaults[i]!));
      for (const k of shm) if (to[k.name] !== undefined) values[k.knob] = asNumber(to[k.name]!);
      const epoch = link.tune(values);
      for (const k of shm) {
        if (epoch === null) failed[k.name] = "the dataplane's heartbeat has stopped: nothing written";
        else done[k.name] = `epoch ${epoch}`;
      }
    }
    for (const k of changed) {
      try {
        if (k.kind === 'sysctl') {
          await this.o.tuning!.write(`sysctl:${k.sysctl}`, String(asNumberOrText(to[k.name]!)));
          done[k.name] = `${k.sysctl}=${String(to[k.name])}`;
        } else if (k.kind === 'command') {
          done[k.name] = await runCommand(k.run, k.timeoutMs, { ...env(to), WAYFINDER_KNOB: k.name, WAYFINDER_VALUE: String(to[k.name]) });
        }
      } catch (e) {
        failed[k.name] = (e as Error).message;
      }
    }
    return { done, failed };
  }

  /** Put the sysctls back (the values found at start). */
  async stop(): Promise<void> {
    await this.o.tuning?.restore();
  }
}

function asNumberOrText(v: Value): Value {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

function typed(text: string): Value {
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? n : text;
}

function env(c: Config): Record<string, string> {
  return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
}

function runCommand(run: string, timeoutMs: number, extra: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', run], { timeout: timeoutMs, env: { ...process.env, ...extra } }, (err, _out, stderr) => {
      if (err) reject(new Error(`command "${run}": ${err.killed ? `killed after ${timeoutMs} ms` : `exited ${err.code}: ${stderr.trim().split('\n').pop() ?? ''}`}`));
      else resolve('command exited 0');
    });
  });
}
