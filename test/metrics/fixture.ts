import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The text of a file in test/fixtures/metrics (recorded by record.sh there, or constructed and marked so). */
export function fixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../fixtures/metrics/${name}`, import.meta.url)), 'utf8');
}
