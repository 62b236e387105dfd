// Enforcement through the real run path: `wayfinder run` puts every job in a cpuset cgroup of its
// own (cgroup v1 on this machine) with its grant's CPUs, and removes it afterwards, also when
// wayfinder was SIGKILLed while the job ran and a stray process of the job was still in the group.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { cgroupPrefix } from '../../src/isolation/job-isolation.js';
import { CLI, tempDir, waitFor, wayfinder, writeFile } from '../helpers.js';

const CPUSET = '/sys/fs/cgroup/cpuset';
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const alive = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

describe('jobs run confined to their grant', () => {
  it("a job's Cpus_allowed_list and cpuset cgroup are its grant's, and the group is gone afterwards", async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const seen = join(dir, 'seen.log');
    // Each job records what the kernel says about its own process: CPUs allowed, cpuset cgroup, and
    // the grant it was told; and the sessions of every process in its group (a job is a session).
    const probe = `sh ${writeFile(
      dir,
      'probe.sh',
      `cg=$(grep -E ':cpuset:' /proc/self/cgroup | cut -d: -f3)
sids=$(for p in $(cat /sys/fs/cgroup/cpuset$cg/cgroup.procs); do ps -o sid= -p $p; done | tr -d ' ' | sort -u | tr '\\n' ' ')
echo "$WAYFINDER_CORES|$(grep Cpus_allowed_list /proc/self/status | cut -f2)|$cg|$(cat /sys/fs/cgroup/cpuset$cg/cpuset.mems)|$(cat /sys/fs/cgroup/cpuset$cg/cpuset.cpus)|$sids|$(ps -o sid= -p $$ | tr -d ' ')" >> ${seen}
`,
    )}`;
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: confined
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1, when: test }
  - { name: B, type: string, only: [x, y], default: x }
build:
  run: '${probe}'
  cores: 1
test:
  run: '${probe}; sleep 0.2; echo "v=$A"'
  cores: 1
  isolation: core
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { parallel: 2 }
`,
    );
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);

    const seenLines = lines(seen);
    // 2 builds, 6 configurations x 2 iterations.
    expect(seenLines).toHaveLength(2 + 12);
    const prefix = cgroupPrefix(workdir);
    for (const l of seenLines) {
      const [cores, allowed, cgroup, mems, groupCpus, sids, ownSid] = l.split('|') as [string, string, string, string, string, string, string];
      expect(cores).toMatch(/^\d+(,\d+)*$/);
      // The kernel's own list (ranges) equals the grant.
      expect(allowed.split(',').flatMap(expand).join(',')).toBe(cores);
      expect(cgroup).toMatch(new RegExp(`^/${prefix}/[A-Za-z0-9_.-]+$`));
      expect(mems).toBe('0');
      // The group was set to this job's grant and held this job alone (groups are reused, never shared).
      expect(groupCpus.split(',').flatMap(expand).join(',')).toBe(cores);
      expect(sids.trim()).toBe(ownSid);
    }
    expect(existsSync(join(CPUSET, prefix))).toBe(false);

    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const stored = db.prepare('SELECT config_id, iteration, cpus, isolation, l3_mask, mb_percent, cpu_isolation_only FROM runs').all() as Record<string, unknown>[];
    db.close();
    expect(stored).toHaveLength(12);
    for (const row of stored) {
      expect(row).toMatchObject({ isolation: 'core', l3_mask: null, mb_percent: null, cpu_isolation_only: 1 });
      expect(row.cpus).toMatch(/^[01]$/);
    }
    // The placement of every run is in the results, with the flag that says no cache partition was had.
    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    expect(res.status, res.stderr).toBe(0);
    const configs = (JSON.parse(res.stdout) as { configurations: { config_id: string; runs: { iteration: number; placement: Record<string, unknown> }[] }[] }).configurations;
    expect(configs).toHaveLength(6);
    for (const c of configs) {
      expect(c.runs.map((r) => r.iteration)).toEqual([0, 1]);
      for (const run of c.runs) {
        const row = stored.find((s) => s.config_id === c.config_id && s.iteration === run.iteration) as Record<string, unknown>;
        expect(run.placement).toMatchObject({ cpus: [Number(row.cpus)], isolation: 'core', cgroup: 'v1', cpu_isolation_only: true, l3_mask: null, mb_percent: null });
        expect(run.placement.host).toEqual(expect.any(String));
        // The grant the job reported seeing is the one stored.
        expect(seenLines.some((l) => l.startsWith(`${row.cpus as string}|`))).toBe(true);
      }
    }
  });

  it('after a SIGKILL of wayfinder, the next start kills what was left in the job cgroup and removes the group', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const marker = join(dir, 'first-done');
    const strayPid = join(dir, 'stray.pid');
    // First time: leave a process that escapes the job's process group (setsid) but not its cgroup, then hang.
    const file = writeFile(
      dir,
      'exp.yaml',
      `
name: killed
params:
  - { name: A, type: integer, only: [1], default: 1, when: test }
test:
  run: 'if [ -e ${marker} ]; then echo "v=$A"; exit 0; fi; touch ${marker}; setsid sleep 300 & echo $! > ${strayPid}; sleep 300'
  cores: 1
  isolation: core
  timeout: 600
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`,
    );
    const workdir = join(dir, '.wayfinder');
    const prefix = cgroupPrefix(workdir);
    const child = spawn(process.execPath, [CLI, 'run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { stdio: 'ignore' });
    await waitFor(() => lines(strayPid).length > 0, 60_000, 'the stray process');
    const stray = Number(lines(strayPid)[0]);
    const groups = readdirSync(join(CPUSET, prefix)).filter((n) => !n.startsWith('cgroup.') && !n.startsWith('cpuset.') && n !== 'tasks' && n !== 'notify_on_release');
    expect(groups).toHaveLength(1);
    const group = join(CPUSET, prefix, groups[0] as string);
    expect(readFileSync(join(group, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(stray));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // Nothing of ours runs any more to clean up: the group and its stray process are still there.
    expect(alive(stray)).toBe(true);
    expect(existsSync(group)).toBe(true);

    const again = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--quiet'], { timeoutMs: 120_000 });
    expect(again.status, again.stderr).toBe(0);
    await waitFor(() => !alive(stray), 5_000, 'the stray process to be killed');
    expect(existsSync(join(CPUSET, prefix))).toBe(false);
  });
});

function expand(part: string): number[] {
  const [a, b] = part.split('-').map(Number) as [number, number | undefined];
  if (b === undefined) return [a];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}
