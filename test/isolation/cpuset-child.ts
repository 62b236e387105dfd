// Run by cpuset.test.ts: confines a long sleep in a fresh cpuset, prints its pid, then waits to be
// SIGKILLed, leaving the group and the sleep behind for reapStale.
import { spawn } from 'node:child_process';
import { confinedCommand, CpusetManager } from '../../src/isolation/cpuset.js';

const [prefix, name] = process.argv.slice(2) as [string, string];
const cg = await new CpusetManager({ prefix }).create(name, [1], [0]);
const [cmd, ...args] = confinedCommand(cg, ['sleep', '300']) as [string, ...string[]];
const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
child.unref();
while (!(await cg.pids()).includes(child.pid as number)) await new Promise((r) => setTimeout(r, 10));
process.stdout.write(`${child.pid}\n`);
setInterval(() => undefined, 1000);
