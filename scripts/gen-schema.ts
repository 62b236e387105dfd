// Writes schema/experiment.schema.json from the zod schema in src/spec, so editors can validate
// experiment files. test/spec checks the committed file equals a fresh generation.
//   npx tsx scripts/gen-schema.ts

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { experimentJsonSchemaText } from '../src/spec/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'schema', 'experiment.schema.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, experimentJsonSchemaText());
console.log(`wrote ${out}`);
