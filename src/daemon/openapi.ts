// The parts of docs/openapi.yaml that come from a registry (the strategies a submission may name),
// written into the hand-written rest of the file. scripts/gen-openapi.ts rewrites the file with it;
// a test checks that the committed file equals what this gives, so the description cannot drift.

import { parseDocument, type Node } from 'yaml';
import { strategyDescriptors } from '../strategies/registry.js';

const STRATEGY = ['components', 'schemas', 'Submission', 'properties', 'strategy'];

/** `text` (the OpenAPI description) with its registry-backed nodes as the registries say now. */
export function openApiText(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`docs/openapi.yaml: ${doc.errors[0]?.message}`);
  const node = doc.getIn(STRATEGY, true) as Node | undefined;
  if (!node?.range) throw new Error(`docs/openapi.yaml has no ${STRATEGY.join('.')} to describe the strategies in`);
  const strategies = strategyDescriptors();
  const names = strategies.map((s) => (/^[a-z][a-z0-9._-]*$/.test(s.name) ? s.name : JSON.stringify(s.name)));
  const description = `the search strategy (overrides the file's): ${strategies.map((s) => `${s.name}, ${s.description}`).join('; ')}`;
  // Only the value's own text is replaced: the rest of the file keeps its hand-written layout.
  const value = `{ type: string, enum: [${names.join(', ')}], description: ${JSON.stringify(description)} }`;
  const [start, end] = node.range;
  return text.slice(0, start) + value + text.slice(end);
}
