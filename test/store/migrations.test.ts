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

  it('version 9 databases gain the comparisons table, keep their runs, and keep every confirmation, the last one counting', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, 9)) old.exec(m);
    old.pragma('user_version = 9');
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('e', 'n', 'f', 't', 'h', 'native', '1', 'grid', 0, 0)`).run();
    old.prepare(
      `INSERT INTO runs (experiment_id, config_id, test, iteration, status, metrics_json, duration_ms, attempts, host, placement_json, started_at, stored_at, extra)
       VALUES ('e', 'best', 't', 4, 'ok', '{"rps":120}', 1, 1, 'h', '{"host":"h","cpus":[]}', 0, 0, 'confirmation')`,
    ).run();
    old.close();

    const store = new Store(path);
    cleanups.push(() => store.close());
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    // An older database has confirmation runs but no verdict: nothing is made up for it.
    expect(store.runs('e').map((r) => [r.configId, r.extra, r.metrics])).toEqual([['best', 'confirmation', { rps: 120 }]]);
    expect(store.lastComparison('e')).toBeUndefined();

    const first = {
      bestConfigId: 'best', defaultConfigId: 'dflt', metric: 'rps', direction: 'maximize' as const,
      ratio: 1.02, ci: [0.97, 1.08] as [number, number], pValue: 0.41, significant: false, n: 15,
      confidence: 0.95, looks: 5, alphaPerLook: 0.01, stopped: 'cap' as const, samples: { best: [120, 118], default: [117, 119] }, measuredAt: 1_700_000_000_000,
    };
    store.recordComparison('e', first);
    expect(store.lastComparison('e')).toEqual(first);
    // A comparison without a ratio (a metric that is not always positive), stopped by failures.
    const second = { ...first, ratio: undefined, ci: undefined, pValue: 0.004, significant: true, n: 6, stopped: 'failures' as const, error: 'the default failed 3 of its confirmation runs', measuredAt: first.measuredAt + 1 };
    const { ratio: _r, ci: _c, ...withoutRatio } = second;
    store.recordComparison('e', withoutRatio);
    expect(store.lastComparison('e')).toEqual(withoutRatio);
    expect(store.lastComparison('other')).toBeUndefined();
    // Both are kept, numbered per experiment.
    const rows = new Database(path, { readonly: true });
    expect(rows.prepare('SELECT seq, significant FROM comparisons ORDER BY seq').all()).toEqual([
      { seq: 1, significant: 0 },
      { seq: 2, significant: 1 },
    ]);
    rows.close();
  });

  it('version 9 configurations get an effective identity, a duplicate mark and a resolution, empty for those stored before', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const path = join(dir, 'wayfinder.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.slice(0, 9)) old.exec(m);
    old.pragma('user_version = 9');
    old.prepare(`INSERT INTO experiments (id, name, file, text, hash, format, space_size, strategy, created_at, updated_at) VALUES ('e', 'n', 'f', 't', 'h', 'native', '4', 'grid', 0, 0)`).run();
    const add = old.prepare(
      `INSERT INTO configurations (experiment_id, config_id, build_id, seq, params_json, is_default, status, objective, created_at) VALUES ('e', ?, ?, ?, ?, ?, ?, ?, 0)`,
    );
    add.run('c0', 'b0', 0, '{"CONFIG_A":true}', 1, 'done', 5);
    add.run('c1', 'b1', 1, '{"CONFIG_A":false}', 0, 'running', null);
    add.run('c2', 'b2', 2, '{"CONFIG_A":false}', 0, 'running', null);
    old.close();

    const store = new Store(path);
    const before = store.configurations('e');
    expect(before.map((r) => [r.configId, r.status, r.effectiveId, r.duplicateOf, r.resolution])).toEqual([
      ['c0', 'done', undefined, undefined, undefined],
      ['c1', 'running', undefined, undefined, undefined],
      ['c2', 'running', undefined, undefined, undefined],
    ]);
    const resolution = { hash: 'h', effective: { CONFIG_A: 'y' }, overridden: [{ symbol: 'CONFIG_A', requested: 'n', effective: 'y' }], unknown: [], baseUnknown: ['CONFIG_OLD'], checked: true };
    store.setEffective('e', 'c1', { effectiveId: 'x1', buildId: 'eb1', resolution });
    store.markDuplicate('e', 'c2', 'c1', { effectiveId: 'x1', buildId: 'eb1', resolution });
    expect(store.findEffective('e', 'x1')).toMatchObject({ configId: 'c1', buildId: 'eb1', status: 'running', resolution });
    expect(store.duplicatesOf('e', 'c1').map((r) => [r.configId, r.status, r.duplicateOf])).toEqual([['c2', 'duplicate', 'c1']]);
    expect(store.countConfigurations('e', 'running')).toBe(1);
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
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
