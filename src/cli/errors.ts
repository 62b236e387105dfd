// Errors a person caused (bad file, bad flag) end with a located message and status 2; never a stack.

import { UsageError } from '../errors.js';
import { InputError } from '../types.js';
import { parseCpuList } from '../util/cpulist.js';

export { UsageError };

export function positiveInt(text: string, flag: string, min = 1): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag}: expected a whole number ≥ ${min}, got "${text}"`);
  return n;
}

/** `--cpus`: a CPU list such as 0-3,8. */
export function parseCpus(text: string): number[] {
  try {
    const cpus = parseCpuList(text);
    if (cpus.length === 0) throw new Error('empty');
    return cpus;
  } catch {
    throw new UsageError(`--cpus: not a CPU list: "${text}" (for example 0-3,8)`);
  }
}

/** The message and exit status for an error reaching the top of a command. */
export function describeError(e: unknown): { message: string; status: number } {
  if (e instanceof InputError) return { message: e.format(), status: 2 };
  if (e instanceof UsageError) return { message: e.message, status: 2 };
  if (e instanceof Error && ['RedisUnavailableError', 'WorkdirBusyError', 'DockerUnavailableError', 'PreflightError'].includes(e.constructor.name)) return { message: e.message, status: 2 };
  // The daemon refused a request (4xx: the request's fault) or failed.
  if (e instanceof Error && e.constructor.name === 'DaemonError') return { message: e.message, status: (e as Error & { status: number }).status < 500 ? 2 : 1 };
  if (e instanceof Error) return { message: e.message, status: 1 };
  return { message: String(e), status: 1 };
}
