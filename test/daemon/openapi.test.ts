// docs/openapi.yaml is written by hand except where a registry decides (the strategies a submission
// may name): those parts are what scripts/gen-openapi.ts writes from the registry, so they cannot drift.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openApiText } from '../../src/daemon/openapi.js';
import { strategyNames } from '../../src/strategies/registry.js';
import { ROOT } from '../helpers.js';

const FILE = join(ROOT, 'docs', 'openapi.yaml');

type Doc = { components: { schemas: { Submission: { properties: { strategy: { enum: string[]; description: string } } } } } };

describe('docs/openapi.yaml', () => {
  it('equals a fresh generation of its registry-backed parts (run `npx tsx scripts/gen-openapi.ts` after changing a registry)', () => {
    const committed = readFileSync(FILE, 'utf8');
    expect(committed).toBe(openApiText(committed));
  });

  it("names exactly the registry's strategies, each with its description", () => {
    const strategy = (parse(readFileSync(FILE, 'utf8')) as Doc).components.schemas.Submission.properties.strategy;
    expect(strategy.enum).toEqual(strategyNames());
    expect(strategy.description).toMatch(/grid, every configuration in declaration order.*; random, .*; bayesian, Bayesian optimisation/);
  });

  it('a file whose strategies drifted is rewritten, and only there', () => {
    const committed = readFileSync(FILE, 'utf8');
    const drifted = committed.replace(/enum: \[grid, random, bayesian\]/, 'enum: [grid, random]');
    expect(drifted).not.toBe(committed);
    expect(openApiText(drifted)).toBe(committed);
  });
});
