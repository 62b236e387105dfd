// A stand-in for wayfinder in tests: starts one long job through runProcess (so through the job
// launcher), prints the job's pid, and waits. The test then kills or signals this process.
import { join } from 'node:path';
import { runProcess } from '../../src/runners/process.js';

const dir = process.argv[2] as string;
process.on('SIGINT', () => process.stdout.write('interrupted\n'));
const done = runProcess({
  argv: ['/bin/sh', '-c', `echo $$ > ${join(dir, 'job.pid')}; exec sleep 300`],
  cwd: dir,
  env: { PATH: process.env.PATH ?? '' },
  stdoutPath: join(dir, 'o'),
  stderrPath: join(dir, 'e'),
  timeoutSec: 600,
});
void done.then((r) => process.stdout.write(`job ended ${JSON.stringify(r)}\n`));
