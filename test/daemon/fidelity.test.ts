// A submission's "fidelity" and "earlyStop" options reach the study the daemon runs, as run's
// --no-fidelity and --no-early-stop do: cheap looks and early stops by default where the test
// declares a fidelity, none with `false`; anything but a boolean is refused with 400.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, tempDir } from '../helpers.js';
import { api, query, startDaemon, submitBody, waitState, type Proc } from './helpers.js';

// As test/cli/fidelity.test.ts: about A * D * 100, so the cheap look (D=2) ranks as the full one (D=10).
const YAML = (name: string): string => `
name: ${name}
params:
  - { name: A, type: integer, min: 1, max: 8, default: 4, when: test }
test:
  name: t
  run: 'echo "v=$(( A * D * 100 + ((A * 7 + WAYFINDER_ITERATION * 3) % 5 - 2) * A ))"'
  iterations: 5
  fidelity: { env: D, cheap: 2, full: 10, iterations: 3 }
metrics:
  - { name: v, parser: regex, pattern: 'v=(\\d+)' }
objective: { metric: v, direction: maximize }
exploration: { strategy: grid, parallel: 1 }
`;

let dir: string;
let cleanup: () => void;
let daemon: Proc & { url: string; socket: string };
const workdir = (): string => join(dir, 'wd');

beforeAll(async () => {
  requireTool('redis-server');
  ({ dir, cleanup } = tempDir('wf-daemon-fidelity-'));
  daemon = await startDaemon(workdir());
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  cleanup?.();
});

async function submitted(name: string, extra: Record<string, unknown>): Promise<{ cheap: number; stopped: number; best: number }> {
  const r = await api<{ id: string }>(daemon.url, '/experiments', submitBody(YAML(name), `${name}.yaml`, extra));
  expect(r.status, r.text).toBe(201);
  await waitState(daemon.url, r.body.id, ['done'], 120_000);
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
      const r = await api<{ error: string }>(daemon.url, '/experiments', submitBody(YAML('fid-bad'), 'fid-bad.yaml', { [field]: value }));
      expect(r.status, r.text).toBe(400);
      expect(r.body.error).toBe(`"${field}": expected true or false`);
    }
  });
});
