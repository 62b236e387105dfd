import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { requireTool, tempDir, waitFor, writeFile } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from './helpers.js';

const procs: Proc[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill('SIGKILL');
  cleanups.splice(0).forEach((f) => f());
});

const TEXT = `
name: search
params:
  - { name: A, type: integer, min: 1, max: 8, default: 1, when: test }
  - { name: B, type: integer, only: [1, 2, 3], default: 1, when: test }
  - { name: C, type: string, only: [x, y], default: x, when: test }
test:
  run: 'sleep 0.2; echo "v=$(( (A * B) % 7 + $([ "$C" = y ] && echo 3 || echo 0) ))"'
  iterations: 1
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: bayesian, seed: 7, budget: 12, parallel: 1 }
`;

function sequence(workdir: string): string[] {
  return query<{ config_id: string }>(workdir, 'SELECT config_id FROM configurations ORDER BY seq').map((r) => r.config_id);
}

describe('resumable search through the daemon', () => {
  it('a daemon killed twice continues the same search: the same configurations in the same order', async () => {
    requireTool('redis-server');
    const { dir, cleanup } = tempDir('wf-search-');
    cleanups.push(cleanup);
    const file = writeFile(dir, 'search.yaml', TEXT);
    const body = submitBody(readFileSync(file, 'utf8'), file);

    const straight = join(dir, 'straight');
    const d1 = await startDaemon(straight);
    procs.push(d1);
    const s1 = await api<{ id: string }>(d1.url, '/experiments', body);
    await waitState(d1.url, s1.body.id, ['done'], 120_000);
    await d1.kill('SIGTERM');
    const expected = sequence(straight);
    expect(expected).toHaveLength(12);

    const killed = join(dir, 'killed');
    let d = await startDaemon(killed);
    procs.push(d);
    const s2 = await api<{ id: string }>(d.url, '/experiments', body);
    expect(s2.body.id).toBe(s1.body.id);
    for (const after of [3, 7]) {
      await waitFor(() => query(killed, "SELECT 1 FROM configurations WHERE status = 'done'").length >= after, 60_000, `${after} configurations`);
      await d.kill('SIGKILL');
      d = await startDaemon(killed);
      procs.push(d);
    }
    await waitState(d.url, s2.body.id, ['done'], 120_000);
    expect(sequence(killed)).toEqual(expected);
    // And the same results, measured once each.
    expect(query(killed, 'SELECT config_id, COUNT(*) AS n FROM runs GROUP BY config_id HAVING n > 1')).toEqual([]);
  }, 300000);
});
