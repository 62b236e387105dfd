// Ctrl-C and SIGTERM for commands that measure: the first stops gracefully (what is measured is
// kept), a second exits at once.

export interface Interrupts {
  /** How many signals arrived. */
  readonly count: number;
  release(): void;
}

export function trapInterrupts(out: NodeJS.WritableStream, message: string, onFirst: () => void): Interrupts {
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      out.write(`\n${sig}: ${message}\n`);
      onFirst();
    } else {
      out.write(`${sig} again: exiting now.\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get count() {
      return count;
    },
    release() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
