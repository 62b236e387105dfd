// A run's timeout and its abort (the worker stopping), in one place for every runner: the runner
// says how to end what it started, this says when and why.

export interface Stopper {
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The run's end could not wait: ask the runner to end it now (once it has something to end). */
  armed(): void;
  /** The run is over: no timer, no listener left behind. */
  dispose(): void;
}

export interface StopOptions {
  timeoutSec: number;
  signal?: AbortSignal;
}

/**
 * Calls `end` once when the timeout strikes or `signal` aborts. Until `armed()` the runner has
 * nothing to end yet (a process not started, a container not created): the call waits for it.
 * An abort that came before the run is honoured as soon as it is armed.
 */
export function stopOn(opts: StopOptions, end: () => void): Stopper {
  let timedOut = false;
  let aborted = false;
  let ready = false;
  let due = false;
  let ended = false;
  const fire = (): void => {
    if (ended) return;
    if (!ready) return void (due = true);
    ended = true;
    end();
  };
  const timer = setTimeout(() => {
    if (aborted) return;
    timedOut = true;
    fire();
  }, opts.timeoutSec * 1000);
  const onAbort = (): void => {
    if (timedOut) return;
    aborted = true;
    fire();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  return {
    get timedOut() {
      return timedOut;
    },
    get aborted() {
      return aborted;
    },
    armed() {
      ready = true;
      if (due) fire();
    },
    dispose() {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}
