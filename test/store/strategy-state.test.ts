// The strategy's state is saved with every result: what it has seen is written as it grows, and
// what is read back is what was saved, whatever mix of partial and whole saves wrote it.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function open(): { store: Store; path: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const path = join(dir, 'wayfinder.db');
  const store = new Store(path);
  store.upsertExperiment({ id: 'e', name: 'n', file: 'f', text: 't', hash: 'h', format: 'native', spaceSize: '100', strategy: 'grid' });
  return { store, path };
}

const seenOf = (store: Store): string[] => [...(store.strategyState('e')?.seen ?? [])].sort();
/** Rows in the table, read on a connection of its own (the store keeps its connection to itself). */
const rows = (path: string): number => {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM strategy_seen WHERE experiment_id = 'e'").get() as { n: number }).n;
  } finally {
    db.close();
  }
};

/** A state as a strategy saves it: a seen list, and fields of its own the store keeps whole. */
const state = (s: { seen: string[]; used: number }): { seen: readonly string[] } => s;

describe('strategy state', () => {
  it('appends only what was seen since the last save, and reads back the whole', () => {
    const { store } = open();
    store.saveStrategyState('e', state({ seen: ['a', 'b'], used: 2 }));
    store.saveStrategyState('e', state({ seen: ['a', 'b', 'c'], used: 3 }), 2);
    expect(store.strategyState('e')).toMatchObject({ used: 3 });
    expect(seenOf(store)).toEqual(['a', 'b', 'c']);
    // With savedSeen, the first entries are taken as written already: proof that only the tail is written.
    store.saveStrategyState('e', state({ seen: ['x', 'y', 'c', 'd'], used: 4 }), 3);
    expect(seenOf(store)).toEqual(['a', 'b', 'c', 'd']);
    store.close();
  });

  it('a save without savedSeen, or with more than the list holds, replaces what was seen', () => {
    const { store, path } = open();
    store.saveStrategyState('e', { seen: ['a', 'b', 'c'] });
    store.saveStrategyState('e', { seen: ['q'] }, 3);
    expect(seenOf(store)).toEqual(['q']);
    store.saveStrategyState('e', { seen: ['r', 's'] });
    expect(seenOf(store)).toEqual(['r', 's']);
    expect(rows(path)).toBe(2);
    store.close();
  });

  it('survives reopening, and a save inside a rolled-back transaction leaves the last saved state', () => {
    const { store, path } = open();
    store.saveStrategyState('e', state({ seen: ['a'], used: 1 }));
    expect(() =>
      store.transaction(() => {
        store.saveStrategyState('e', state({ seen: ['a', 'b'], used: 2 }), 1);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    store.close();
    const again = new Store(path);
    expect(again.strategyState('e')).toEqual({ used: 1, seen: ['a'] });
    again.close();
  });
});
