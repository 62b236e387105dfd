// Test images for the Docker engine without a registry: a root filesystem of Debian's
// busybox-static (one binary, a symlink per applet) packed with tar and `docker import`ed.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireTool } from './helpers.js';

/** dockerd must answer: its absence fails the test (with how to start it), never skips it. */
export function requireDockerd(): void {
  requireTool('docker', 'docker.io');
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) {
    throw new Error(`the Docker engine does not answer (${(r.stderr || '').trim()}): start it with scripts/ci/start-dockerd.sh`);
  }
}

/** Import a busybox image under `tag`; returns the tag. `workdir` sets the image's WORKDIR. */
export function importBusyboxImage(tag: string, opts: { workdir?: string } = {}): string {
  requireTool('busybox', 'busybox-static');
  const busybox = execFileSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'wf-rootfs-'));
  try {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(busybox, join(root, 'bin', 'busybox'));
    chmodSync(join(root, 'bin', 'busybox'), 0o755);
    const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const a of applets) {
      if (a === 'bin/busybox') continue;
      mkdirSync(join(root, dirname(a)), { recursive: true });
      symlinkSync('/bin/busybox', join(root, a));
    }
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    const changes = ['--change', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', ...(opts.workdir ? ['--change', `WORKDIR ${opts.workdir}`] : [])];
    if (opts.workdir) mkdirSync(join(root, opts.workdir), { recursive: true });
    const tar = spawnSync('sh', ['-c', `tar --numeric-owner -C "$1" -c . | docker import ${changes.map((c) => `'${c}'`).join(' ')} - "$2"`, 'sh', root, tag], {
      encoding: 'utf8',
    });
    if (tar.status !== 0) throw new Error(`docker import failed: ${tar.stderr}`);
    return tag;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function removeImage(tag: string): void {
  spawnSync('docker', ['rmi', '-f', tag], { stdio: 'ignore' });
}

/** Ids of the containers (running or not) carrying label `key=value`. */
export function containersWithLabel(key: string, value: string): string[] {
  const r = spawnSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${key}=${value}`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** Force-remove what a failed test may have left on the engine for a work directory's label. */
export function removeLabelled(key: string, value: string): void {
  const ids = containersWithLabel(key, value);
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
}
