// The experiment file: read it (native, Wayfinder paper-era or Wayfinder daemon format), check
// it, and hand back the normalised Experiment. Every problem is an InputError at file:line:col.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError, type Experiment } from '../types.js';
import { MAX_FILE_BYTES, SourceDoc } from './document.js';
export { SourceDoc };
import { daemonDraft, detectFormat, nativeDraft, paperDraft } from './formats.js';
import { validate } from './issues.js';
import { normalise } from './normalise.js';
import { experimentSchemas } from './schema.js';

export { experimentJsonSchema, experimentJsonSchemaText } from './schema.js';
export { detectFormat, LAST_NUMBER_PATTERN, LEADING_INTEGER_PATTERN, LEADING_NUMBER_PATTERN, IMPLIED_METRIC, DOMAIN_ADDRESS, DOMAIN_GATEWAY, DOMAIN_PREFIX } from './formats.js';
export { conditionNames, describeDomain, inDomain } from './params.js';
export { MAX_FILE_BYTES, MAX_EXPANDED_NODES } from './document.js';

/** Read and check an experiment file. Relative script paths resolve against its directory. */
export function loadExperiment(path: string): Experiment {
  const file = resolve(path);
  const top = { file: path, line: 1, col: 1 };
  let text: string;
  try {
    const size = statSync(file).size;
    // Refuse before reading: a huge file should cost nothing.
    if (size > MAX_FILE_BYTES) {
      throw new InputError(`file is ${size} bytes; an experiment file may be at most ${MAX_FILE_BYTES} bytes (1 MiB)`, top);
    }
    text = readCapped(file);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : `cannot read it (${code ?? 'error'})`;
    throw new InputError(`cannot open experiment file: ${why}`, top);
  }
  return parseWith(text, path, file);
}

/** Check experiment text as if read from `file` (used for locations and to resolve scripts). */
export function parseExperiment(text: string, file: string): Experiment {
  return parseWith(text, file, resolve(file));
}

function parseWith(text: string, shownFile: string, absFile: string): Experiment {
  const src = SourceDoc.parse(text, shownFile);
  const dir = dirname(absFile);
  const format = detectFormat(src.value);
  const schemas = experimentSchemas();
  const draft =
    format === 'paper'
      ? paperDraft(validate(schemas.paper, src), src)
      : format === 'daemon'
        ? daemonDraft(validate(schemas.daemon, src), src)
        : nativeDraft(validate(schemas.native, src));
  return normalise(draft, src, absFile, dir);
}

/** Read at most one byte past the limit, so a file that grew after stat() is still refused. */
function readCapped(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
