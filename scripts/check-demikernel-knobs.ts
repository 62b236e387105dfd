// Checks experiments/demikernel/knobs.yaml against a Demikernel tree you name (a checkout of
// microsoft/demikernel; this script neither fetches nor builds it):
//   npx tsx scripts/check-demikernel-knobs.ts /path/to/demikernel [--catalogue FILE]
//   (or WAYFINDER_DEMIKERNEL_TREE=/path/to/demikernel npx tsx scripts/check-demikernel-knobs.ts)
// For every entry: `patch` - the file exists, the pattern matches exactly once, its group is the
// default, and the project's own patch (src/targets/patch.ts) applied to a copy of the tree with a
// non-default value changes exactly that place and nothing else; `config` - the runtime YAML reader
// (src/rust/demikernel/config.rs) has the section and key and uses the key; `env` - the variable is
// read; a `default_at` is checked like a patch's default. The tree itself is never written.
// Prints one line per entry (OK or what is wrong); exit 0 when all are OK, 1 if not, 2 on bad usage.

import { cpSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse } from 'yaml';
import { applyPatch, PatchError } from '../src/targets/patch.js';

export interface Located {
  file: string;
  pattern: string;
}

export interface Knob {
  name: string;
  how: 'config' | 'env' | 'patch';
  type?: string;
  default?: string | number | boolean;
  values?: Array<string | number | boolean>;
  range?: [number, number];
  path?: string;
  file?: string;
  pattern?: string;
  default_at?: Located;
  verified?: boolean;
}

export interface Catalogue {
  checked_against?: { release?: string; branch?: string; commit?: string };
  knobs: Knob[];
}

export interface KnobResult {
  name: string;
  how: string;
  ok: boolean;
  detail: string;
}

export const CONFIG_READER = 'src/rust/demikernel/config.rs';

class CheckFailure extends Error {}

/** Where the pattern's only match is in the text: its first group's span, text and line. */
function locate(text: string, spec: Located): { start: number; end: number; group: string; line: number } {
  // Counted with the flags src/targets/patch.ts counts with, so "exactly once" means the same here.
  const count = [...text.matchAll(new RegExp(spec.pattern, 'gm'))].length;
  if (count !== 1) throw new CheckFailure(`pattern ${JSON.stringify(spec.pattern)} matches ${count} times in ${spec.file}; it must match exactly once`);
  const m = new RegExp(spec.pattern, 'dm').exec(text) as RegExpExecArray & { indices: Array<[number, number] | undefined> };
  const span = m.indices[1];
  if (span === undefined) throw new CheckFailure(`pattern ${JSON.stringify(spec.pattern)} has no capture group around the value`);
  return { start: span[0], end: span[1], group: text.slice(span[0], span[1]), line: text.slice(0, span[0]).split('\n').length };
}

function readIn(tree: string, file: string): string {
  const path = join(tree, file);
  if (!existsSync(path)) throw new CheckFailure(`file ${file} does not exist`);
  return readFileSync(path, 'utf8');
}

/** The default as the source writes it, checked at `at`; returns "file:line". */
function checkDefault(tree: string, knob: Knob, at: Located): string {
  const site = locate(readIn(tree, at.file), at);
  if (site.group !== String(knob.default)) throw new CheckFailure(`the source's default is ${site.group} (${at.file}:${site.line}), the catalogue says ${String(knob.default)}`);
  return `${at.file}:${site.line}`;
}

/** A value other than the default to patch in: the first other listed value, else a range end. */
export function otherValue(knob: Knob): string {
  const def = String(knob.default);
  const other = knob.values?.map(String).find((v) => v !== def);
  if (other !== undefined) return other;
  if (knob.range) return String(knob.range[1]) !== def ? String(knob.range[1]) : String(knob.range[0]);
  throw new CheckFailure('no values or range to take a non-default value from');
}

function checkPatch(copy: string, knob: Knob): string {
  if (knob.file === undefined || knob.pattern === undefined) throw new CheckFailure('a patch entry needs file and pattern');
  const spec = { file: knob.file, pattern: knob.pattern };
  const before = readIn(copy, spec.file);
  const site = locate(before, spec);
  if (site.group !== String(knob.default)) throw new CheckFailure(`the source's value is ${site.group} (${spec.file}:${site.line}), the catalogue's default is ${String(knob.default)}`);
  const value = otherValue(knob);
  try {
    applyPatch(copy, spec, knob.name, value);
  } catch (e) {
    if (e instanceof PatchError) throw new CheckFailure(e.message);
    throw e;
  }
  const after = readFileSync(join(copy, spec.file), 'utf8');
  if (after !== before.slice(0, site.start) + value + before.slice(site.end)) {
    throw new CheckFailure(`patching ${value} changed ${spec.file} elsewhere than ${spec.file}:${site.line}`);
  }
  // A reused build copy is patched again: the pattern must still find the one place, now the value.
  const again = locate(after, spec);
  if (again.group !== value) throw new CheckFailure(`after patching ${value} the pattern finds ${again.group}`);
  const line = after.split('\n')[site.line - 1]?.trim() ?? '';
  return `${spec.file}:${site.line} ${String(knob.default)} -> ${value}: ${line}`;
}

/** The reader's sections: `mod x { SECTION_NAME: &str = "s"; KEY: &str = "k"; ... }`. */
function configSections(reader: string): Map<string, { mod: string; keys: Map<string, string> }> {
  const sections = new Map<string, { mod: string; keys: Map<string, string> }>();
  for (const block of reader.matchAll(/^mod (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const keys = new Map<string, string>();
    let section: string | undefined;
    for (const c of (block[2] ?? '').matchAll(/pub const (\w+): &str = "([^"]*)";/g)) {
      if (c[1] === 'SECTION_NAME') section = c[2];
      else keys.set(c[2] as string, c[1] as string);
    }
    if (section !== undefined) sections.set(section, { mod: block[1] as string, keys });
  }
  return sections;
}

function checkConfig(tree: string, knob: Knob): string {
  const [section, key, ...rest] = (knob.path ?? '').split('.');
  if (!section || !key || rest.length > 0) throw new CheckFailure(`path ${JSON.stringify(knob.path)} is not section.key`);
  const reader = readIn(tree, CONFIG_READER);
  const sections = configSections(reader);
  const found = sections.get(section);
  if (!found) throw new CheckFailure(`${CONFIG_READER} has no section "${section}" (it has ${[...sections.keys()].join(', ')})`);
  const constant = found.keys.get(key);
  if (!constant) throw new CheckFailure(`section "${section}" of ${CONFIG_READER} has no key "${key}" (it has ${[...found.keys.keys()].join(', ')})`);
  const use = `${found.mod}::${constant}`;
  const at = reader.indexOf(use);
  if (at < 0) throw new CheckFailure(`${CONFIG_READER} declares "${key}" but no method reads ${use}`);
  const where = `${CONFIG_READER}:${reader.slice(0, at).split('\n').length} reads ${section}.${key}`;
  return knob.default_at ? `${where}; default ${String(knob.default)} at ${checkDefault(tree, knob, knob.default_at)}` : `${where}; no default in the source`;
}

function rustFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.rs')).map((f) => join(dir, f));
}

function checkEnv(tree: string, knob: Knob): string {
  const src = join(tree, 'src', 'rust');
  if (!existsSync(src)) throw new CheckFailure('the tree has no src/rust');
  const read = `env::var("${knob.name}")`;
  const readers = rustFiles(src).filter((f) => readFileSync(f, 'utf8').includes(read)).map((f) => f.slice(tree.length + 1));
  if (readers.length === 0) throw new CheckFailure(`no ${read} in src/rust`);
  const where = `read in ${readers.join(', ')}`;
  return knob.default_at ? `${where}; default ${String(knob.default)} at ${checkDefault(tree, knob, knob.default_at)}` : where;
}

function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => lstatSync(join(dir, f)).isFile()).sort();
}

// The checkout's history and cargo's output (gigabytes once built) are not source: not copied.
const NOT_SOURCE = new Set(['.git', 'target']);

/** Every entry against the tree; the patches go to a copy of it, removed afterwards. */
export function checkKnobs(tree: string, catalogue: Catalogue): KnobResult[] {
  const copy = mkdtempSync(join(tmpdir(), 'wf-demikernel-'));
  try {
    cpSync(tree, copy, { recursive: true, filter: (from) => !NOT_SOURCE.has(relative(tree, from)) });
    const results: KnobResult[] = [];
    const patched = new Set<string>();
    for (const knob of catalogue.knobs) {
      try {
        const detail =
          knob.how === 'patch' ? checkPatch(copy, knob) : knob.how === 'config' ? checkConfig(tree, knob) : knob.how === 'env' ? checkEnv(tree, knob) : undefined;
        if (detail === undefined) throw new CheckFailure(`unknown how: ${String(knob.how)}`);
        if (knob.how === 'patch' && knob.file) patched.add(knob.file);
        results.push({ name: knob.name, how: knob.how, ok: true, detail });
      } catch (e) {
        if (!(e instanceof CheckFailure)) throw e;
        results.push({ name: knob.name, how: knob.how, ok: false, detail: e.message });
      }
    }
    // The copy differs from the tree in the patched files and nowhere else.
    const stray = filesUnder(copy).filter((f) => !patched.has(f) && !readFileSync(join(copy, f)).equals(readFileSync(join(tree, f))));
    if (stray.length > 0) results.push({ name: '(tree copy)', how: 'patch', ok: false, detail: `files changed that no entry names: ${stray.join(', ')}` });
    return results;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function usage(message: string): never {
  process.stderr.write(`check-demikernel-knobs: ${message}\n  usage: npx tsx scripts/check-demikernel-knobs.ts DEMIKERNEL_TREE [--catalogue FILE]\n`);
  process.exit(2);
}

function main(argv: string[]): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  let catalogueFile = join(root, 'experiments', 'demikernel', 'knobs.yaml');
  let tree = process.env.WAYFINDER_DEMIKERNEL_TREE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--catalogue') {
      const next = argv[++i];
      if (next === undefined) usage('--catalogue needs a file');
      catalogueFile = resolve(next);
    } else if (arg.startsWith('-')) usage(`unknown flag ${arg}`);
    else tree = arg;
  }
  if (!tree) usage('name a Demikernel tree (a checkout of https://github.com/microsoft/demikernel), or set WAYFINDER_DEMIKERNEL_TREE');
  tree = resolve(tree);
  if (!existsSync(tree) || !statSync(tree).isDirectory()) usage(`${tree} is not a directory`);
  if (!existsSync(join(tree, 'src', 'rust'))) usage(`${tree} has no src/rust: name the top of a Demikernel checkout`);
  if (!existsSync(catalogueFile)) usage(`--catalogue ${catalogueFile} does not exist`);
  let catalogue: Catalogue;
  try {
    catalogue = parse(readFileSync(catalogueFile, 'utf8')) as Catalogue;
  } catch (e) {
    usage(`${catalogueFile}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!Array.isArray(catalogue?.knobs)) usage(`${catalogueFile} has no knobs: list`);
  const results = checkKnobs(tree, catalogue);
  for (const r of results) process.stdout.write(`${r.ok ? 'OK  ' : 'FAIL'} ${r.name} (${r.how}): ${r.detail}\n`);
  const bad = results.filter((r) => !r.ok).length;
  const against = catalogue.checked_against;
  process.stdout.write(
    `${results.length - bad} of ${results.length} OK in ${tree}` +
      (against ? ` (the catalogue says it was checked against ${against.release ?? '?'} ${against.commit ?? ''})` : '') +
      '\n',
  );
  process.exit(bad > 0 ? 1 : 0);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));
