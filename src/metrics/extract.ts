// Turns one test run's outputs into named numbers, as the experiment's metrics[] describe them.
// A metric that cannot be read is reported in `errors` (the caller marks the run failed with a
// parse failure) rather than thrown, so that the other metrics of the run are still recorded.

import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import type { MetricSpec } from '../types.js';
import { metricParser, metricParserNames } from './registry.js';

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

async function extractOne(spec: MetricSpec, text: string, values: Record<string, number>): Promise<void> {
  const scale = spec.scale ?? 1;
  const parser = metricParser(spec.parser);
  if (!parser) throw new Error(`unknown parser "${spec.parser}" (known: ${metricParserNames().join(', ')})`);
  const options: Record<string, string> = {};
  for (const o of parser.options) {
    const v = spec[o.key];
    if (typeof v === 'string') options[o.key] = v;
    else if (o.required) throw new Error(`the ${parser.name} parser needs a ${o.key}`);
  }
  if (parser.yields === 'many') {
    for (const [field, v] of Object.entries(parser.parse(text, options))) values[`${spec.name}.${field}`] = v * scale;
  } else {
    values[spec.name] = (parser.parseAsync ? await parser.parseAsync(text, options) : parser.parse(text, options)) * scale;
  }
}

/**
 * Every metric of `specs` that applies to `testName` (no `test`, or that test), read from `stdout` or
 * from a file in `outputDir`, by the parser each names (src/metrics/registry.ts). Parsers that yield
 * several values (wrk, redis-benchmark, tcp-echo) give `<name>.<field>`; the others `<name>`.
 * `scale` multiplies each value.
 */
export async function extractMetrics(
  specs: MetricSpec[],
  testName: string,
  stdout: string,
  outputDir: string,
): Promise<{ values: Record<string, number>; errors: string[] }> {
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
      await extractOne(spec, text, values);
    } catch (e) {
      errors.push(`metric "${spec.name}": ${(e as Error).message}`);
    }
  }
  return { values, errors };
}
