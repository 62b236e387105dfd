// Job signatures. A worker executes what it dequeues as its own user (root, often), so anyone who
// can write to Redis could otherwise run commands on every worker. With a job key (a secret file
// the operator gives the coordinator and every worker), the coordinator signs each job it queues
// with HMAC-SHA256 over the job's id and canonical content, and workers run only jobs whose signature
// matches: a job added to Redis by anyone else, or altered there, is refused.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** The field of a job's data that carries its signature. */
export const SIGNATURE = 'signature';

/** Read a job key file: only its owner may read it (mode 0600 or stricter), at least 32 characters. */
export function readJobKey(path: string, flag = '--job-key'): Buffer {
  let mode: number;
  let text: string;
  try {
    mode = statSync(path).mode;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new UsageError(`${flag}: ${path} may be read by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); it signs the jobs workers execute: chmod 600 ${path}`);
  }
  const key = text.split('\n')[0]?.trim() ?? '';
  if (key.length < 32) throw new UsageError(`${flag}: ${path}: the key (its first line) must be at least 32 characters, for example from \`openssl rand -hex 32\``);
  return Buffer.from(key, 'utf8');
}

/** JSON with object keys sorted and undefined members left out, as it reads back from Redis. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([k, x]) => x !== undefined && k !== SIGNATURE)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/**
 * The signature of a job: its name (build, test), its id and its data, without any signature it
 * carries. The id is signed so that a signed job copied under another id (to run it again) is
 * refused; under its own id, BullMQ keeps it a week and adding it again is a no-op.
 */
export function signJob(key: Buffer, name: string, id: string, data: unknown): string {
  return createHmac('sha256', key).update(`${name}\n${id}\n`).update(canonicalJson(data)).digest('hex');
}

/** Why a job's signature does not hold, or undefined when it does. */
export function checkJob(key: Buffer, name: string, id: string, data: unknown): string | undefined {
  const given = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[SIGNATURE] : undefined;
  if (typeof given !== 'string' || !/^[0-9a-f]{64}$/.test(given)) return 'the job is not signed';
  const want = Buffer.from(signJob(key, name, id, data), 'hex');
  return timingSafeEqual(want, Buffer.from(given, 'hex')) ? undefined : 'the job\'s signature does not match its content (altered, copied under another id, or signed with another key)';
}
