// A results database of an older schema is brought forward when opened, keeping what it holds.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('migrations', () => {
  it('version 1 runs get their placement columns filled from placement_json', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    old.exec(MIGRATIONS[0] as string);
    old.pragma('user_version = 1');
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('e', 'n', 'f', 't', 'h', 'native', '1', 'grid', 0, 0)`).run();
    const insert = old.prepare(
      `INSERT INTO runs (experiment_id, config_id, test, iteration, status, metrics_json, duration_ms, attempts, host, placement_json, started_at, stored_at)
       VALUES ('e', 'c', 't', ?, 'ok', '{}', 1, 1, 'h', ?, 0, 0)`,
    );
    insert.run(0, JSON.stringify({ host: 'h', cpus: [2, 3], isolation: 'cache', l3Mask: '0=f00', mbPercent: 30, cpuIsolationOnly: false }));
    insert.run(1, JSON.stringify({ host: 'h', cpus: [], isolation: 'core' }));
    old.close();

    const store = new Store(path);
    // The store keeps its connection to itself; a second one reads what it wrote.
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT iteration, cpus, isolation, l3_mask, mb_percent, cpu_isolation_only FROM runs ORDER BY iteration').all();
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    expect(rows).toEqual([
      { iteration: 0, cpus: '2,3', isolation: 'cache', l3_mask: '0=f00', mb_percent: 30, cpu_isolation_only: 0 },
      { iteration: 1, cpus: null, isolation: 'core', l3_mask: null, mb_percent: null, cpu_isolation_only: null },
    ]);
    store.close();
  });

  it('version 5 strategy states move to their own tables, with what they had seen', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, 5)) old.exec(m);
    old.pragma('user_version = 5');
    const state = { version: 1, name: 'grid', seed: 7, rng: [1, 2], used: 3, seen: ['[1]', '[2]', '[3]'], pending: ['[3]'], again: [], extra: { offset: '0', walked: '3' } };
    old.prepare(
      `INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, strategy_json, created_at, updated_at)
       VALUES ('e', 'n', 'f', 't', 'h', 'native', '9', 'grid', ?, 0, 0)`,
    ).run(JSON.stringify(state));
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('fresh', 'n', 'f', 't', 'h2', 'native', '9', 'grid', 0, 0)`).run();
    old.close();

    const store = new Store(path);
    const moved = store.strategyState('e');
    expect({ ...moved, seen: [...(moved?.seen ?? [])].sort() }).toEqual(state);
    expect(store.strategyState('fresh')).toBeUndefined();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM experiments WHERE strategy_json IS NOT NULL').get()).toEqual({ n: 0 });
    db.close();
    store.close();
  });

  it('version 9 gains the controller\'s tables (sessions, decisions, observations), keeping what it held', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, 9)) old.exec(m);
    old.pragma('user_version = 9');
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('e', 'n', 'f', 't', 'h', 'native', '1', 'grid', 0, 0)`).run();
    old.close();

    const store = new Store(path);
    expect(store.getExperiment('e')?.name).toBe('n');
    const id = store.startControlSession({ policyFile: 'p.json', configFile: 'c.yaml', objective: 'latency', direction: 'minimize', features: ['flows'], knobs: ['BATCH'], periodMs: 20, startedAt: 5 });
    store.recordControl(
      id,
      [{ seq: 0, timeMs: 6, action: 'apply', rule: 'policy: leaf 1', context: 'leaf 1', from: { BATCH: 4 }, to: { BATCH: 16 }, wanted: { BATCH: 16 }, signals: { flows: 20, latency: null }, applied: { done: { BATCH: 'epoch 1' }, failed: {} } }],
      [{ seq: 0, timeMs: 6, signals: { flows: 20, latency: null }, knobs: { BATCH: 16 } }],
    );
    store.endControlSession(id, 9, 'stopped');
    expect(store.controlSessions()).toEqual([{ id, policyFile: 'p.json', configFile: 'c.yaml', objective: 'latency', direction: 'minimize', features: ['flows'], knobs: ['BATCH'], periodMs: 20, startedAt: 5, endedAt: 9, endReason: 'stopped' }]);
    expect(store.controlDecisions(id)[0]).toMatchObject({ action: 'apply', to: { BATCH: 16 }, applied: { done: { BATCH: 'epoch 1' } } });
    expect(store.controlObservations(id)).toEqual([{ seq: 0, timeMs: 6, signals: { flows: 20, latency: null }, knobs: { BATCH: 16 } }]);
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });
});
