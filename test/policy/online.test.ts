// Continuous learning: what `wayfinder control` observed (stored per period) joins the offline
// table in `learn --online`; a configuration that behaves otherwise online than offline is warned
// of as drift, and the policy learned again follows what was seen online.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { joinOnline } from '../../src/policy/online.js';
import { workloadFromTable } from '../../src/policy/sources.js';
import { decide } from '../../src/policy/policy.js';
import { readPolicy } from '../../src/policy/policy-file.js';
import { Store } from '../../src/store/store.js';
import { tempDir, wayfinder } from '../helpers.js';

const t = tempDir('wf-online-');
afterAll(() => t.cleanup());

// Offline: BATCH 4 is best at 5 flows, 16 at 20 flows, 64 at 50 flows (latency, lower is better).
const offline = ['BATCH,FLOWS,latency'];
const best: Record<number, number> = { 5: 4, 20: 16, 50: 64 };
for (const f of [5, 20, 50]) for (const b of [4, 16, 64]) offline.push(`${b},${f},${b === best[f] ? 50 : 80 + b / 4}`);
const csv = join(t.dir, 'offline.csv');
writeFileSync(csv, `${offline.join('\n')}\n`);

const workdir = join(t.dir, 'wd');
function storeSession(objective = 'latency'): number {
  const store = new Store(join(workdir, 'wayfinder.db'));
  try {
    const id = store.startControlSession({ policyFile: 'p.json', configFile: 'c.yaml', objective, direction: 'minimize', features: ['FLOWS'], knobs: ['BATCH'], periodMs: 20, startedAt: 0 });
    let seq = 0;
    const obs = [];
    // Online at about 20 flows: BATCH 16 turned slow (600), BATCH 4 is now the best (60).
    for (let k = 0; k < 10; k++) obs.push({ seq: seq++, timeMs: seq, signals: { FLOWS: 19 + (k % 3), latency: 600 + k }, knobs: { BATCH: 16 }, objective: 600 + k });
    for (let k = 0; k < 10; k++) obs.push({ seq: seq++, timeMs: seq, signals: { FLOWS: 20 + (k % 2), latency: 60 + k }, knobs: { BATCH: 4 }, objective: 60 + k });
    // Unread signals and periods without an objective are left out.
    obs.push({ seq: seq++, timeMs: seq, signals: { FLOWS: null, latency: 1 }, knobs: { BATCH: 4 }, objective: 1 });
    obs.push({ seq: seq++, timeMs: seq, signals: { FLOWS: 20 }, knobs: { BATCH: 4 } });
    store.recordControl(id, [], obs);
    return id;
  } finally {
    store.close();
  }
}
const mkdir = async (): Promise<void> => {
  (await import('node:fs')).mkdirSync(workdir, { recursive: true });
};

describe('learn --online', () => {
  it('joins the controller\'s observations to the offline data and warns of drift', async () => {
    await mkdir();
    const id = storeSession();
    storeSession('throughput'); // another objective: not taken
    const data = workloadFromTable({ csv: (await import('node:fs')).readFileSync(csv, 'utf8'), file: csv, objective: 'latency', workload: ['FLOWS'], minimize: true });
    const store = new Store(join(workdir, 'wayfinder.db'));
    try {
      const j = joinOnline(store, data);
      expect(j.sessions).toEqual([id]);
      expect(j.observations).toBe(20);
      // Both pairs measured at 20 flows moved: BATCH 16 from 50 to about 605, BATCH 4 from 81 to about 65.
      expect(j.drift).toHaveLength(2);
      expect(j.drift).toContainEqual(expect.objectContaining({ point: { FLOWS: 20 }, params: { BATCH: 16 }, offline: 50, online: expect.objectContaining({ median: 605, n: 10 }) }));
      expect(j.drift).toContainEqual(expect.objectContaining({ point: { FLOWS: 20 }, params: { BATCH: 4 }, offline: 81, online: expect.objectContaining({ median: 65, n: 10 }) }));
      const c16 = j.data.configs.findIndex((c) => c.BATCH === 16);
      const p20 = j.data.points.findIndex((p) => p[0] === 20);
      expect(j.data.value[c16]![p20]).toBe(605);
      expect(j.data.notes.at(-1)).toMatch(/online: 20 observations of controller sessions 1: 2 measured pairs replaced by their online median, 0 pairs added/);
    } finally {
      store.close();
    }
  });

  it('wayfinder learn --online learns a policy that follows what was seen online', async () => {
    const plain = join(t.dir, 'plain.json');
    const both = join(t.dir, 'online.json');
    const args = ['learn', '--table', csv, '--objective', 'latency', '--minimize', '--workload', 'FLOWS', '--workdir', workdir];
    const r1 = await wayfinder([...args, '--out', plain]);
    expect(r1.status, r1.stderr).toBe(0);
    const r2 = await wayfinder([...args, '--online', '1', '--out', both, '--json']);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(/warning: drift: at FLOWS=20, BATCH=16 measured latency 50 offline but 605 online \(median of 10 periods/);
    expect(JSON.parse(r2.stdout).online).toMatchObject({ sessions: [1], observations: 20 });
    expect(decide(readPolicy(plain), [20]).params).toEqual({ BATCH: 16 });
    expect(decide(readPolicy(both), [20]).params).toEqual({ BATCH: 4 });
    const r3 = await wayfinder([...args, '--online', '7']);
    expect(r3.status).toBe(2);
    expect(r3.stderr).toMatch(/--online: no controller session 7 in the work directory \(sessions: 1, 2\)/);
  }, 120_000);

  it('wayfinder control warns of drift at the end of a session (every 30 s while it runs): a command knob whose chosen value turned slow, against the policy\'s own table', async () => {
    const policy = join(t.dir, 'drift-policy.json');
    const r1 = await wayfinder(['learn', '--table', csv, '--objective', 'latency', '--minimize', '--workload', 'FLOWS', '--out', policy]);
    expect(r1.status, r1.stderr).toBe(0);
    const flows = join(t.dir, 'flows');
    const latency = join(t.dir, 'latency');
    writeFileSync(flows, '20\n');
    writeFileSync(latency, '100\n');
    const config = join(t.dir, 'drift.yaml');
    writeFileSync(
      config,
      `period: 50ms
signals:
  FLOWS: { file: ${flows} }
  latency: { file: ${latency} }
knobs:
  # The "dataplane": BATCH 16 now costs 600, anything else 60.
  BATCH: { command: 'if [ "$BATCH" = 16 ]; then echo 600; else echo 60; fi > ${latency}', values: [4, 16, 64] }
`,
    );
    const r = await wayfinder(['control', policy, '--config', config, '--workdir', join(t.dir, 'wd-drift'), '--duration', '2s', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.find((e) => e.event === 'control-decision')).toMatchObject({ action: 'apply', to: { BATCH: 16 }, applied: { done: { BATCH: 'command exited 0' } } });
    const drift = events.find((e) => e.event === 'control-drift');
    expect(drift, r.stdout).toMatchObject({ point: { FLOWS: 20 }, params: { BATCH: 16 }, offline: 50, online: { median: 600 } });
  }, 120_000);
});
