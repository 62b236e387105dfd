// Where everything lives in a work directory. Every module asks here, so the layout is one decision.

import { join } from 'node:path';

/** The results database (SQLite, WAL). */
export function databasePath(workdir: string): string {
  return join(workdir, 'wayfinder.db');
}

/** The pid of the wayfinder that holds the work directory. */
export function lockPath(workdir: string): string {
  return join(workdir, 'lock');
}

/** The embedded redis-server's socket, append-only file, pid and log. */
export function redisDir(workdir: string): string {
  return join(workdir, 'redis');
}

/** What host tuning changed, so that it is put back after a crash. */
export function hostTuningPath(workdir: string): string {
  return join(workdir, 'host-tuning.json');
}

/** The sysctls `wayfinder control` changes, as found before, so that they are put back after a crash. */
export function controlTuningPath(workdir: string): string {
  return join(workdir, 'control-tuning.json');
}

/** State kept across restarts by isolation. */
export function stateDir(workdir: string): string {
  return join(workdir, 'state');
}

/** The resctrl default group's schemata as found, put back when wayfinder is done with resctrl. */
export function resctrlDefaultStatePath(workdir: string): string {
  return join(stateDir(workdir), 'resctrl-default.schemata');
}

/** The queue worker ids a process used, so its successor can release their locks. */
export function queueOwnersPath(workdir: string): string {
  return join(workdir, 'queue-owners.json');
}

/** Finished builds, by cache key, that later experiments may reuse. */
export function buildCacheDir(workdir: string, key?: string): string {
  return key === undefined ? join(workdir, 'build-cache') : join(workdir, 'build-cache', key);
}

export function ccacheDir(workdir: string): string {
  return join(workdir, 'ccache');
}

/** Source archives builds download (musl, lwIP, nginx tarballs...), fetched once per work directory. */
export function archivesDir(workdir: string): string {
  return join(workdir, 'archives');
}

export function reportsDir(workdir: string, experimentId: string): string {
  return join(workdir, 'reports', experimentId);
}

export function experimentDir(workdir: string, experimentId: string): string {
  return join(workdir, 'experiments', experimentId);
}

/** Where each configuration's Kconfig symbols are resolved before it is built (one folder per distinct request). */
export function resolveDir(workdir: string, experimentId: string): string {
  return join(experimentDir(workdir, experimentId), 'resolve');
}

export function buildDir(workdir: string, experimentId: string, buildId: string): string {
  return join(experimentDir(workdir, experimentId), 'builds', buildId);
}

export function configDir(workdir: string, experimentId: string, configId: string): string {
  return join(experimentDir(workdir, experimentId), 'configs', configId);
}

/** The folder of one test run; warm-ups get their own so they never mix with measured output. */
export function runDir(workdir: string, experimentId: string, configId: string, test: string, iteration: number, warmup: boolean): string {
  return join(configDir(workdir, experimentId, configId), test, warmup ? `warmup-${iteration}` : `${iteration}`);
}

export function registryDir(workdir: string): string {
  return join(workdir, 'running');
}

export function logsDir(workdir: string): string {
  return join(workdir, 'logs');
}

/** The structured log (pino, JSON lines). */
export function logPath(workdir: string): string {
  return join(logsDir(workdir), 'wayfinder.log');
}

/** The daemon's events of one experiment, one JSON line each: replayed to event streams and `logs`. */
export function eventsPath(workdir: string, experimentId: string): string {
  return join(experimentDir(workdir, experimentId), 'events.jsonl');
}

/** The daemon's API socket (unix domain), unless --socket names another. */
export function daemonSocketPath(workdir: string): string {
  return join(workdir, 'daemon.sock');
}

/** A dynamic experiment's raw files (load generator windows, dataplane traces, decisions), per invocation. */
export function dynamicDir(workdir: string, name: string, stamp: string): string {
  return join(workdir, 'dynamic', name, stamp);
}
