#!/usr/bin/env node
// Builds the shared-memory addon at install (package.json `prepare`, after the TypeScript build):
// native/build/wayfinder_shm.node. Without a C compiler or Node's headers the install goes on with a
// warning (our side then builds it on first use, or reads the region with pread); with --strict
// (the tests) a failed build is a failure.
import { installShmAddon } from '../dist/control/native.js';

const strict = process.argv.includes('--strict');
try {
  const out = installShmAddon();
  process.stdout.write(`addon: built ${out}\n`);
} catch (e) {
  process.stderr.write(`addon: ${e instanceof Error ? e.message : String(e)}\n`);
  if (strict) process.exit(1);
  process.stderr.write('addon: not built at install; it is built the first time a control region is mapped\n');
}
