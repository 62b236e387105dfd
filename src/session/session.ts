// A measurement session: everything around a measurement, the same for every front door
// (`wayfinder run`, `regress`, the daemon and `wayfinder worker`).
//
// Set-up, in this order:
//   1. what this user may do (cpuset cgroups, resctrl): less than everything is said in one line
//      and recorded with each experiment (host facts `confinement`); jobs are confined with what
//      is allowed (CPU affinity instead of cpusets), never failed for it;
//   2. an explicit --docker-socket must answer; an experiment known at open (run, regress) has its
//      container jobs and host settings checked (a setting this user may not write stops the
//      session with one line, exit status 2);
//   3. the work directory: lock, store, queue, and this host's worker, whose start puts back the
//      host settings a killed predecessor left applied (the state file in the work directory);
//   4. per experiment (begin): the experiment's host settings held on this host's worker for the
//      whole experiment when that worker serves its pool (otherwise each worker applies them before
//      the jobs it runs: see isolation/host-lease.ts), host facts with what was tuned and what the
//      host lacks, and the Study.
// Teardown, in reverse: the experiment's hold is released (settings put back unless jobs still
// hold them), then the worker stops (ending running jobs when interrupted) and puts back whatever
// is still applied, then the queue, the store and the lock.

import { HostTuning, hostRootsFromEnv } from '../isolation/host.js';
import type { HostHold } from '../isolation/host-lease.js';
import { isolationOptionsFromEnv } from '../isolation/job-isolation.js';
import { hostFacts, type HostFacts } from '../study/host-facts.js';
import { experimentId } from '../study/identity.js';
import { Study, type StudyOptions } from '../study/study.js';
import { Workspace, type WorkspaceOptions } from '../study/workspace.js';
import type { Experiment } from '../types.js';
import { hostTuningPath, resolveDir } from '../workdir.js';
import { checkEngine, checkExperiment, checkHostAccess, type Confinement, type HostAccess } from './preflight.js';

export interface SessionOptions extends Omit<WorkspaceOptions, 'prepare' | 'isolation'> {
  /** Known at open (run, regress): checked before the work directory is opened. */
  experiment?: Experiment;
  /** Where lines for the person go (the limits of this user, settings the host lacks); default: nowhere. */
  say?: (line: string) => void;
  /** Isolation roots for tests and unusual hosts (default: WAYFINDER_CGROUP_ROOT / WAYFINDER_RESCTRL_ROOT). */
  isolation?: WorkspaceOptions['isolation'];
  /** Host tuning roots (default: WAYFINDER_SYSFS_ROOT / WAYFINDER_PROCFS_ROOT). */
  hostRoots?: { sysfsRoot?: string; procRoot?: string };
  /** How long a job's host settings stay applied after it on this host's worker (ms). */
  hostLingerMs?: number;
}

/** What is recorded about the host with every experiment. */
export interface HostRecord extends HostFacts {
  tuning: { changed: string[]; unavailable: string[] };
  confinement: Confinement;
}

/** One experiment's measurement in a session: its study, and what its host was. */
export interface Measurement {
  study: Study;
  /** This host's record, when its worker runs the experiment (a daemon's remote workers record their host with each run). */
  host: HostRecord | undefined;
  tuning: { tuned: string[]; unavailable: string[] };
  /** Release the experiment's host settings (put back unless jobs on this host still hold them). */
  end(): Promise<void>;
}

export class MeasurementSession {
  private constructor(
    readonly ws: Workspace,
    readonly access: HostAccess,
    private readonly o: SessionOptions,
    private readonly roots: { sysfsRoot?: string; procRoot?: string },
  ) {}

  /** The host's facts do not change while a session is open: read once. */
  private facts: Promise<HostFacts> | undefined;

  static async open(o: SessionOptions): Promise<MeasurementSession> {
    const access = checkHostAccess(o.isolation ?? isolationOptionsFromEnv());
    const roots = o.hostRoots ?? hostRootsFromEnv();
    if (o.dockerSocket) await checkEngine(o.dockerSocket);
    if (o.experiment) await checkExperiment(o.experiment, { roots, ...(o.dockerSocket ? { dockerSocket: o.dockerSocket } : {}) });
    // Said once the session can go ahead (a refusal above is the only line), where jobs run.
    if (access.line && o.worker !== false) o.say?.(access.line);
    const { experiment: _e, say: _s, hostRoots: _r, hostLingerMs, ...ws } = o;
    const workspace = await Workspace.open({
      ...ws,
      ...(o.say ? { notice: o.say } : {}),
      isolation: access.isolation,
      hostRoots: roots,
      ...(hostLingerMs !== undefined ? { hostLingerMs } : {}),
    });
    // Without a worker here nothing else would look at the state file a killed worker of this directory left.
    const recovered = workspace.worker ? workspace.worker.recoveredHostSettings : await HostTuning.recover(hostTuningPath(workspace.workdir)).catch(async (e: unknown) => {
      await workspace.close();
      throw e;
    });
    if (recovered) {
      const line = 'host settings a killed earlier run left applied were put back';
      o.say?.(`wayfinder: ${line}`);
      workspace.log.warn(line);
    }
    return new MeasurementSession(workspace, access, o, roots);
  }

  /**
   * Start measuring `exp`: its host settings held on this host's worker (when it serves the
   * experiment's pool) before any of its jobs, host facts recorded, and its Study, not yet run.
   */
  async begin(exp: Experiment, opts: Omit<StudyOptions, 'host'> = {}): Promise<Measurement> {
    const id = opts.id ?? experimentId(exp);
    const worker = this.ws.worker && this.ws.worker.pool === exp.pool ? this.ws.worker : undefined;
    let hold: HostHold | undefined;
    if (worker) {
      if (exp !== this.o.experiment) await checkExperiment(exp, { roots: this.roots, ...(this.o.dockerSocket ? { dockerSocket: this.o.dockerSocket } : {}) });
      hold = await worker.hostSettings.hold(exp.host, id);
    }
    try {
      const tuning = { tuned: hold?.tuned ?? [], unavailable: hold?.unavailable ?? [] };
      for (const u of tuning.unavailable) this.o.say?.(`wayfinder: ${u}`);
      let host: HostRecord | undefined;
      if (worker) {
        this.facts ??= hostFacts();
        host = { ...(await this.facts), tuning: { changed: tuning.tuned, unavailable: tuning.unavailable }, confinement: this.access.confinement };
      }
      // The one place a Study is made: every front door measures through here.
      const study = new Study(exp, this.ws.store, this.ws.transport, { resolveDir: resolveDir(this.ws.workdir, id), ...opts, id, ...(host ? { host } : {}) });
      return { study, host, tuning, end: async () => hold?.release() };
    } catch (e) {
      await hold?.release();
      throw e;
    }
  }

  /** Stop this host's worker (ending running jobs when interrupted), put the host back, close the work directory. */
  async close(o: { interrupted?: boolean } = {}): Promise<void> {
    await this.ws.close({ force: o.interrupted ?? false });
  }
}
