// The results table and exports without a run: sorted by the objective, inactive parameters blank,
// folded to fit the width, every raw sample in JSON and CSV.

import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../src/spec/index.js';
import type { ConfigRow, StoredRun } from '../../src/store/results-store.js';
import { renderResults, sortByObjective } from '../../src/report/results-table.js';
import { fitTable } from '../../src/util/fit-table.js';

const exp = parseExperiment(
  `name: t
params:
  - { name: NGINX_WORKER_PROCESSES, type: string, only: [auto, "1", "2"], default: auto }
  - { name: NGINX_SENDFILE, type: boolean, default: true }
  - { name: NGINX_TCP_NOPUSH, type: boolean, default: true, if: "NGINX_SENDFILE == true" }
  - { name: TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE, type: string, only: [cubic, reno, a_very_long_algorithm_name], default: cubic }
test: { run: "true" }
metrics:
  - { name: http, parser: wrk }
objective: { metric: http.latency_p99_ms, direction: minimize }
`,
  '/tmp/wf-results-table/e.yaml',
);

function row(seq: number, params: ConfigRow['params'], objective: number | undefined, status: ConfigRow['status'] = 'done'): ConfigRow {
  return {
    experimentId: 'e', configId: `${seq}`.repeat(32).slice(0, 32), buildId: 'b', seq, params, isDefault: seq === 0, status, createdAt: 0,
    ...(objective !== undefined ? { objective, summary: { 'http.latency_p99_ms': { n: 3, median: objective, mean: objective, ci: [objective - 1, objective + 1], ciMethod: 'order-statistic', cv: 0.01 } } as never } : {}),
    ...(status === 'failed' ? { failure: 'exit' as const } : {}),
  };
}

const rows = [
  row(0, { NGINX_WORKER_PROCESSES: 'auto', NGINX_SENDFILE: true, NGINX_TCP_NOPUSH: true, TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE: 'cubic' }, 20),
  row(1, { NGINX_WORKER_PROCESSES: '1', NGINX_SENDFILE: false, NGINX_TCP_NOPUSH: true, TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE: 'a_very_long_algorithm_name' }, 5),
  row(2, { NGINX_WORKER_PROCESSES: '2', NGINX_SENDFILE: true, NGINX_TCP_NOPUSH: false, TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE: 'reno' }, undefined, 'failed'),
  row(3, { NGINX_WORKER_PROCESSES: '2', NGINX_SENDFILE: true, NGINX_TCP_NOPUSH: true, TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE: 'reno' }, 12),
];

const runs = new Map<string, StoredRun[]>(rows.map((r) => [r.configId, [1, 0].map((iteration) => ({
  configId: r.configId, test: 'wrk', iteration, status: 'ok' as const, metrics: { 'http.latency_p99_ms': 10 + iteration, 'http.requests_per_sec': 1000 + iteration }, durationMs: 5, host: 'h1',
  placement: { host: 'h1', cpus: [iteration, 3], isolation: 'core' },
}))]));

describe('results table', () => {
  it('sorts by the objective in its direction, failed after measured', () => {
    expect(sortByObjective(rows, exp.objective).map((r) => r.seq)).toEqual([1, 3, 0, 2]);
    expect(sortByObjective(rows, { ...exp.objective, direction: 'maximize' }).map((r) => r.seq)).toEqual([0, 3, 1, 2]);
  });

  for (const width of [100, 84]) {
    it(`fits ${width} columns, best first, an inactive parameter blank`, () => {
      const text = renderResults({ id: 'e', name: 't' }, rows, 'table', { objective: exp.objective, params: exp.params, width });
      const lines = text.trimEnd().split('\n');
      for (const l of lines.slice(1)) expect([...l].length, l).toBeLessThanOrEqual(width);
      expect(lines[0]).toBe('e: 4 configurations (* = default), best http.latency_p99_ms first (lower is better)');
      const data = lines.filter((l) => /^\d{8}/.test(l));
      expect(data.map((l) => l.slice(0, 1))).toEqual(['1', '3', '0', '2']);
      // Row 1 has sendfile off: its NOPUSH cell is blank, the others show theirs.
      const cells = (l: string) => l.split(/ {2,}/);
      expect(cells(data[0]!)).toEqual(expect.arrayContaining(['false']));
      expect(cells(data[0]!).filter((c) => c === 'true')).toHaveLength(0);
      expect(data[3]).toMatch(/failed: exit/);
      expect(text).toContain('a blank parameter is inactive');
    });
  }

  it('folds headers at word breaks and shortens values only when it must, marking them', () => {
    const t = fitTable([{ header: 'NGINX_KEEPALIVE_TIMEOUT' }, { header: 'LONG_VALUES', shrink: true }, { header: 'n', align: 'right' }], [['75', 'abcdefghijklmnopqrstuvwxyz', '3']], 30);
    expect(t.split('\n')).toEqual([
      'NGINX_      LONG_VALUES      n',
      'KEEPALIVE_',
      'TIMEOUT',
      '──────────  ───────────────  ─',
      '75          abcdefghijklmn…  3',
    ]);
    // Wide enough: nothing folded or cut.
    expect(fitTable([{ header: 'NGINX_KEEPALIVE_TIMEOUT' }], [['75']], 80).split('\n')[0]).toBe('NGINX_KEEPALIVE_TIMEOUT');
  });
});

describe('results exports', () => {
  it('JSON: every raw sample with its iteration, each metric and its placement', () => {
    const out = JSON.parse(renderResults({ id: 'e', name: 't' }, rows, 'json', { objective: exp.objective, runs })) as { configurations: { config_id: string; runs: { iteration: number; metrics: Record<string, number>; placement: { host: string; cpus: number[] } }[] }[] };
    expect(out.configurations.map((c) => c.config_id.slice(0, 1))).toEqual(['1', '3', '0', '2']);
    const s = out.configurations[0]!.runs;
    expect(s.map((x) => x.iteration)).toEqual([0, 1]);
    expect(s[1]!.metrics).toEqual({ 'http.latency_p99_ms': 11, 'http.requests_per_sec': 1001 });
    expect(s[1]!.placement).toMatchObject({ host: 'h1', cpus: [1, 3], isolation: 'core' });
  });

  it('CSV: one row per configuration (as replay reads it), with the samples in aligned lists', () => {
    const csv = renderResults({ id: 'e', name: 't' }, rows, 'csv', { objective: exp.objective, runs }).trim().split('\n');
    const head = csv[0]!.split(',');
    expect(head.slice(0, 9)).toEqual(['config_id', 'build_id', 'status', 'default', 'NGINX_WORKER_PROCESSES', 'NGINX_SENDFILE', 'NGINX_TCP_NOPUSH', 'TCP_CONGESTION_CONTROL_ALGORITHM_OF_CHOICE', 'objective']);
    expect(csv).toHaveLength(5);
    const first = csv[1]!.split(',');
    const col = (name: string) => first[head.indexOf(name)];
    expect(col('samples.iteration')).toBe('0 1');
    expect(col('samples.http.latency_p99_ms')).toBe('10 11');
    expect(col('samples.http.requests_per_sec')).toBe('1000 1001');
    expect(col('samples.cpus')).toBe('0+3 1+3');
    expect(col('samples.host')).toBe('h1 h1');
  });
});
