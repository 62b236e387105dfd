// The committed JSON Schema is what the generator produces from the zod schema (so it cannot
// drift), and the small helpers behind the messages behave.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conditionNames, experimentJsonSchema, experimentJsonSchemaText } from '../../src/spec/index.js';
import { closest, editDistance } from '../../src/spec/suggest.js';
import { parseDuration, parseSize } from '../../src/spec/units.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('schema/experiment.schema.json', () => {
  it('equals a fresh generation (run `npx tsx scripts/gen-schema.ts` after changing src/spec/schema.ts)', () => {
    const committed = readFileSync(join(ROOT, 'schema', 'experiment.schema.json'), 'utf8');
    expect(committed).toBe(experimentJsonSchemaText());
  });

  it('describes the three formats and the native keys', () => {
    const s = experimentJsonSchema() as {
      anyOf: Array<{ required?: string[]; properties: Record<string, unknown>; additionalProperties: boolean }>;
      $defs: Record<string, { properties: Record<string, { enum?: string[] }> }>;
    };
    expect(s.anyOf).toHaveLength(3);
    expect(s.anyOf[0]?.required).toEqual(expect.arrayContaining(['name', 'params', 'test', 'objective']));
    expect(s.anyOf[1]?.required).toEqual(expect.arrayContaining(['params', 'runs']));
    expect(s.anyOf[2]?.required).toEqual(expect.arrayContaining(['params', 'build', 'test']));
    expect(s.anyOf.every((f) => f.additionalProperties === false)).toBe(true);
    expect(s.$defs.testJob?.properties.isolation?.enum).toEqual(['none', 'core', 'cache', 'socket', 'full']);
    expect(Object.keys(s.$defs.param?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'type', 'only', 'min', 'max', 'step', 'step_mode', 'default', 'when', 'if']),
    );
  });
});

describe('suggestions', () => {
  it('counts edits, a transposition as one', () => {
    expect(editDistance('iterations', 'itrations')).toBe(1);
    expect(editDistance('metric', 'metirc')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
  });

  it('suggests only likely typos', () => {
    expect(closest('isolaton', ['iterations', 'isolation'])).toBe('isolation');
    expect(closest('comand', ['cmd', 'path', 'image'])).toBe('cmd');
    expect(closest('colour', ['name', 'params', 'test'])).toBeUndefined();
  });
});

describe('condition names', () => {
  it('finds identifiers, skipping literals and keywords', () => {
    expect(conditionNames("CPU_GOV=='performance' && N > 1e3 || not FLAG == true")).toEqual([
      { name: 'CPU_GOV', index: 0 },
      { name: 'N', index: 26 },
      { name: 'FLAG', index: 41 },
    ]);
    expect(conditionNames('"A" == \'B\'')).toEqual([]);
  });
});

describe('units', () => {
  it('reads durations', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('10m')).toBe(600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('10 minutes')).toBeUndefined();
    expect(parseDuration('m')).toBeUndefined();
  });

  it('reads sizes in binary units', () => {
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseSize('1024')).toBe(1024);
    expect(parseSize('lots')).toBeUndefined();
  });
});
