// Timeouts and aborts are written once (src/runners/stop.ts) and every runner ends its runs
// through it: the helper's own rules, then the same test's run as a host process and as a
// container, timed out and aborted through the one path.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LABEL_WORKDIR, workdirHash } from '../../src/runners/docker/labels.js';
import { executeTest } from '../../src/runners/job.js';
import { ProcessRegistry } from '../../src/runners/registry.js';
import { stopOn } from '../../src/runners/stop.js';
import type { JobSpec } from '../../src/types.js';
import type { RunResult, TestWork } from '../../src/wire.js';
import { containersWithLabel, importBusyboxImage, removeImage, removeLabelled, requireDockerd } from '../docker-image.js';
import { tempDir } from '../helpers.js';

const IMAGE = `wayfinder-test-stop:${process.pid}`;
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('stopOn', () => {
  it('ends the run once on its timeout, and says so', async () => {
    let ends = 0;
    const s = stopOn({ timeoutSec: 0.05 }, () => ends++);
    s.armed();
    await new Promise((r) => setTimeout(r, 150));
    s.dispose();
    expect([ends, s.timedOut, s.aborted]).toEqual([1, true, false]);
  });

  it('an abort before the runner has something to end waits for it, then ends it at once', async () => {
    const stop = new AbortController();
    stop.abort();
    let ends = 0;
    const s = stopOn({ timeoutSec: 60, signal: stop.signal }, () => ends++);
    expect([ends, s.aborted]).toEqual([0, true]);
    s.armed();
    s.dispose();
    expect(ends).toBe(1);
  });

  it('after dispose nothing strikes', async () => {
    const stop = new AbortController();
    let ends = 0;
    const s = stopOn({ timeoutSec: 0.05, signal: stop.signal }, () => ends++);
    s.armed();
    s.dispose();
    stop.abort();
    await new Promise((r) => setTimeout(r, 150));
    expect([ends, s.timedOut]).toEqual([0, false]);
  });
});

describe('process and container runs end through the same path', () => {
  beforeAll(() => {
    requireDockerd();
    importBusyboxImage(IMAGE);
  }, 120_000);
  afterAll(() => removeImage(IMAGE));

  const job = (over: Partial<JobSpec>): JobSpec => ({
    name: 't', phase: 'test', run: 'echo started; sleep 300', cores: 1, isolation: 'none', timeoutSec: 60, retries: 0, iterations: 1, warmup: 0,
    devices: [], capabilities: [], privileged: false, inputs: [], outputs: [], resources: {}, env: {}, ...over,
  });

  function setup(j: JobSpec): { work: TestWork; ctx: Parameters<typeof executeTest>[1] } {
    const { dir, cleanup } = tempDir('wf-stop-');
    cleanups.push(cleanup);
    const workdir = join(dir, 'wd');
    cleanups.push(() => removeLabelled(LABEL_WORKDIR, workdirHash(workdir)));
    const work: TestWork = { kind: 'test', experimentId: 'e', configId: 'c', buildId: 'b', hasBuild: false, job: j, env: {}, metrics: [], experimentDir: dir };
    return { work, ctx: { workdir, placement: { host: 'h', cpus: [0], isolation: 'none' }, registry: new ProcessRegistry(join(dir, 'reg')) } };
  }

  for (const [kind, over] of [['process', { kind: 'process' }], ['container', { kind: 'container', image: IMAGE }]] as const) {
    it(`${kind}: the timeout ends the run, which fails as timed out`, async () => {
      const { work, ctx } = setup(job({ ...over, timeoutSec: 1 }));
      const results: RunResult[] = [];
      const started = Date.now();
      await executeTest(work, ctx, 2, { done: async () => false, emit: async (r) => void results.push(r) });
      expect(results).toMatchObject([{ status: 'failed', failure: 'timeout' }]);
      expect(results[0]?.error).toMatch(/timed out/);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(containersWithLabel(LABEL_WORKDIR, workdirHash(ctx.workdir))).toEqual([]);
    });

    it(`${kind}: an abort ends the run, and no result is sent for it`, async () => {
      const { work, ctx } = setup(job(over));
      const stop = new AbortController();
      const results: RunResult[] = [];
      const started = Date.now();
      setTimeout(() => stop.abort(), 1500);
      await executeTest(work, { ...ctx, signal: stop.signal }, 2, { done: async () => false, emit: async (r) => void results.push(r) });
      expect(results).toEqual([]);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(containersWithLabel(LABEL_WORKDIR, workdirHash(ctx.workdir))).toEqual([]);
    });
  }
});
