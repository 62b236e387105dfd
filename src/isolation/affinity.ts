// CPU affinity of every thread of a process, a second guard next to the cpuset (a process that
// escapes its cgroup, or a host without cpusets, still stays on its CPUs).
import { execFile } from 'node:child_process';
import { formatCpuList } from '../util/cpulist.js';

export function setAffinity(pid: number, cpus: number[]): Promise<void> {
  if (!Number.isInteger(pid) || pid <= 0) return Promise.reject(new Error(`affinity: pid ${pid} is not a positive integer`));
  if (cpus.length === 0) return Promise.reject(new Error(`affinity: pid ${pid} needs at least one CPU`));
  const list = formatCpuList(cpus);
  return new Promise((resolve, reject) => {
    execFile('taskset', ['-a', '-p', '-c', list, String(pid)], (err, _stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new Error('affinity: taskset not found (install util-linux)'));
      }
      reject(new Error(`affinity: taskset -a -p -c ${list} ${pid} failed: ${stderr.trim() || err.message}`));
    });
  });
}
