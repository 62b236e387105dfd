// Files into and out of a container through the engine's archive API (no bind mounts: a job
// sees copies, and what it leaves behind is taken out only where the experiment says).
// GNU tar packs and unpacks; --transform renames the top entry when source and destination
// names differ.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, posix } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { dockerMessage, isNotFound } from './engine.js';

/** Copy host file or directory `hostPath` to the absolute container path `containerPath`. */
export async function putPath(container: Docker.Container, hostPath: string, containerPath: string): Promise<void> {
  // Archive entries carry the whole destination path and are unpacked at '/': the engine makes
  // missing parent directories, so a destination need not exist in the image.
  const target = posix.normalize(containerPath).replace(/^\/+/, '');
  if (target === '' || target === '.') throw new Error(`cannot copy onto the container's root directory`);
  const tar = spawn('tar', ['-c', '--numeric-owner', ...rename(basename(hostPath), target), '-C', dirname(hostPath), '--', basename(hostPath)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const failed = collectFailure(tar);
  try {
    await container.putArchive(tar.stdout as Readable, { path: '/' });
  } catch (e) {
    tar.kill('SIGKILL');
    throw new Error(`cannot copy ${hostPath} into the container at ${containerPath}: ${dockerMessage(e)}`);
  }
  const err = await failed;
  if (err) throw new Error(`cannot copy ${hostPath} into the container: ${err}`);
}

/**
 * Copy container path `containerPath` to host path `hostPath` (a file or a directory tree); with
 * `contents`, a container directory's entries go into the host directory `hostPath` instead.
 * Returns false when the container has no such path.
 */
export async function getPath(container: Docker.Container, containerPath: string, hostPath: string, opts: { contents?: boolean } = {}): Promise<boolean> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await container.getArchive({ path: containerPath });
  } catch (e) {
    if (isNotFound(e)) return false;
    throw new Error(`cannot copy ${containerPath} out of the container: ${dockerMessage(e)}`);
  }
  // The archive's top entry is the basename of the container path.
  const from = posix.basename(posix.normalize(containerPath)) || '.';
  const where = opts.contents ? ['--strip-components=1', '-C', hostPath] : [...rename(from, basename(hostPath)), '-C', dirname(hostPath)];
  mkdirSync(opts.contents ? hostPath : dirname(hostPath), { recursive: true });
  const tar = spawn('tar', ['-x', '--no-same-owner', ...where], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const failed = collectFailure(tar);
  (stream as Readable).pipe(tar.stdin);
  const err = await failed;
  if (err) throw new Error(`cannot copy ${containerPath} out of the container: ${err}`);
  return true;
}

/** tar's --transform renaming the top entry `from` (and everything under it) to `to`. */
function rename(from: string, to: string): string[] {
  if (from === to) return [];
  const sep = ['#', '@', '!', '%', ',', ';', '~', '|'].find((c) => !from.includes(c) && !to.includes(c));
  if (!sep) throw new Error(`cannot rename '${from}' to '${to}' while copying: names use every separator`);
  const re = from.replace(/[\\.[\]*^$]/g, (c) => `\\${c}`);
  const repl = to.replace(/[\\&]/g, (c) => `\\${c}`);
  // S: leave symlink targets alone; only member names are renamed.
  return [`--transform=s${sep}^${re}\\(/.*\\)\\{0,1\\}$${sep}${repl}\\1${sep}S`];
}

function collectFailure(child: ReturnType<typeof spawn>): Promise<string | undefined> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  return new Promise((resolve) => {
    child.once('error', (e) => resolve(`tar: ${e.message}`));
    child.once('close', (code) => resolve(code === 0 ? undefined : stderr.trim() || `tar exited with ${code}`));
  });
}
