// A directory of files naming the process groups of running jobs, so that a wayfinder started
// after a crash or a kill can find the jobs its predecessor left running and end them.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signalGroup } from './signal.js';

interface Entry {
  pgid: number;
  /** The leader's start time in clock ticks since boot (field 22 of /proc/PID/stat): guards against pid reuse. */
  start: string;
}

export class ProcessRegistry {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  add(key: string, pgid: number): void {
    const entry: Entry = { pgid, start: startTime(pgid) ?? '' };
    writeFileSync(join(this.dir, safe(key)), JSON.stringify(entry));
  }

  remove(key: string): void {
    rmSync(join(this.dir, safe(key)), { force: true });
  }

  /** Kill every process group a previous owner of this directory recorded and forget them. */
  reap(): number[] {
    const reaped: number[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      try {
        const entry = JSON.parse(readFileSync(file, 'utf8')) as Entry;
        // Only the same process (same start time) is ours; a reused pid belongs to someone else.
        if (entry.start !== '' && startTime(entry.pgid) === entry.start) {
          signalGroup(entry.pgid, 'SIGKILL');
          reaped.push(entry.pgid);
        }
      } catch {
        // A half-written entry: its process was never started or is already gone.
      }
      rmSync(file, { force: true });
    }
    return reaped;
  }
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it start past the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

function safe(key: string): string {
  return key.replace(/[^A-Za-z0-9._-]/g, '_');
}
