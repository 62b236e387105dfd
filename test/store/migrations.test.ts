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

  it('version 9 configurations keep what they had and can record why one was stopped early', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, 9)) old.exec(m);
    old.pragma('user_version = 9');
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('e', 'n', 'f', 't', 'h', 'native', '9', 'grid', 0, 0)`).run();
    const add = old.prepare(
      `INSERT INTO configurations (experiment_id, config_id, build_id, seq, params_json, status, failure, objective, created_at) VALUES ('e', ?, 'b', ?, '{"A":1}', ?, ?, ?, 0)`,
    );
    add.run('done', 0, 'done', null, 12.5);
    add.run('running', 1, 'running', null, null);
    old.close();

    const store = new Store(path);
    expect(store.getConfiguration('e', 'done')).toMatchObject({ status: 'done', objective: 12.5 });
    expect(store.getConfiguration('e', 'done')?.stopped).toBeUndefined();
    const stopped = { after: 1, of: 5, p: 0.0001, level: 0.0033, best: 'done', below: 12.5 };
    store.finishConfiguration('e', 'running', { status: 'failed', failure: 'stopped', error: 'stopped early', stopped });
    expect(store.getConfiguration('e', 'running')).toMatchObject({ status: 'failed', failure: 'stopped', stopped });
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });
});
