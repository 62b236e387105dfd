// Network namespaces that jobs create carry a prefix owned by one work directory, so that a
// wayfinder starting after a kill can remove exactly the namespaces its predecessor's jobs left.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';

/** Short and stable per work directory: namespace names are also interface-name material. */
export function netnsPrefix(workdir: string): string {
  return `wf${createHash('sha1').update(workdir).digest('hex').slice(0, 6)}`;
}

export function listNetns(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Delete every namespace named `<prefix>-...`; returns the names removed. */
export function reapNetns(prefix: string): string[] {
  const removed: string[] = [];
  for (const name of listNetns()) {
    if (!name.startsWith(`${prefix}-`)) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // Already gone, or iproute2 missing (then no job could have made one either).
    }
  }
  return removed;
}
