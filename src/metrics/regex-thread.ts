// A user's pattern matched on a worker thread, with a time limit. A pattern like (a+)+$ takes
// exponential time on some text; matched on the main thread it would stop everything the process
// does (the daemon's API, its results, every other job's bookkeeping) for as long as it runs.
// One thread serves the process, one match at a time; a match past the limit ends the thread (a
// regular expression cannot be interrupted any other way) and the next match starts a new one.

import { Worker } from 'node:worker_threads';

/** How long one pattern may take over one run's output. */
export const REGEX_LIMIT_MS = 2_000;

export class RegexTimeoutError extends Error {}

/** What the last match of the pattern captured: group `value`, else group 1; undefined without a match. */
export interface LastMatch {
  whole: string;
  captured: string | undefined;
}

// The thread's code, self-contained (no imports), so it runs the same from the sources and the build.
const THREAD = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', ({ id, text, pattern }) => {
  try {
    let last = null;
    for (const m of text.matchAll(new RegExp(pattern, 'gm'))) last = m;
    parentPort.postMessage({ id, last: last && { whole: last[0], captured: (last.groups && last.groups.value) ?? last[1] } });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  id: number;
  text: string;
  pattern: string;
  limitMs: number;
  resolve: (m: LastMatch | undefined) => void;
  reject: (e: Error) => void;
}

let thread: Worker | undefined;
let nextId = 1;
let current: (Pending & { timer: NodeJS.Timeout }) | undefined;
const queue: Pending[] = [];

function start(): Worker {
  // Not the process's flags: --input-type=module would make the thread's script a module (no require).
  const w = new Worker(THREAD, { eval: true, execArgv: [] });
  w.on('message', (msg: { id: number; last?: LastMatch | null; error?: string }) => {
    if (!current || msg.id !== current.id) return;
    const c = current;
    current = undefined;
    clearTimeout(c.timer);
    if (msg.error !== undefined) c.reject(new Error(msg.error));
    else c.resolve(msg.last ?? undefined);
    next();
  });
  w.on('error', (e) => {
    thread = undefined;
    const c = current;
    current = undefined;
    if (c) {
      clearTimeout(c.timer);
      c.reject(e);
    }
    next();
  });
  // An idle thread must not keep a finished process alive (a match waiting for it is held by its
  // time limit's timer). Unref'd after the listeners: adding a message listener refs it again.
  w.unref();
  return w;
}

function next(): void {
  if (current || queue.length === 0) return;
  const p = queue.shift() as Pending;
  thread ??= start();
  const w = thread;
  const timer = setTimeout(() => {
    if (current?.id !== p.id) return;
    current = undefined;
    thread = undefined;
    void w.terminate();
    p.reject(new RegexTimeoutError(`matching took longer than ${p.limitMs / 1000} s and was stopped`));
    next();
  }, p.limitMs);
  current = { ...p, timer };
  w.postMessage({ id: p.id, text: p.text, pattern: p.pattern });
}

/** The last match of `pattern` (flags g and m) in `text`, found off the main thread within `limitMs`. */
export function lastMatch(text: string, pattern: string, limitMs = REGEX_LIMIT_MS): Promise<LastMatch | undefined> {
  return new Promise((resolve, reject) => {
    queue.push({ id: nextId++, text, pattern, limitMs, resolve, reject });
    next();
  });
}
