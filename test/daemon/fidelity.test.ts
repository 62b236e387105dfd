// A submission's "fidelity" and "earlyStop" options reach the study the daemon runs, as run's
// --no-fidelity and --no-early-stop do: cheap looks and early stops by default where the test
// declares a fidelity, none with `false`; anything but a boolean is refused with 400.

import { describe, expect, it } from 'vitest';
import { fidelityExperiment } from '../fixtures/fidelity-experiment.js';
import { api, daemonPerFile, query, submitBody, waitState } from './helpers.js';

// test/fixtures/fidelity-experiment.ts: the cheap look (D=2) ranks as the full one (D=10).
const YAML = fidelityExperiment;

const shared = daemonPerFile('wf-daemon-fidelity-');
const workdir = shared.workdir;

async function submitted(name: string, extra: Record<string, unknown>): Promise<{ cheap: number; stopped: number; best: number }> {
  const r = await api<{ id: string }>(shared.daemon.url, '/experiments', submitBody(YAML(name), `${name}.yaml`, extra));
  expect(r.status, r.text).toBe(201);
  await waitState(shared.daemon.url, r.body.id, ['done'], 120_000);
  const [cheap] = query<{ n: number }>(workdir(), "SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ? AND extra = 'cheap-look'", r.body.id);
  const [stopped] = query<{ n: number }>(workdir(), "SELECT COUNT(*) AS n FROM configurations WHERE experiment_id = ? AND failure = 'stopped'", r.body.id);
  const [best] = query<{ a: number }>(workdir(), "SELECT json_extract(params_json, '$.A') AS a FROM configurations WHERE experiment_id = ? AND status = 'done' ORDER BY objective DESC LIMIT 1", r.body.id);
  return { cheap: cheap?.n ?? -1, stopped: stopped?.n ?? -1, best: best?.a ?? -1 };
}

describe('a submission\'s fidelity and earlyStop options', () => {
  it('by default: cheap looks, and stops; "fidelity": false: none of the first; "earlyStop": false as well: no stops; the same best', async () => {
    const on = await submitted('fid-on', {});
    expect(on.cheap).toBe(8 * 3);
    expect(on.stopped).toBeGreaterThanOrEqual(3);
    const noFidelity = await submitted('fid-off', { fidelity: false });
    expect(noFidelity.cheap).toBe(0);
    const neither = await submitted('fid-none', { fidelity: false, earlyStop: false });
    expect(neither).toEqual({ cheap: 0, stopped: 0, best: 8 });
    expect(on.best).toBe(8);
    expect(noFidelity.best).toBe(8);
  }, 300_000);

  it('anything but true or false is refused with 400, naming the field', async () => {
    for (const [field, value] of [['fidelity', 'no'], ['earlyStop', 0]] as const) {
      const r = await api<{ error: string }>(shared.daemon.url, '/experiments', submitBody(YAML('fid-bad'), 'fid-bad.yaml', { [field]: value }));
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe(`"${field}": expected true or false`);
    }
  });
});
