// The restore guard (restore-guard.ts), run as a child of the controller: it waits for its
// parent's IPC channel to close, which happens however the parent ends (exit, crash, SIGKILL), and
// then puts back the host settings its snapshot file still holds. A parent that ended cleanly has
// restored them and removed the file already: then there is nothing to do.

import { HostTuning } from '../isolation/host.js';

const stateFile = process.argv[2];
if (!stateFile || !process.send) {
  process.stderr.write('restore guard: run by the controller, with the snapshot file as argument\n');
  process.exit(2);
}
// The terminal's Ctrl-C and a kill of the controller's group are the controller's business; this
// process must outlive it to do its one job.
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => undefined);
process.on('disconnect', () => {
  HostTuning.recover(stateFile).then(
    (had) => {
      if (had) process.stderr.write(`restore guard: the controller ended without restoring; put back what ${stateFile} held\n`);
      process.exit(0);
    },
    (e: Error) => {
      process.stderr.write(`restore guard: ${e.message}\n`);
      process.exit(1);
    },
  );
});
process.send('ready');
