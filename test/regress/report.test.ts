import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { marked } from 'marked';
import { afterEach, describe, expect, it } from 'vitest';
import type { Measurement } from '../../src/regress/baseline.js';
import { renderJunit } from '../../src/regress/junit.js';
import { renderMarkdown } from '../../src/regress/markdown.js';
import { compareMeasurements, type ExtraMetrics, type InconclusivePolicy } from '../../src/regress/report.js';
import { renderText } from '../../src/regress/terminal.js';
import { Rng } from '../../src/util/random.js';
import { measurement as shaped } from './measurement.js';
import { ROOT, requireTool, tempDir, writeFile } from '../helpers.js';

const XSD = join(ROOT, 'test', 'fixtures', 'junit', 'junit.xsd');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const HOST = { hostname: 'bench1', cpu: { brand: 'Xeon', cores: 2 }, memoryBytes: 1e9, os: { kernel: '6.1.0' }, virtual: false };

function samples(rng: Rng, n: number, scale: number, sigma: number): number[] {
  return Array.from({ length: n }, () => scale * Math.exp(sigma * rng.normal()));
}

function measurement(id: string, configs: Measurement['configurations'], host: Record<string, unknown> = HOST): Measurement {
  return shaped(id, configs, { name: 'web <&> "tls"', file: '/x/web.yaml', objective: { metric: 'req.latency_avg_ms', direction: 'minimize' }, host, test: 'wrk', cores: 2 });
}

/** Quiet samples, and the same 5.5% slower: the interval straddles the 5% threshold. */
const NOISY = [0.97, 0.98, 0.99, 1.0, 1.0, 1.01, 1.02, 1.03, 0.995, 1.005].map((x) => x * 10);
const NOISY_SLOWER = [1.02, 0.97, 1.0, 0.98, 1.03, 0.995, 1.01, 1.005, 0.99, 1.0].map((x) => x * 10.55);

/** Four configurations: one slower (regression), one unchanged (pass), one noisy (inconclusive), one that failed now. */
function scenario(policy: InconclusivePolicy, currentHost: Record<string, unknown> = HOST, metrics: ExtraMetrics | null = 'all') {
  const rng = new Rng(9);
  const cfg = (id: string, isDefault = false) => ({ configId: id.padEnd(32, '0'), params: { A: id }, isDefault });
  const base = measurement('base-1', [
    { ...cfg('aaaa', true), metrics: { 'req.latency_avg_ms': samples(rng, 10, 10, 0.01), 'req.requests_per_sec': samples(rng, 10, 5000, 0.01), 'req.read_bytes': samples(rng, 10, 1e6, 0.01) } },
    { ...cfg('bbbb'), metrics: { 'req.latency_avg_ms': samples(rng, 10, 10, 0.01) } },
    { ...cfg('cccc'), metrics: { 'req.latency_avg_ms': NOISY } },
    { ...cfg('dddd'), metrics: { 'req.latency_avg_ms': samples(rng, 10, 10, 0.01) } },
  ]);
  const now = measurement(
    'now-1',
    [
      // The default's parameters changed (a parameter was added): still compared as the default.
      { ...cfg('aaab', true), metrics: { 'req.latency_avg_ms': samples(rng, 10, 12, 0.01), 'req.requests_per_sec': samples(rng, 10, 4100, 0.01), 'req.read_bytes': samples(rng, 10, 1e6, 0.01) } },
      { ...cfg('bbbb'), metrics: { 'req.latency_avg_ms': samples(rng, 10, 10, 0.01) } },
      { ...cfg('cccc'), metrics: { 'req.latency_avg_ms': NOISY_SLOWER } },
      { ...cfg('dddd'), metrics: {}, failure: 'exit: wrk exited with status 1 <stderr> & "quotes" \u0007bell' },
    ],
    currentHost,
  );
  return compareMeasurements(base, '/ci/baseline.json', now, { threshold: 0.05, confidence: 0.95, inconclusive: policy, seed: 1, resamples: 4000, ...(metrics ? { metrics } : {}) });
}

function xmllint(xml: string): { status: number | null; stderr: string } {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = writeFile(dir, 'junit.xml', xml);
  const r = spawnSync('xmllint', ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('the regress report', () => {
  it('judges only the objective by default; --metrics adds others', () => {
    const only = scenario('exit3', HOST, null);
    expect(only.configs[0]?.metrics.map((m) => m.metric)).toEqual(['req.latency_avg_ms']);
    const some = scenario('exit3', HOST, ['req.requests_per_sec', 'req.nonexistent']);
    expect(some.configs[0]?.metrics.map((m) => m.metric)).toEqual(['req.latency_avg_ms', 'req.requests_per_sec']);
    expect(some.warnings.join('\n')).toMatch(/--metrics names req\.nonexistent, which was not measured/);
  });

  it('one interval per comparison in every rendering: the change\'s, the same numbers in the table and the reason', () => {
    const r = scenario('exit3');
    const text = renderText(r);
    const md = renderMarkdown(r).replace(/\\/g, '');
    const xml = renderJunit(r);
    for (const c of r.configs) {
      for (const m of c.metrics) {
        if (m.verdict === 'info') continue;
        const pct = (x: number) => `${x >= 1 ? '+' : '−'}${Math.abs((x - 1) * 100).toFixed(1)}%`;
        const interval = [pct(m.ci[0]), pct(m.ci[1])];
        // Every percentage range quoted for this comparison is its interval.
        expect(m.reason).toContain(`(${interval[0]} to ${interval[1]})`);
        for (const out of [text, md, xml]) expect(out).toContain(`[${interval[0]}, ${interval[1]}]`);
      }
    }
    // The JUnit message and details quote no other range than the change's.
    const failure = /<failure type="regression" message="([^"]*)">([^<]*)</.exec(xml);
    const ranges = [...`${failure?.[1]}${failure?.[2]}`.matchAll(/([+−]\d+\.\d%)(?: to |, )([+−]\d+\.\d%)/g)].map((x) => `${x[1]} ${x[2]}`);
    expect(new Set(ranges).size).toBe(1);
  });

  it('judges each configuration and metric, and the outcome and exit status follow', () => {
    const r = scenario('exit3');
    const verdicts = Object.fromEntries(r.configs.map((c) => [c.configId.slice(0, 4), c.metrics.map((m) => `${m.metric}:${m.verdict}`)]));
    expect(verdicts.aaab).toEqual(['req.latency_avg_ms:regression', 'req.read_bytes:info', 'req.requests_per_sec:regression']);
    expect(verdicts.bbbb).toEqual(['req.latency_avg_ms:pass']);
    expect(verdicts.cccc).toEqual(['req.latency_avg_ms:inconclusive']);
    expect(r.configs.find((c) => c.configId.startsWith('dddd'))?.failure).toMatch(/wrk exited/);
    expect(r.configs[0]?.baselineConfigId?.startsWith('aaaa')).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/default configuration changed/);
    expect(r.outcome).toBe('regression');
    expect(r.exitStatus).toBe(1);
    expect(r.hostDifferences).toEqual([]);
  });

  it('the JUnit XML validates against the JUnit schema, one test case per configuration and metric', () => {
    requireTool('xmllint', 'libxml2-utils');
    for (const policy of ['exit3', 'pass', 'fail'] as const) {
      const xml = renderJunit(scenario(policy), { hostname: 'ci-runner', now: new Date('2026-05-06T07:08:09Z') });
      const v = xmllint(xml);
      expect(v.status, `${v.stderr}\n${xml}`).toBe(0);
      expect(xml.match(/<testcase /g)).toHaveLength(6);
      expect(xml).toMatch(/<testsuites name="wayfinder regress" tests="6" failures="2" errors="(1|2)" skipped="(0|1)">/);
      expect(xml).toContain('<failure type="regression"');
      expect(xml).toContain('timestamp="2026-05-06T07:08:09"');
      // The inconclusive comparison: skipped when it counts as a pass, an error otherwise.
      expect(xml).toMatch(policy === 'pass' ? /<skipped message="inconclusive/ : /<error type="inconclusive"/);
      // Markup and control characters from a failure's output are escaped or dropped.
      expect(xml).toContain('&lt;stderr&gt; &amp; &quot;quotes&quot; bell');
      expect(xml).not.toContain('\u0007');
    }
  });

  it('the schema check is real: a malformed report fails it', () => {
    requireTool('xmllint', 'libxml2-utils');
    const xml = renderJunit(scenario('exit3'));
    expect(xmllint(xml.replace(/tests="6"/, 'tests="six"')).status).not.toBe(0);
    expect(xmllint(xml.replace(/<testcase classname="([^"]*)" name="[^"]*"/, '<testcase classname="$1"')).status).not.toBe(0);
  });

  it('the Markdown renders as a heading and a table with a row per comparison', async () => {
    const md = renderMarkdown(scenario('exit3'));
    const html = await marked.parse(md, { gfm: true });
    expect(html).toMatch(/<h3>❌ wayfinder regress: web &lt;&amp;&gt; &quot;tls&quot;<\/h3>/);
    const table = html.match(/<table>[\s\S]*<\/table>/)?.[0] ?? '';
    expect(table).not.toBe('');
    expect(table.match(/<th[ >]/g)).toHaveLength(7);
    // 5 metric rows and the failed configuration's row.
    expect(table.match(/<tr>/g)).toHaveLength(1 + 6);
    expect(table).toMatch(/REGRESSION/);
    expect(table).toMatch(/inconclusive: more iterations needed \(about \d+ iterations\)/);
    // Underscores in metric names stay literal, not emphasis.
    expect(table).toContain('req.latency_avg_ms');
    expect(html).toContain('<details>');
  });

  it('a baseline from another host warns loudly in every format', async () => {
    requireTool('xmllint', 'libxml2-utils');
    const r = scenario('exit3', { ...HOST, hostname: 'laptop', cpu: { brand: 'Ryzen', cores: 16 } });
    expect(r.hostDifferences).toEqual(expect.arrayContaining([expect.stringMatching(/^hostname: bench1 \(baseline\) vs laptop/), expect.stringMatching(/^cpu.brand/)]));
    expect(renderText(r)).toMatch(/^!{72}\nWARNING: The baseline was measured on a DIFFERENT HOST/);
    const html = await marked.parse(renderMarkdown(r), { gfm: true });
    expect(html).toMatch(/<blockquote>\s*<p><strong>⚠️ Warning:<\/strong> The baseline was measured on a DIFFERENT HOST/);
    const xml = renderJunit(r);
    expect(xml).toMatch(/<property name="warning.host" value="The baseline was measured on a DIFFERENT HOST/);
    expect(xmllint(xml).status).toBe(0);
  });

  it('warns about isolation or tuning the baseline had and this measurement lacks, not about what both lacked', () => {
    const cfg = { configId: 'e'.repeat(32), params: {}, isDefault: true, metrics: { 'req.latency_avg_ms': [10, 10.1, 10.2, 9.9, 10] } };
    const b = measurement('b', [cfg]);
    const n = measurement('n', [cfg]);
    b.noise.notes = ['no resctrl'];
    n.noise.notes = ['no resctrl', 'host governor: no cpufreq driver'];
    n.noise.tests.wrk = { isolation: 'none', cores: 2, warmup: 1, iterations: 10 };
    const r = compareMeasurements(b, 'b.json', n, { threshold: 0.05, confidence: 0.95, inconclusive: 'exit3', resamples: 1000 });
    expect(r.warnings).toEqual([
      'test wrk: isolation core (baseline) vs none (now)',
      'not available now, unlike for the baseline: host governor: no cpufreq driver',
    ]);
  });

  it('the inconclusive policy sets the exit status', () => {
    const only = (policy: InconclusivePolicy) => {
      const b = measurement('b', [{ configId: 'c'.repeat(32), params: {}, isDefault: true, metrics: { 'req.latency_avg_ms': NOISY } }]);
      const n = measurement('n', [{ configId: 'c'.repeat(32), params: {}, isDefault: true, metrics: { 'req.latency_avg_ms': NOISY_SLOWER } }]);
      return compareMeasurements(b, 'b.json', n, { threshold: 0.05, confidence: 0.95, inconclusive: policy, resamples: 2000 });
    };
    expect(only('exit3').outcome).toBe('inconclusive');
    expect(only('exit3').exitStatus).toBe(3);
    expect(only('pass').exitStatus).toBe(0);
    expect(only('fail').exitStatus).toBe(1);
  });
});
