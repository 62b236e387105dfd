// A submission's warm start (exploration.warm_start): its names are checked when it is submitted
// (an experiment of the store, or one submitted before it), refused with the name's file:line:column
// otherwise; an experiment queued ahead of it in the same pool has run by the time it starts, and
// its measurements are read then (the `warm-start` event).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventsPath } from '../../src/workdir.js';
import { warmStartExperiment } from '../fixtures/warm-start-experiment.js';
import { api, daemonPerFile, query, submitBody, waitState } from './helpers.js';

const EXP = warmStartExperiment;

const shared = daemonPerFile('wf-daemon-warm-');
const workdir = shared.workdir;

describe('a submission\'s warm start', () => {
  it('names nothing the daemon knows: refused with 400 at the name, nothing queued', async () => {
    const text = EXP('warm-bad', '  strategy: bayesian\n  budget: 6\n  warm_start:\n    - nosuch');
    const r = await api<{ error: string }>(shared.daemon.url, '/experiments', submitBody(text, 'warm-bad.yaml', { confirm: false }));
    expect(r.status, r.text).toBe(400);
    const line = text.split('\n').findIndex((l) => l.includes('- nosuch')) + 1;
    expect(r.body.error).toContain(`warm-bad.yaml:${line}:7: exploration.warm_start: no experiment named "nosuch" in the results store or queued before it`);
    const list = await api<{ experiments: { name: string }[] }>(shared.daemon.url, '/experiments');
    expect(list.status).toBe(200);
    expect(list.body.experiments.map((s) => s.name)).not.toContain('warm-bad');
    // Itself, by its own name: refused the same way once it is known.
    const self = EXP('warm-self', '  strategy: bayesian\n  budget: 4');
    const first = await api<{ id: string }>(shared.daemon.url, '/experiments', submitBody(self, 'warm-self.yaml', { confirm: false }));
    expect(first.status, first.text).toBe(201);
    await waitState(shared.daemon.url, first.body.id, ['done'], 120_000);
    const again = await api<{ error: string }>(shared.daemon.url, '/experiments', submitBody(EXP('warm-self', '  strategy: bayesian\n  budget: 4\n  warm_start: [warm-self]'), 'warm-self.yaml', { confirm: false }));
    expect(again.status, again.text).toBe(400);
    expect(again.body.error).toMatch(/warm-self\.yaml:\d+:\d+: exploration\.warm_start: "warm-self" is this experiment itself/);
  }, 180_000);

  it('names an experiment queued ahead of it: accepted, and started from its measurements once it has run', async () => {
    const first = await api<{ id: string }>(shared.daemon.url, '/experiments', submitBody(EXP('warm-first', '  strategy: bayesian\n  budget: 8\n  seed: 3'), 'warm-first.yaml', { confirm: false }));
    expect(first.status, first.text).toBe(201);
    const second = await api<{ id: string }>(
      shared.daemon.url,
      '/experiments',
      submitBody(EXP('warm-second', '  strategy: bayesian\n  budget: 6\n  seed: 4\n  warm_start: [warm-first]'), 'warm-second.yaml', { confirm: false }),
    );
    expect(second.status, second.text).toBe(201);
    await waitState(shared.daemon.url, second.body.id, ['done'], 180_000);
    const [done] = query<{ n: number }>(workdir(), "SELECT COUNT(*) AS n FROM configurations WHERE experiment_id = ? AND status = 'done'", second.body.id);
    expect(done?.n).toBe(6);
    const events = readFileSync(eventsPath(workdir(), second.body.id), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { type: string; data: { sources?: { name: string; experimentId: string; measured: number }[] } });
    const warm = events.find((e) => e.type === 'warm-start');
    expect(warm?.data.sources).toEqual([{ ref: 'warm-first', name: 'warm-first', experimentId: first.body.id, measured: 8 }]);
  }, 300_000);
});
