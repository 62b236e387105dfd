// scripts/build/unikraft.sh against a small Unikraft-shaped tree the test makes (CI has no Unikraft
// tree and no internet): a top Makefile that takes A, L, O, C and WGET as Unikraft's does and has a
// UK_LIBS of its own, an app whose Makefile uses $(PWD), libraries whose order matters and which
// download a source archive, and an app root filesystem. Real make, cpio and tar; the archive
// "server" is a port on 127.0.0.1 where nothing listens (an offline host).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, requireTool, tempDir, wayfinder, writeFile } from '../helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

const SCRIPT = join(ROOT, 'scripts', 'build', 'unikraft.sh');
const OFFLINE = 'http://127.0.0.1:9/dist';

function put(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

/** Every file and folder under `dir`, relative: what a build must leave as it was. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(`${r}:${e.isDirectory() ? 'd' : statSync(join(d, e.name)).mtimeMs}`);
      if (e.isDirectory()) walk(join(d, e.name), r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** A tar.gz whose single file says which library it is, as a source archive would hold sources. */
function archive(dir: string, name: string, top: string): string {
  const src = join(dir, `src-${top}`);
  put(join(src, top, 'VERSION'), `${top}\n`);
  const file = join(dir, name);
  const r = spawnSync('tar', ['-czf', file, '-C', src, top]);
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  return file;
}

/**
 * The stand-in tree. Like Unikraft: the build goes to O (default: inside the tree, where a build
 * that forgets O would write), C is the .config, L lists the libraries in the order their
 * Makefile.uk are read, and a library that needs another's headers fails when read before it.
 */
function standIn(dir: string): { root: string; app: string; libs: string } {
  const root = join(dir, 'uk', 'unikraft');
  put(
    join(root, 'Makefile'),
    `# stand-in for Unikraft's top Makefile
ifneq ("$(origin A)", "command line")
A := $(CURDIR)
endif
.DEFAULT_GOAL := all
O ?= $(CURDIR)/build
C ?= $(A)/.config
-include $(C)
WGET := wget
UK_LIBS :=
SEEN :=
ifneq ("$(origin UK_LIBS)", "file")
$(error UK_LIBS came from the $(origin UK_LIBS): Unikraft's own list of libraries is overridden)
endif
include $(A)/Makefile.uk
$(foreach d,$(subst :, ,$(L)),$(eval include $(d)/Makefile.uk))

all: $(foreach l,$(UK_LIBS),$(O)/$(l).o)
\t@mkdir -p $(O)
\tcat $^ > $(O)/$(APPNAME)_qemu-x86_64

olddefconfig:
\t@for d in $(subst :, ,$(L)); do n=$$(basename $$d | sed 's/^lib-//' | tr a-z A-Z); grep -q "^CONFIG_LIB$\${n}_INCLUDED=y" $(C) || echo "CONFIG_LIB$\${n}_INCLUDED=y" >> $(C); done
\t@echo "# configuration written to $(C)"

$(O)/%.o: $(O)/%/origin/.done
\t(cat $(O)/$*/origin/*/VERSION; echo "built with: $(SEEN)") > $@
`,
  );
  put(join(root, 'Config.uk'), 'mainmenu "stand-in"\n');
  mkdirSync(join(root, 'support', 'build'), { recursive: true });

  const app = join(dir, 'uk', 'apps', 'app-demo');
  put(
    join(app, 'Makefile'),
    `UK_ROOT ?= $(PWD)/workdir/unikraft
UK_LIBS ?= $(PWD)/workdir/libs
UK_BUILD ?= $(PWD)/workdir/build
LIBS := $(UK_LIBS)/zlibc:$(UK_LIBS)/anet

all:
\t@$(MAKE) -C $(UK_ROOT) A=$(PWD) L=$(LIBS) O=$(UK_BUILD)
`,
  );
  put(join(app, 'Makefile.uk'), 'APPNAME := demo\n');
  put(join(app, 'rootfs', 'srv', 'conf', 'demo.conf'), 'listen 80;\n');
  put(join(app, 'rootfs', 'srv', 'html', 'index.html'), 'hello\n');
  put(join(app, 'rootfs', 'a.txt'), 'a\n');

  const libs = join(dir, 'uk', 'libs');
  // zlibc is the C library: anet (alphabetically first) needs its types, so zlibc must be read first.
  const lib = (name: string, symbol: string, fetch: string, extra = '') => {
    put(join(libs, `lib-${name}`, 'Config.uk'), `config ${symbol}_INCLUDED\n\tbool\n\tdefault y\n\nmenuconfig ${symbol}\n\tbool "${name}"\n`);
    put(
      join(libs, `lib-${name}`, 'Makefile.uk'),
      `${extra}ifeq ($(CONFIG_${symbol}),y)
UK_LIBS += ${name}
endif
SEEN += ${name}
$(O)/${name}/${fetch}:
\tmkdir -p $(O)/${name}
\t$(WGET) -q --show-progress -O $@ ${OFFLINE}/${fetch} || rm -f $@
$(O)/${name}/origin/.done: $(O)/${name}/${fetch}
\tmkdir -p $(O)/${name}/origin && tar -xzf $< -C $(O)/${name}/origin && touch $@
`,
    );
  };
  lib('zlibc', 'LIBZLIBC', 'zlibc-1.0.tar.gz');
  lib('anet', 'LIBANET', 'anet-2.1.tar.gz', 'ifeq ($(filter zlibc,$(SEEN)),)\n$(error anet: socklen_t unknown: the C library must come first)\nendif\n');
  // Present but not enabled: its archive exists nowhere, so reading it in the build would fail.
  lib('extra', 'LIBEXTRA', 'extra-9.tar.gz');
  return { root, app, libs };
}

const CONFIG = 'CONFIG_LIBZLIBC=y\nCONFIG_LIBANET=y\n# CONFIG_LIBEXTRA is not set\n';

function build(env: Record<string, string>, cwd: string, args: string[] = []) {
  return spawnSync(SCRIPT, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
}

/** A stand-in tree in a fresh temporary folder, and a folder of the archives named (the offline host's). */
function setUp(archives: Array<[string, string]>): { dir: string; root: string; app: string; libs: string; seed: string } {
  for (const [tool, pkg] of [['make', 'make'], ['cpio', 'cpio'], ['tar', 'tar']] as const) requireTool(tool, pkg);
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const seed = join(dir, 'offline-archives');
  mkdirSync(seed);
  for (const [name, top] of archives) archive(seed, name, top);
  return { dir, ...standIn(dir), seed };
}

const BOTH: Array<[string, string]> = [['zlibc-1.0.tar.gz', 'zlibc-1.0'], ['anet-2.1.tar.gz', 'anet-2.1']];

describe('the Unikraft build script on a Unikraft-shaped tree', () => {
  it('builds out of tree, libraries in the order that builds, archives from the folder then the cache, initrd folders first', () => {
    const { dir, root, app, libs, seed } = setUp(BOTH);
    const cache = join(dir, 'wd', 'archives');
    const elsewhere = join(dir, 'cwd');
    mkdirSync(elsewhere);
    const before = listing(join(dir, 'uk'));

    const one = join(dir, 'wd', 'b1');
    put(join(one, '.config'), CONFIG);
    // Wayfinder's environment: UK_LIBS is the user's folder, the cache and the folder named.
    const env = { UK_ROOT: root, UK_APP: app, UK_LIBS: libs, WAYFINDER_BUILD_DIR: one, KCONFIG_CONFIG: join(one, '.config'), WAYFINDER_ARCHIVES: cache, WAYFINDER_ARCHIVES_FROM: seed };
    const resolve = build(env, elsewhere, ['olddefconfig']);
    expect(resolve.status, resolve.stderr).toBe(0);
    // Kconfig saw every library, the one not enabled too.
    expect(readFileSync(join(one, '.config'), 'utf8')).toContain('CONFIG_LIBEXTRA_INCLUDED=y');
    const r = build(env, elsewhere);
    expect(r.status, r.stderr).toBe(0);
    const real = realpathSync(libs);
    expect(r.stderr).toContain(`libraries in this order: ${real}/lib-zlibc:${real}/lib-anet (of ${real}/lib-zlibc:${real}/lib-anet:${real}/lib-extra)`);
    const image = readFileSync(join(one, 'kernel'), 'utf8');
    expect(image).toContain('zlibc-1.0');
    expect(image).toContain('anet-2.1');
    expect(r.stderr).toContain(`zlibc-1.0.tar.gz from ${seed}/zlibc-1.0.tar.gz, into the archive cache ${cache}`);
    expect(existsSync(join(cache, '127.0.0.1:9', 'dist', 'anet-2.1.tar.gz'))).toBe(true);

    // Nothing written into the trees nor where it was started; the build is under the build directory.
    expect(listing(join(dir, 'uk'))).toEqual(before);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(join(one, 'build', 'demo_qemu-x86_64'))).toBe(true);

    // The initrd: every folder before what it holds (Unikraft makes each entry as it reads it), no '.'.
    const list = spawnSync('cpio', ['-it', '--quiet'], { input: readFileSync(join(one, 'rootfs.cpio')), encoding: 'utf8' });
    const entries = list.stdout.trim().split('\n');
    expect(entries).toEqual(['a.txt', 'srv', 'srv/conf', 'srv/conf/demo.conf', 'srv/html', 'srv/html/index.html']);

    // A second build in the same work directory: from the cache alone, the folder not needed.
    const two = join(dir, 'wd', 'b2');
    put(join(two, '.config'), CONFIG);
    const env2 = { ...env, WAYFINDER_BUILD_DIR: two, KCONFIG_CONFIG: join(two, '.config'), WAYFINDER_ARCHIVES_FROM: join(dir, 'gone') };
    const again = build(env2, elsewhere);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain(`zlibc-1.0.tar.gz from the archive cache ${cache}`);
    expect(again.stderr).toContain(`anet-2.1.tar.gz from the archive cache ${cache}`);
  }, 60_000);

  it('a missing archive fails the build naming the file and its URL, as the last line', () => {
    const { dir, root, app, libs, seed } = setUp([['zlibc-1.0.tar.gz', 'zlibc-1.0']]);
    const b = join(dir, 'wd', 'b1');
    put(join(b, '.config'), CONFIG);
    const r = build({ UK_ROOT: root, UK_APP: app, UK_LIBS: libs, WAYFINDER_BUILD_DIR: b, KCONFIG_CONFIG: join(b, '.config'), WAYFINDER_ARCHIVES: join(dir, 'wd', 'archives'), WAYFINDER_ARCHIVES_FROM: seed }, dir);
    expect(r.status).toBe(5);
    const last = r.stderr.trim().split('\n').pop() as string;
    expect(last).toContain(`unikraft: missing source archive anet-2.1.tar.gz: not in the archive cache ${join(dir, 'wd', 'archives')}, nor in ${seed} (build.archives), and downloading ${OFFLINE}/anet-2.1.tar.gz failed`);
    expect(last).toContain(`put anet-2.1.tar.gz (the file at ${OFFLINE}/anet-2.1.tar.gz) in ${seed}`);
  }, 60_000);

  it('libraries given as a list are read in that order: the wrong one fails as Unikraft would', () => {
    requireTool('make');
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const { root, app, libs } = standIn(dir);
    const b = join(dir, 'b');
    put(join(b, '.config'), CONFIG);
    const r = build({ UK_ROOT: root, UK_APP: app, UK_LIBS: `${libs}/lib-anet:${libs}/lib-zlibc`, WAYFINDER_BUILD_DIR: b, KCONFIG_CONFIG: join(b, '.config') }, dir, ['olddefconfig']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('anet: socklen_t unknown');
  });

  it('through wayfinder: build.archives fills the work directory\'s cache, which every later build reuses', async () => {
    const { dir, root, app, libs, seed } = setUp(BOTH);
    writeFile(dir, 'base.defconfig', CONFIG);
    const file = writeFile(
      dir,
      'uk.yaml',
      `name: uk-standin
params:
  - name: CONFIG_LIBANET
    type: boolean
    default: true
  - name: DEMO_LEVEL
    type: integer
    only: [1, 2]
build:
  script: ${SCRIPT}
  archives: offline-archives
  kconfig:
    base: base.defconfig
    resolve: '"${SCRIPT}" olddefconfig'
test:
  name: t
  run: 'test -s "$WAYFINDER_BUILD_DIR/kernel" && echo "v: 1"'
metrics:
  - name: v
    parser: regex
    pattern: 'v: (\\d+)'
objective:
  minimize: v
`,
    );
    const workdir = join(dir, '.wayfinder');
    const r = await wayfinder(['run', '--no-confirm', file, '--workdir', workdir, '--json'], { env: { UK_ROOT: root, UK_APP: app, UK_LIBS: libs }, timeoutMs: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ done: 4, failed: 0 });
    const logs = spawnSync('sh', ['-c', `cat ${workdir}/experiments/*/builds/*/stderr.log`], { encoding: 'utf8' }).stdout;
    // Each archive came from the folder once; every other build took it from the cache.
    const cache = join(workdir, 'archives');
    expect(logs.match(/zlibc-1\.0\.tar\.gz from \S+offline-archives\/zlibc-1\.0\.tar\.gz, into the archive cache/g)).toHaveLength(1);
    expect(logs.match(new RegExp(`zlibc-1\\.0\\.tar\\.gz from the archive cache ${cache}`, 'g'))).toHaveLength(3);
    expect(existsSync(join(cache, '127.0.0.1:9', 'dist', 'zlibc-1.0.tar.gz'))).toBe(true);

    // A folder that is not there fails each build at once, naming it, before anything is built.
    const wrong = writeFile(dir, 'uk-wrong.yaml', readFileSync(file, 'utf8').replace('archives: offline-archives', 'archives: no-such-folder').replace('name: uk-standin', 'name: uk-standin-wrong'));
    const w = await wayfinder(['run', '--no-confirm', wrong, '--workdir', workdir, '--json'], { env: { UK_ROOT: root, UK_APP: app, UK_LIBS: libs }, timeoutMs: 120_000 });
    expect(JSON.parse(w.stdout)).toMatchObject({ done: 0, failed: 4 });
    const res = await wayfinder(['results', 'uk-standin-wrong', '--workdir', workdir, '--format', 'json']);
    expect(res.stdout).toContain(`the archives folder ${join(dir, 'no-such-folder')} does not exist (archives: no-such-folder)`);
  }, 240_000);
});
