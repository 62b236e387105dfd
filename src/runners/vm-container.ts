// Tests that boot a VM and drive it from a container (Wayfinder's kernel + benchtool): each run
// starts the job's container with no network of the engine's, puts a tap into the container's own
// network namespace, boots the build's kernel on it, waits for the console marker and the start
// delay, then lets the container's command start. The command reaches the guest at its address
// on the tap; it is told the addresses as Wayfinder's daemon told its benchtool
// (WAYFINDER_DOMAIN_*), and the guest's kernel arguments name them the same way.
//
// Why the container's namespace: the Docker engine can attach a container to none, the host, a
// Docker network or another container's namespace, never to a namespace of ours; QEMU, a process of
// ours, can run in any. So the VM goes where the container is, and nothing is added to the host's
// own network (no bridge, no address).

import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import type Docker from 'dockerode';
import { VM_CONTAINER } from '../spec/jobs.js';
import { InputError, type JobSpec, type VmSpec } from '../types.js';
import { ExpandError, expand } from '../util/expand.js';
import { inheritedEnv } from './inherited-env.js';
import { memoryLimitProblems } from './process-runner.js';
import { bootTestVm, QEMU, type TestVm } from './qemu.js';
import { cgroupDriver, dockerTarget } from './docker/engine.js';
import { runContainerJob } from './docker/job.js';
import { checkContainerJobs } from './docker/preflight.js';
import type { ProcessResult } from './process.js';
import type { Runner } from './runner.js';

/** The kind the spec gives a job with both 'vm' and 'image'. */
export const VM_CONTAINER_KIND = VM_CONTAINER;

interface State {
  vm?: TestVm;
  netns?: string;
  bootError?: string;
}

let count = 0;

/** The variables the daemon gave a benchtool and a kernel's arguments, from the VM's tap. */
export function domainVars(vm: VmSpec, env: Record<string, string> = {}): Record<string, string> {
  const [gw, prefix] = (vm.tap?.host ?? '').split('/');
  const bits = Number(prefix);
  const word = bits <= 0 ? 0 : (0xffffffff << (32 - Math.min(bits, 32))) >>> 0;
  const mask = [24, 16, 8, 0].map((shift) => String((word >>> shift) & 0xff)).join('.');
  // Wayfinder wrote the memory as its number and libvirt's unit (20M: 20MiB; 1G: 1GiB).
  let memory = vm.memory;
  try {
    memory = expand(vm.memory, env);
  } catch (e) {
    if (!(e instanceof ExpandError)) throw e; // the boot reports the unknown name
  }
  const m = /^(\d+)\s*([A-Za-z]*)$/.exec(memory.trim());
  const maxMem = m ? `${m[1]}${/^g/i.test(m[2] ?? '') ? 'GiB' : 'MiB'}` : memory;
  return {
    WAYFINDER_DOMAIN_IP_ADDR: vm.tap?.guest ?? '',
    WAYFINDER_DOMAIN_IP_GW_ADDR: gw ?? '',
    WAYFINDER_DOMAIN_IP_MASK: bits >= 0 && bits <= 32 ? mask : '',
    WAYFINDER_DOMAIN_MAX_MEM: maxMem,
  };
}

/** The grant split: the guest's vCPUs first, the command's CPUs after (all of them when nothing is left). */
export function splitCpus(cpus: number[], vmCores: number): { vm: number[]; command: number[] } {
  if (cpus.length <= vmCores) return { vm: cpus, command: cpus };
  return { vm: cpus.slice(0, vmCores), command: cpus.slice(vmCores) };
}

/** The command's CPUs as the daemon named them (WAYFINDER_TOTAL_CORES, WAYFINDER_CORE_ID0...). */
function coreVars(vars: Record<string, string>, cpus: number[]): Record<string, string> {
  const out = Object.fromEntries(Object.entries(vars).filter(([k]) => !/^WAYFINDER_CORE_ID\d+$/.test(k)));
  cpus.forEach((c, i) => (out[`WAYFINDER_CORE_ID${i}`] = String(c)));
  out.WAYFINDER_CORES = cpus.join(',');
  out.WAYFINDER_TOTAL_CORES = String(cpus.length);
  return out;
}

function tool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** What this host lacks to run these jobs, each an error naming the job. */
function hostProblems(jobs: JobSpec[]): Error[] {
  const problems: Error[] = [];
  for (const job of jobs) {
    const vm = job.vm;
    if (!vm || job.image === undefined) {
      problems.push(new InputError(`${job.phase} '${job.name}': the ${VM_CONTAINER_KIND} kind needs both 'vm' and 'image'`, job.loc));
      continue;
    }
    if (job.phase !== 'test') problems.push(new InputError(`build '${job.name}': a build does not boot a VM; only tests are of the ${VM_CONTAINER_KIND} kind`, job.loc));
    if (vm.arch !== undefined && vm.arch !== 'x86_64') {
      problems.push(new InputError(`test '${job.name}': its kernel is for ${vm.arch}; only x86_64 guests are booted here (${QEMU})`, job.loc, 'run it where an emulator for that architecture is set up, or build for x86_64'));
    }
    if (vm.net !== 'tap') problems.push(new InputError(`test '${job.name}': the container reaches the VM on a tap: set 'net: tap'`, job.loc));
  }
  const missing = [QEMU, 'ip'].filter((t) => !tool(t));
  if (missing.length > 0) problems.push(new Error(`${missing.join(' and ')} not found: install qemu-system-x86 and iproute2 to boot the tests' VMs`));
  if (process.getuid?.() !== 0) problems.push(new Error(`a test's VM goes on a tap in its container's network namespace, which needs root (ip netns attach, ip tuntap)`));
  return problems;
}

/** Boot the run's VM in the started container's network namespace; the command waits until it is up. */
async function bootBeside(c: Docker.Container, vm: VmSpec, state: State, ctx: { dir: string; env: Record<string, string>; baseDir: string; cpus: number[]; wrap?: (argv: string[]) => string[]; registry: Parameters<typeof bootTestVm>[1]['registry']; key: string; measureFootprint: boolean }): Promise<void> {
  const pid = (await c.inspect()).State?.Pid;
  if (!pid) throw new Error('vm: the container ended before its VM could be booted');
  // Named with the work directory's prefix: a wayfinder started after a crash removes it.
  const netns = `${ctx.env.WAYFINDER_NETNS_PREFIX ?? 'wf'}-vmc-${process.pid}-${++count}`;
  const r = spawnSync('ip', ['netns', 'attach', netns, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vm: cannot name the container's network namespace (ip netns attach): ${(r.stderr || r.error?.message || '').trim()}`);
  state.netns = netns;
  const started = performance.now();
  const booted = await bootTestVm(vm, { ...ctx, netns });
  if ('error' in booted) {
    state.bootError = booted.error;
    throw new Error(booted.error);
  }
  state.vm = booted;
  // Wayfinder started the benchtool start_delay seconds after the VM; never before the marker.
  const wait = (vm.startDelaySec ?? 0) * 1000 - (performance.now() - started);
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}

async function tearDown(state: State): Promise<{ metrics: Record<string, number>; error?: string }> {
  const vm = state.vm;
  state.vm = undefined;
  const out = vm ? await vm.finish() : { metrics: {} };
  if (state.netns) spawnSync('ip', ['netns', 'del', state.netns]);
  state.netns = undefined;
  return out;
}

export const vmContainerRunner: Runner = {
  kind: VM_CONTAINER_KIND,
  // QEMU runs in the job's groups (the launcher's confinement); the container gets its CPUs from the engine.
  confinement: 'launcher',
  preflight: async (jobs, exp, opts) => {
    const problems = [...hostProblems(jobs), ...memoryLimitProblems(jobs, opts)];
    // The engine answers and every image is there or can be pulled: before anything is built.
    try {
      await checkContainerJobs(exp, opts.dockerSocket ? { socket: opts.dockerSocket } : {});
    } catch (e) {
      problems.push(e as Error);
    }
    return problems;
  },
  // Containers carry the work directory's labels (the container kind reaps them); namespaces its
  // prefix (the worker reaps them); QEMU is in the process registry.
  reap: async () => undefined,
  prepare: async (run) => {
    await fsp.mkdir(run.dir, { recursive: true });
    return { state: {} satisfies State };
  },
  launch: async (run, ctx, prepared): Promise<ProcessResult> => {
    const { job } = run;
    const state = prepared.state as State;
    const vm = job.vm as VmSpec;
    // A retried attempt boots a fresh VM: the last one's is torn down first.
    await tearDown(state);
    state.bootError = undefined;
    const cpus = splitCpus(ctx.placement.cpus, vm.cores);
    const domain = domainVars(vm, run.vars);
    const vars = { ...coreVars(run.vars, cpus.command), ...domain };
    const parent = ctx.meter?.engineParent !== undefined && (await cgroupDriver(dockerTarget(ctx.dockerSocket))) === 'cgroupfs' ? ctx.meter.engineParent : undefined;
    return runContainerJob({
      job: { ...job, image: job.image as string },
      dir: run.dir,
      experimentDir: run.experimentDir,
      vars,
      workdir: ctx.workdir,
      experimentId: run.experimentId,
      key: run.key,
      placement: { ...ctx.placement, cpus: cpus.command },
      // The build's outputs are the VM's (its kernel, initrd, disks), not the benchtool's.
      ...(ctx.dockerSocket ? { socket: ctx.dockerSocket } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(parent ? { cgroupParent: parent } : {}),
      beforeCommand: (c) =>
        bootBeside(c, vm, state, {
          dir: run.dir,
          env: { ...inheritedEnv(), ...run.vars, ...domain },
          baseDir: run.build?.dir || run.experimentDir,
          cpus: cpus.vm,
          ...(ctx.wrap ? { wrap: ctx.wrap } : {}),
          registry: ctx.registry,
          key: run.key,
          measureFootprint: run.firstMeasured === true,
        }),
    });
  },
  finish: async (_run, prepared) => {
    const state = prepared.state as State;
    const bootError = state.bootError;
    const out = await tearDown(state);
    if (bootError !== undefined) return { metrics: out.metrics, error: bootError, failure: 'boot' };
    return { metrics: out.metrics, ...(out.error ? { error: out.error, failure: 'boot' as const } : {}) };
  },
};
