#!/usr/bin/env node
// A replay target's test: prints the recorded objective of the configuration in the environment
// (see src/strategies/replay-target.ts for the REPLAY_* variables). Needs the compiled dist/.
import { replayTarget } from '../../dist/strategies/replay-target.js';

process.exitCode = replayTarget(process.env, (s) => process.stdout.write(s), (s) => process.stderr.write(s));
