// Before any job of an experiment runs: the engine answers, every image is there (pulled when
// missing and a registry answers), every declared device exists on this host, every network
// is one the engine can attach a container to. Each failure names the job in the file.

import { existsSync } from 'node:fs';
import { InputError, type Experiment, type JobSpec } from '../../types.js';
import { dockerMessage, dockerTarget, isNotFound, requireDocker, type DockerTarget } from './engine.js';
import { withTimeout } from '../../util/timeout.js';

export interface PreflightOptions {
  socket?: string;
  /** Seconds a missing image's pull may take before the run is refused. */
  pullTimeoutSec?: number;
}

export function containerJobs(exp: Experiment): Array<JobSpec & { image: string }> {
  return [...(exp.build ? [exp.build] : []), ...exp.tests].filter((j): j is JobSpec & { image: string } => j.image !== undefined);
}

export async function checkContainerJobs(exp: Experiment, opts: PreflightOptions = {}): Promise<void> {
  const jobs = containerJobs(exp);
  if (jobs.length === 0) return;
  const target = dockerTarget(opts.socket);
  await requireDocker(target);
  const checked = new Set<string>();
  // Every image that cannot be had is named at once (a Wayfinder job has a build and a benchtool
  // image), not one per attempt.
  const unavailable: InputError[] = [];
  for (const job of jobs) {
    if (!checked.has(job.image)) {
      checked.add(job.image);
      try {
        await ensureImage(target, job, (opts.pullTimeoutSec ?? 600) * 1000);
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        unavailable.push(e);
        continue;
      }
    }
    for (const d of job.devices) {
      if (!existsSync(d)) throw new InputError(`${job.phase} '${job.name}': device ${d} does not exist on this host`, job.loc);
    }
    if (job.network !== undefined) await checkNetwork(target, job);
  }
  const [first, ...more] = unavailable;
  if (first && more.length === 0) throw first;
  if (first) {
    const also = more.map((e) => e.message.replace(/ is not on the Docker engine .*/s, '')).join('; ');
    throw new InputError(`${first.message}\n  also not on the engine and not pulled: ${also}`, first.loc, first.hint);
  }
}

async function ensureImage(t: DockerTarget, job: JobSpec & { image: string }, timeoutMs: number): Promise<void> {
  try {
    await t.docker.getImage(job.image).inspect();
    return;
  } catch (e) {
    if (!isNotFound(e)) throw new InputError(`${job.phase} '${job.name}': cannot look up image '${job.image}': ${dockerMessage(e)}`, job.loc);
  }
  try {
    await withTimeout(pull(t, job.image), timeoutMs, 'pull did not finish');
  } catch (e) {
    throw new InputError(
      `${job.phase} '${job.name}': image '${job.image}' is not on the Docker engine at ${t.describe} and could not be pulled: ${dockerMessage(e)}`,
      job.loc,
      'build, load or import it there first (docker build, docker load, docker import), or name an image the engine has (docker images)',
    );
  }
}

function pull(t: DockerTarget, image: string): Promise<void> {
  return new Promise((resolve, reject) => {
    t.docker.pull(image, (err: unknown, stream: NodeJS.ReadableStream) => {
      if (err) return reject(err);
      // The pull's own errors arrive in the progress stream, not as an HTTP status.
      t.docker.modem.followProgress(stream, (e: Error | null) => (e ? reject(e) : resolve()));
    });
  });
}

/** Docker attaches containers to none, host, another container's namespace or a Docker network. */
async function checkNetwork(t: DockerTarget, job: JobSpec): Promise<void> {
  const n = job.network as string;
  if (n === 'none' || n === 'host') return;
  if (n.startsWith('container:')) return;
  try {
    await t.docker.getNetwork(n).inspect();
    return;
  } catch (e) {
    if (!isNotFound(e)) throw new InputError(`${job.phase} '${job.name}': cannot look up network '${n}': ${dockerMessage(e)}`, job.loc);
  }
  const hint = existsSync(`/run/netns/${n}`)
    ? `'${n}' is a network namespace (ip netns); the Docker engine cannot put a container into one: use 'host', or a Docker network (docker network create)`
    : `give none, host, container:<name> or the name of a Docker network (docker network ls)`;
  throw new InputError(`${job.phase} '${job.name}': no Docker network named '${n}'`, job.loc, hint);
}
