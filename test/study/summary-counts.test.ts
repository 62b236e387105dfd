// One count per outcome, derived in the store layer: a configuration stopped early (stored as failed
// with failure 'stopped', as the strategies read it) is counted as stopped and never as failed, in
// the summary the daemon's status, `run` and `confirm` show.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { countOutcomes, outcomeOf } from '../../src/store/results-store.js';
import { Store } from '../../src/store/store.js';
import { summarizeStudy } from '../../src/study/summary.js';
import { tempDir } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('outcome counts', () => {
  it('counts stopped early apart from failed, in a real store and in the study summary', () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const store = new Store(join(dir, 'wayfinder.db'));
    try {
      store.upsertExperiment({ id: 'e', name: 'n', file: 'f', text: 't', hash: 'h', format: 'native', spaceSize: '100', strategy: 'grid' });
      const add = (id: string, isDefault = false): void => store.addConfiguration({ experimentId: 'e', configId: id, buildId: id, params: { A: id }, isDefault, strategy: 'grid' });
      ['best', 'broken', 'slow', 'slower', 'busy'].forEach((id, i) => add(id, i === 0));
      store.finishConfiguration('e', 'best', { status: 'done', objective: 100 });
      store.finishConfiguration('e', 'broken', { status: 'failed', failure: 'build', error: 'make: error' });
      const stopped = { after: 1, of: 5, p: 0.0001, level: 0.0033, best: 'best', below: 100 };
      store.finishConfiguration('e', 'slow', { status: 'failed', failure: 'stopped', error: 'stopped early', stopped });
      store.finishConfiguration('e', 'slower', { status: 'failed', failure: 'stopped', error: 'stopped early', stopped });
      const rows = store.configurations('e');
      expect(rows.map(outcomeOf)).toEqual(['done', 'failed', 'stopped', 'stopped', 'running']);
      expect(countOutcomes(rows)).toEqual({ total: 5, done: 1, failed: 1, stopped: 2, running: 1, duplicates: 0 });
      expect(summarizeStudy(store, 'e', { metric: 'v', direction: 'maximize' })).toMatchObject({ total: 5, done: 1, failed: 1, stopped: 2, running: 1 });
    } finally {
      store.close();
    }
  });
});
