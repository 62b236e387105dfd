// Reading and writing the `schemata` text. The read format changed across kernels (line order,
// right-aligned names, zero- and space-padded values), so parsing accepts all of them.

/** Resource name (L3, L3CODE, MB…) -> domain id -> value as written, padding removed. */
export type Schemata = Map<string, Map<number, string>>;

export function parseSchemata(text: string): Schemata {
  const out: Schemata = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`schemata line without "<resource>:": "${raw}"`);
    const name = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1).trim();
    // A group in pseudo-locksetup prints "L3:uninitialized"; it has no values to read.
    if (rest === 'uninitialized') continue;
    const domains = new Map<number, string>();
    for (const part of rest.split(';')) {
      if (part.trim() === '') continue;
      const m = /^\s*(\d+)\s*=\s*(\S+)\s*$/.exec(part);
      if (!m) throw new Error(`schemata entry is not "<domain>=<value>": "${part}" in line "${raw}"`);
      domains.set(Number(m[1]), m[2] as string);
    }
    out.set(name, domains);
  }
  return out;
}

/** One line per resource, domains ascending, ending in "\n" as the kernel requires. */
export function formatSchemata(s: Schemata): string {
  let text = '';
  for (const [name, domains] of s) {
    const ids = [...domains.keys()].sort((a, b) => a - b);
    text += `${name}:${ids.map((id) => `${id}=${domains.get(id)}`).join(';')}\n`;
  }
  return text;
}

/** A cache bit mask value ("00f", "0xff") as a number. */
export function parseCbm(value: string): number {
  const v = value.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]+$/i.test(v)) throw new Error(`not a hex cache bit mask: "${value}"`);
  return parseInt(v, 16);
}

export function formatCbm(mask: number): string {
  return mask.toString(16);
}
