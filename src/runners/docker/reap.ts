// Removes the containers a killed wayfinder left behind on this work directory. Only one
// wayfinder holds a work directory at a time, so any container with its label is a leftover.

import { existsSync } from 'node:fs';
import { dockerTarget, type DockerTarget } from './engine.js';
import { withTimeout } from '../../util/timeout.js';
import { LABEL_WORKDIR, workdirHash } from './labels.js';

export async function listJobContainers(t: DockerTarget, workdir: string): Promise<string[]> {
  const found = await t.docker.listContainers({ all: true, filters: { label: [`${LABEL_WORKDIR}=${workdirHash(workdir)}`] } });
  return found.map((c) => c.Id);
}

/**
 * Force-removes them (a running one is killed first). Without an engine nothing was run in one,
 * so an absent or silent engine is not an error here: returns the ids removed.
 */
export async function reapContainers(workdir: string, socket?: string): Promise<string[]> {
  if (!socket && !process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return [];
  const t = dockerTarget(socket);
  let ids: string[];
  try {
    ids = await withTimeout(listJobContainers(t, workdir), 10_000, 'no answer');
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const id of ids) {
    try {
      await t.docker.getContainer(id).remove({ force: true, v: true });
      removed.push(id);
    } catch {
      // Removed meanwhile (its removal was already under way).
    }
  }
  return removed;
}
