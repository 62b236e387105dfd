// A configuration's identity, as Wayfinder forms it, so that published Wayfinder results stay
// addressable. In Wayfinder's Go source (lancs-net/wayfinder job/task.go Task.UUID, and
// unikraft/wayfinder spec/job.go checksum/buildChecksum) the md5 is fed, for every parameter in
// declaration order, fmt.Sprintf("%s=%s\n", name, value): no sorting, no separator other than the
// newline, and a newline after the last entry too. The build checksum skips parameters whose
// `when` is "test". Values are the strings Wayfinder read from YAML; integers from ranges are
// written with strconv.Itoa (decimal). Wayfinder has no boolean type: a YAML true/false in an
// `only` list reaches its Go string field as "true"/"false", which is what formatValue writes.

import { createHash } from 'node:crypto';
import { InputError, type Config, type Param, type Value } from '../types.js';

/** A value as Wayfinder writes it: integers in decimal, strings as they are, booleans true/false. */
export function formatValue(v: Value): string {
  if (typeof v === 'number') {
    // Decimal digits also for integers past 1e21, where String() would switch to exponent form.
    return Number.isInteger(v) ? BigInt(v).toString() : String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v;
}

/** md5 hex over `NAME=VALUE\n` for every parameter in declaration order. */
export function configChecksum(params: Param[], config: Config): string {
  return md5Lines(params, config);
}

/** The same over the build parameters only: configurations that share it share a build. */
export function buildChecksum(params: Param[], config: Config): string {
  return md5Lines(
    params.filter((p) => p.when === 'build'),
    config,
  );
}

function md5Lines(params: Param[], config: Config): string {
  const h = createHash('md5');
  for (const p of params) {
    const v = config[p.name];
    if (v === undefined) throw new InputError(`configuration has no value for parameter '${p.name}'`);
    h.update(`${p.name}=${formatValue(v)}\n`, 'utf8');
  }
  return h.digest('hex');
}

/**
 * The identity of a configuration's effective configuration: its Kconfig parameters replaced by
 * the resolved .config they produced (`resolvedHash`, every symbol the tree's resolver left), the
 * other parameters as they are. Configurations whose requests resolve alike share it, and their
 * build (`buildId`, the same over the build parameters only).
 */
export function effectiveChecksums(params: Param[], config: Config, resolvedHash: string): { effectiveId: string; buildId: string } {
  const lines = (ps: Param[]): string => {
    let out = `kconfig=${resolvedHash}\n`;
    for (const p of ps) {
      if (p.kconfig && p.when === 'build') continue;
      const v = config[p.name];
      if (v === undefined) throw new InputError(`configuration has no value for parameter '${p.name}'`);
      out += `${p.name}=${formatValue(v)}\n`;
    }
    return out;
  };
  const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');
  return { effectiveId: md5(lines(params)), buildId: md5(lines(params.filter((p) => p.when === 'build'))) };
}
