// Handing back the jobs a killed process held. BullMQ returns a dead worker's jobs to the queue
// only once their lock expires; a restarted process that knows the jobs were its own (it holds the
// work directory's lock, and its predecessor's worker ids are on disk) drops those locks at once,
// so the stalled-job check requeues them within a second instead of a lock's lifetime.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Delete the locks of active jobs in these queues held by one of `owners` (BullMQ worker ids;
 * a lock's value is `<worker id>:<n>`), or by anyone with 'all'. Returns how many were dropped.
 */
export async function releaseLocks(client: Redis, prefix: string, queueNames: string[], owners: string[] | 'all'): Promise<number> {
  let dropped = 0;
  for (const q of queueNames) {
    const active = await client.lrange(`${prefix}:${q}:active`, 0, -1);
    for (const id of active) {
      const key = `${prefix}:${q}:${id}:lock`;
      const holder = await client.get(key);
      if (holder === null) continue;
      if (owners === 'all' || owners.some((o) => holder.startsWith(`${o}:`))) {
        // Only if still held by the same token: a live worker may have taken it meanwhile.
        dropped += Number(await client.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, key, holder));
      }
    }
  }
  return dropped;
}

/** Every queue of this prefix that has active jobs (a scan: for one-off use at start). */
export async function queuesWithActive(client: Redis, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*:active`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) names.add(k.slice(prefix.length + 1, -':active'.length));
  } while (cursor !== '0');
  return [...names];
}

/** The worker ids a process records, so its successor can release their locks. */
export function readOwners(path: string): string[] {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function writeOwners(path: string, ids: string[]): void {
  writeFileSync(path, JSON.stringify(ids));
}
