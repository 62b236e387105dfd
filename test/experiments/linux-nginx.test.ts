import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { netnsPrefix, listNetns } from '../../src/isolation/netns.js';
import { ROOT, requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

/** NGINX processes started for this work directory (other experiments may run on the machine). */
function nginxProcesses(dir: string): string[] {
  try {
    return execFileSync('pgrep', ['-a', 'nginx'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(dir));
  } catch {
    return [];
  }
}

describe('experiments/linux-nginx-quick.yaml on this machine', () => {
  it('measures real NGINX under wrk in network namespaces and leaves nothing behind', async () => {
    for (const [tool, pkg] of [['nginx', 'nginx-light'], ['wrk', 'wrk'], ['ip', 'iproute2'], ['taskset', 'util-linux']]) requireTool(tool as string, pkg);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    // The shipped experiment, shortened: two configurations, one second of load each.
    const exp = parse(readFileSync(join(ROOT, 'experiments', 'linux-nginx-quick.yaml'), 'utf8')) as Record<string, any>;
    exp.build.script = join(ROOT, 'scripts', 'build', 'nginx-conf.sh');
    exp.test.script = join(ROOT, 'scripts', 'test', 'nginx-wrk.sh');
    exp.test.warmup = 0;
    exp.test.iterations = 2;
    exp.test.env.WRK_DURATION = '1';
    exp.exploration.budget = 3;
    const file = writeFile(dir, 'nginx.yaml', stringify(exp));
    const workdir = join(dir, '.wayfinder');

    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { timeoutMs: 180_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { done: number; failed: number; best: { objective: number }; default: { objective: number } };
    expect(out.failed).toBe(0);
    expect(out.done).toBe(3);
    expect(out.best.objective).toBeGreaterThan(100);
    expect(out.default.objective).toBeGreaterThan(100);

    const res = await wayfinder(['results', '--workdir', workdir, '--format', 'json']);
    const rows = (JSON.parse(res.stdout) as { configurations: Record<string, number | string>[] }).configurations;
    for (const row of rows) {
      expect(row['wrk.requests_per_sec.n']).toBe(2);
      expect(row['wrk.latency_p99_ms']).toBeGreaterThan(0);
      expect(row['wrk.latency_p99_ms']).toBeGreaterThanOrEqual(row['wrk.latency_p50_ms'] as number);
      expect(row['wrk.socket_errors_connect']).toBe(0);
    }
    // The access log was on for the default: the script recorded, then removed it.
    expect(listNetns().filter((n) => n.startsWith(`${netnsPrefix(workdir)}-`))).toEqual([]);
    expect(nginxProcesses(dir)).toEqual([]);
  });
});
