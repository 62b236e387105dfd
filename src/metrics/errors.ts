/** A tool's output held no result the parser could read; the message names the parser and what was missing. */
export class ParseError extends Error {
  constructor(
    public readonly parser: string,
    public readonly detail: string,
  ) {
    super(`${parser}: ${detail}`);
    this.name = 'ParseError';
  }
}
