// This wayfinder's version, from its package.json.

import { readFileSync } from 'node:fs';

export function wayfinderVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
