// Turns one test run's outputs into named numbers, as the experiment's metrics[] describe them.
// A metric that cannot be read is reported in `errors` (the caller marks the run failed with a
// parse failure) rather than thrown, so that the other metrics of the run are still recorded.

import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { MetricSpec } from '../types.js';
import { parseJson } from './json.js';
import { parseRedisBenchmark } from './redis-benchmark.js';
import { parseRegex } from './regex.js';
import { parseTcpEcho } from './tcp-echo.js';
import { parseWrk } from './wrk.js';

const MULTI: Record<string, (text: string) => Record<string, number>> = {
  wrk: parseWrk,
  'redis-benchmark': parseRedisBenchmark,
  'tcp-echo': parseTcpEcho,
};

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The text of a file named relative to the output directory, refusing any path that leaves it. */
function readOutputFile(outputDir: string, path: string): string {
  const root = resolve(outputDir);
  const file = resolve(root, path);
  if (!inside(root, file)) throw new Error(`file "${path}" is outside the output directory ${root}`);
  let real: string;
  try {
    real = realpathSync(file);
  } catch (e) {
    throw new Error(`cannot read "${path}" in ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // A symbolic link inside the directory may still point out of it.
  if (!inside(realpathSync(root), real)) throw new Error(`file "${path}" leads outside the output directory ${root}`);
  return readFileSync(real, 'utf8');
}

function extractOne(spec: MetricSpec, text: string, values: Record<string, number>): void {
  const scale = spec.scale ?? 1;
  const multi = MULTI[spec.parser];
  if (multi) {
    for (const [field, v] of Object.entries(multi(text))) values[`${spec.name}.${field}`] = v * scale;
  } else if (spec.parser === 'regex') {
    if (spec.pattern === undefined) throw new Error('the regex parser needs a pattern');
    values[spec.name] = parseRegex(text, spec.pattern) * scale;
  } else if (spec.parser === 'json') {
    if (spec.path === undefined) throw new Error('the json parser needs a path');
    values[spec.name] = parseJson(text, spec.path) * scale;
  } else {
    throw new Error(`unknown parser "${spec.parser as string}"`);
  }
}

/**
 * Every metric of `specs` that applies to `testName` (no `test`, or that test), read from `stdout` or
 * from a file in `outputDir`. Multi-value parsers (wrk, redis-benchmark, tcp-echo) yield
 * `<name>.<field>`; regex and json yield `<name>`. `scale` multiplies each value.
 */
export function extractMetrics(
  specs: MetricSpec[],
  testName: string,
  stdout: string,
  outputDir: string,
): { values: Record<string, number>; errors: string[] } {
  const values: Record<string, number> = {};
  const errors: string[] = [];
  const files = new Map<string, string>();
  for (const spec of specs) {
    if (spec.test !== undefined && spec.test !== testName) continue;
    try {
      let text = stdout;
      if (spec.source.kind === 'file') {
        const path = spec.source.path;
        if (!files.has(path)) files.set(path, readOutputFile(outputDir, path));
        text = files.get(path)!;
      }
      extractOne(spec, text, values);
    } catch (e) {
      errors.push(`metric "${spec.name}": ${(e as Error).message}`);
    }
  }
  return { values, errors };
}
