// An experiment submitted to a real daemon ends as `wayfinder run` ends: the best and the default
// measured again, interleaved, the verdict stored, sent on the event stream and printed by
// `submit --wait` in place of the exploration's provisional ratio; the default measured again now
// and then during the exploration. --confirm N, --no-confirm and --drift-every reach it too.

import { describe, expect, it } from 'vitest';
import { wayfinder, writeFile } from '../helpers.js';
import { daemonPerFile, query } from './helpers.js';

/** B=1 multiplies v by 1.1; C changes nothing; every run adds up to 3% noise (from /dev/urandom: sh has no $RANDOM), rarely a tie. */
const EXP = (name: string): string => `
name: ${name}
params:
  - { name: B, type: integer, only: [0, 1], default: 0, when: test }
  - { name: C, type: integer, only: [0, 1, 2], default: 0, when: test }
test:
  run: 'echo "v=$(( (B == 1 ? 110000 : 100000) + $(od -An -N2 -tu2 /dev/urandom) % 3000 ))"'
  iterations: 3
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`;

// The default is measured again after every two configurations, without the five minutes between
// checks that keep short runs from spending time on it.
const shared = daemonPerFile('wf-daemon-confirm-', [], { WAYFINDER_DRIFT_MIN_GAP_MS: '0' });
const workdir = shared.workdir;

interface Event {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

const server = (): string[] => ['--server', `unix://${shared.daemon.socket}`];

/** The experiment's event stream (server-sent events) from its first event, read until it is done. */
async function streamed(id: string): Promise<Event[]> {
  const ctl = new AbortController();
  const res = await fetch(`${shared.daemon.url}/experiments/${id}/events?since=0`, { headers: { accept: 'text/event-stream' }, signal: ctl.signal });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + 30_000;
  while (!/"state":"done"/.test(text) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  ctl.abort();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as Event);
}

describe('the daemon confirms and watches drift as run does', () => {
  it('submit --wait: drift checks during the exploration, then the confirmed verdict instead of the provisional ratio', async () => {
    const file = writeFile(shared.dir, 'ab.yaml', EXP('daemon-ab'));
    const sub = await wayfinder(['submit', file, '--wait', '--drift-every', '2', ...server()], { timeoutMs: 180_000 });
    expect(sub.status, sub.stderr).toBe(0);
    const id = /submitted (daemon-ab-[0-9a-f]{10})/.exec(sub.stderr)?.[1] as string;
    expect(id).toBeDefined();
    // Progress counts the exploration's six configurations only, then the confirmation's pairs as run prints them.
    expect(sub.stderr.match(/^\[\d\/6\] /gm)).toHaveLength(6);
    expect(sub.stderr).toMatch(/Confirming: the best \(\w{12}\) and the default measured again, interleaved, 5 to 15 pairs/);
    expect(sub.stderr).toMatch(/^ {2}pair 1\/15: best 11\d,\d{3} · default 10\d,\d{3} \(v\)$/m);
    expect(sub.stdout).toMatch(/6 configurations measured: 6 ok, 0 failed/);
    expect(sub.stdout).toMatch(/Confirmed: the best is 1\.\d\d× \(95% CI 1\.\d\d–1\.\d\d, p[=<]0\.\d+\) higher v than the default \((\d+) interleaved runs each of v\)\./);
    expect(sub.stdout).not.toMatch(/provisional/);

    // Stored: the verdict, its interleaved runs, and the drift checks' runs of the default.
    const [verdict] = query<{ best_config_id: string; default_config_id: string; significant: number; n: number; ratio: number }>(
      workdir(),
      'SELECT best_config_id, default_config_id, significant, n, ratio FROM comparisons WHERE experiment_id = ?',
      id,
    );
    expect(verdict).toMatchObject({ significant: 1 });
    const n = Number(/\((\d+) interleaved runs each/.exec(sub.stdout)?.[1]);
    expect(verdict!.n).toBe(n);
    const extra = query<{ config_id: string; extra: string }>(workdir(), 'SELECT config_id, extra FROM runs WHERE experiment_id = ? AND extra IS NOT NULL ORDER BY started_at, rowid', id);
    const confirmation = extra.filter((r) => r.extra === 'confirmation').map((r) => r.config_id);
    expect(confirmation).toHaveLength(2 * n);
    // Interleaved: best, default, default, best, ...
    for (let i = 1; i < confirmation.length; i += 2) expect(confirmation[i], `run ${i}`).not.toBe(confirmation[i - 1]);
    const drift = extra.filter((r) => r.extra === 'drift-check');
    expect(drift.length).toBeGreaterThanOrEqual(1);
    expect(drift.every((r) => r.config_id === verdict!.default_config_id)).toBe(true);

    // On the event stream (and in the log): the drift checks, the confirmation's start, each pair, and the verdict.
    const logs = await wayfinder(['logs', id, ...server()]);
    expect(logs.stdout).toMatch(/default measured again: v = 10\d,\d{3} \(was 10\d,\d{3}\)/);
    expect(logs.stdout).toMatch(/confirming: best \w{8} and default \w{8} measured again, interleaved, 5 to 15 pairs/);
    expect(logs.stdout.match(/ pair \d+\/15: best 11\d,\d{3} · default 10\d,\d{3} \(v\)/g)).toHaveLength(n);
    expect(logs.stdout).toMatch(/ Confirmed: the best is 1\.\d\d× \(95% CI/);
    const sent = await streamed(id);
    const comparison = sent.find((e) => e.type === 'comparison');
    expect(comparison?.data.comparison).toMatchObject({ significant: true, n, ratio: verdict!.ratio });
    expect(sent.filter((e) => e.type === 'confirm-pair')).toHaveLength(n);
    expect(sent.filter((e) => e.type === 'drift')).toHaveLength(drift.length);
    // The verdict comes before the experiment is done.
    expect(sent.findIndex((e) => e.type === 'comparison')).toBeLessThan(sent.findIndex((e) => e.type === 'state' && e.data.state === 'done'));

    // status and results say the same.
    const list = await wayfinder(['status', ...server()]);
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+done\\s+.*1\\.\\d\\d× confirmed \\(p[=<]0\\.\\d+\\)`));
    const table = await wayfinder(['results', id, ...server()]);
    expect(table.stdout.replace(/\n\s*/g, ' ')).toMatch(/Confirmed: the best is 1\.\d\d× \(95% CI/);
  }, 240_000);

  it('--confirm 3 caps the pairs (three against three cannot decide at 95%); --no-confirm leaves the ratio provisional', async () => {
    const capped = await wayfinder(['submit', writeFile(shared.dir, 'capped.yaml', EXP('daemon-capped')), '--wait', '--confirm', '3', ...server()], { timeoutMs: 180_000 });
    expect(capped.status, capped.stderr).toBe(0);
    expect(capped.stderr).toMatch(/3 to 3 pairs/);
    expect(capped.stderr).not.toMatch(/pair 4\//);
    expect(capped.stdout).toMatch(/Not confirmed: no significant difference from the default \(1\.\d\d×, 95% CI [\d.]+–[\d.]+, p=0\.\d+, 3 interleaved runs each of v;/);
    const cappedId = /submitted (daemon-capped-[0-9a-f]{10})/.exec(capped.stderr)?.[1] as string;
    expect(query<{ n: number; significant: number }>(workdir(), 'SELECT n, significant FROM comparisons WHERE experiment_id = ?', cappedId)).toEqual([{ n: 3, significant: 0 }]);

    const none = await wayfinder(['submit', writeFile(shared.dir, 'none.yaml', EXP('daemon-none')), '--wait', '--no-confirm', ...server()], { timeoutMs: 180_000 });
    expect(none.status, none.stderr).toBe(0);
    expect(none.stderr).not.toMatch(/Confirming/);
    expect(none.stdout).toMatch(/Best is 1\.\d{3}× the default \(higher v is better\): provisional, from the exploration/);
    const noneId = /submitted (daemon-none-[0-9a-f]{10})/.exec(none.stderr)?.[1] as string;
    expect(query(workdir(), 'SELECT 1 FROM comparisons WHERE experiment_id = ?', noneId)).toEqual([]);
    expect(query(workdir(), "SELECT 1 FROM runs WHERE experiment_id = ? AND extra = 'confirmation'", noneId)).toEqual([]);
    const list = await wayfinder(['status', ...server()]);
    expect(list.stdout).toMatch(new RegExp(`${cappedId}\\s+done\\s+.*no significant difference`));
    expect(list.stdout).toMatch(new RegExp(`${noneId}\\s+done\\s+.*1\\.\\d{3}× provisional`));
  }, 240_000);
});
