// `wayfinder run` as a user without root (nobody, through setpriv): it measures with what it may
// do (CPU affinity instead of cpuset cgroups, said once at start and recorded), or says in one line
// at start why it cannot and exits 2. Never a configuration failed for the host's permissions.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, requireTool, tempDir, writeFile, type CliResult } from '../helpers.js';
import { standIn, value } from './stand-in.js';

const NOBODY = 65534;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** A folder nobody may read, with a work directory it may write. */
function setup(): { dir: string; workdir: string } {
  requireTool('setpriv', 'util-linux');
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  chmodSync(dir, 0o755);
  const workdir = join(dir, 'wd');
  mkdirSync(workdir);
  chownSync(workdir, NOBODY, NOBODY);
  return { dir, workdir };
}

function asNobody(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, CLI, ...args], {
      env: { ...process.env, HOME: '/nonexistent', ...env },
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`wayfinder ${args.join(' ')} as nobody did not finish\n${stderr}`));
    }, 120_000);
    child.on('error', reject);
    child.on('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const PLAIN = `
name: unprivileged
params:
  - { name: A, type: integer, only: [1, 2, 3], default: 1, when: test }
test:
  run: 'echo "v=$A"'
  iterations: 2
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
`;

describe('wayfinder run without root', () => {
  it('measures with CPU affinity instead of cpusets, said once at start and recorded with the results', async () => {
    const { dir, workdir } = setup();
    const file = writeFile(dir, 'exp.yaml', PLAIN);
    const r = await asNobody(['run', '--no-confirm', file, '--workdir', workdir]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^wayfinder: running as uid 65534, not root: CPUs confined by affinity only \(cannot make cpuset cgroups in \S+\)/);
    expect(lines.filter((l) => l.includes('not root'))).toHaveLength(1);
    expect(r.stdout).toContain('3 configurations measured: 3 ok, 0 failed.');

    const db = new Database(join(workdir, 'wayfinder.db'), { readonly: true });
    const host = JSON.parse((db.prepare('SELECT host_json FROM experiments').get() as { host_json: string }).host_json) as {
      confinement: { uid: number; cpus: string; limits: string[] };
    };
    const runs = db.prepare('SELECT status, failure, placement_json FROM runs').all() as { status: string; failure: string | null; placement_json: string }[];
    db.close();
    expect(host.confinement).toEqual(expect.objectContaining({ uid: NOBODY, cpus: 'affinity' }));
    expect(host.confinement.limits[0]).toMatch(/^CPUs confined by affinity only/);
    expect(runs).toHaveLength(6);
    for (const run of runs) {
      expect(run.status).toBe('ok');
      const p = JSON.parse(run.placement_json) as { cgroup: string; cpus: number[]; notes?: string[] };
      expect(p.cgroup).toBe('none');
      expect(p.cpus.length).toBeGreaterThan(0);
      expect(p.notes).toEqual(expect.arrayContaining([expect.stringMatching(/affinity only/)]));
    }
  });

  it('host settings it may not write: one line at start, exit 2, nothing measured or changed', async () => {
    const { dir, workdir } = setup();
    const h = standIn(dir); // files of root, mode 644
    const file = writeFile(dir, 'exp.yaml', `${PLAIN}host:\n  aslr: false\n  sysctls: { vm.swappiness: 10 }\n`);
    const r = await asNobody(['run', '--no-confirm', file, '--workdir', workdir], h.env);
    expect(r.status).toBe(2);
    const said = r.stderr.split('\n').filter(Boolean);
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/may not change aslr \(.*randomize_va_space\), sysctl:vm\.swappiness \(.*swappiness\); run as root, or remove them from the experiment's host:/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(workdir, 'wayfinder.db'))).toBe(false);
    expect(value(h.aslr)).toBe('2');
    expect(value(h.swappiness)).toBe('60');
  });

  it('container jobs with an engine it may not reach: one line at start, exit 2', async () => {
    const { dir, workdir } = setup();
    const file = writeFile(dir, 'exp.yaml', PLAIN.replace("  run: 'echo", "  image: busybox:latest\n  run: 'echo"));
    const r = await asNobody(['run', '--no-confirm', file, '--workdir', workdir, '--docker-socket', '/var/run/docker.sock']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^wayfinder: cannot reach the Docker engine at .*docker\.sock \(EACCES\)[^\n]*\n$/);
    expect(existsSync(join(workdir, 'wayfinder.db'))).toBe(false);
  });
});
