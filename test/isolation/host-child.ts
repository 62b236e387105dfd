// Run by host.test.ts through `npx tsx`: applies host settings, says so, and waits to be SIGKILLed.
import { HostTuning } from '../../src/isolation/host.js';

const [stateFile, sysfsRoot, procRoot, settings] = process.argv.slice(2) as [string, string, string, string];
const report = await new HostTuning({ stateFile, sysfsRoot, procRoot }).apply(JSON.parse(settings));
process.stdout.write(`${JSON.stringify(report)}\n`);
setInterval(() => undefined, 1000);
