// What a metric parser is. Each parser is one module exporting one of these; registry.ts holds
// them by name, and everything that names parsers (the experiment schema and its JSON Schema, the
// objective's check, extraction) asks the registry instead of keeping a list of its own.

/** An option a parser takes in its metrics entry, beside `parser:` (the regex parser's `pattern`); its value is a string. */
export interface ParserOption {
  /** The key in the metrics entry. */
  key: string;
  /** What the value is, for the JSON Schema and editors ("a pattern with a capture group"). */
  description: string;
  required: boolean;
  /**
   * What is wrong with a value, in plain words, or undefined when it is fine. Called when the
   * experiment is loaded, so a bad value is refused at the line and column it was written.
   */
  check?(value: string): string | undefined;
}

/** The values of a metrics entry's options, by key (only the options the parser declares). */
export type ParserOptions = Readonly<Record<string, string>>;

interface ParserCommon {
  /** What `parser:` names it by. */
  name: string;
  /** One line: what output it reads. */
  description: string;
  options: readonly ParserOption[];
}

/** Yields one number, named after the metrics entry (`name: rps` gives `rps`). */
export interface OneValueParser extends ParserCommon {
  yields: 'one';
  /** The number in `text`; throws (a ParseError, say) when there is none. */
  parse(text: string, options: ParserOptions): number;
  /**
   * The same, off the main thread with a time limit: for parsers that run a user's code-like input
   * (a regular expression) whose cost the parser cannot bound. Extraction prefers it.
   */
  parseAsync?(text: string, options: ParserOptions): Promise<number>;
}

/**
 * The fields a many-value parser can give: these names, and names of these shapes (a percentile,
 * a benchmark's test name). An objective naming anything else is refused when the file is loaded.
 */
export interface ParserFields {
  names: readonly string[];
  /** Field names known only by their shape: the pattern and one name it takes, for messages. */
  shapes?: readonly { pattern: RegExp; example: string }[];
}

/** Yields several numbers, named `<entry>.<field>` (`name: http` gives `http.requests_per_sec`...). */
export interface ManyValueParser extends ParserCommon {
  yields: 'many';
  fields: ParserFields;
  /** The numbers in `text` by field; throws when the output holds none. */
  parse(text: string, options: ParserOptions): Record<string, number>;
}

export type MetricParser = OneValueParser | ManyValueParser;
