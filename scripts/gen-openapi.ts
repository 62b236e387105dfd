// Rewrites the registry-backed parts of docs/openapi.yaml (the strategies a submission may name)
// from src/strategies/registry.ts; the rest of the file is written by hand. test/daemon/openapi.test.ts
// checks the committed file equals a fresh generation.
//   npx tsx scripts/gen-openapi.ts

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiText } from '../src/daemon/openapi.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = join(root, 'docs', 'openapi.yaml');
writeFileSync(file, openApiText(readFileSync(file, 'utf8')));
console.log(`wrote ${file}`);
