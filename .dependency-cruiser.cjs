// The directions the folders of src/ may depend on each other (docs/architecture.md, "Layers").
// `npm test` runs this check first (npm run lint:deps); a rule broken is a failed test run.

const folders = (...names) => `^src/(${names.join('|')})(/|\\.ts$)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes two modules one; split what both need into a third.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'cli-is-the-top',
      severity: 'error',
      comment: 'Only the command line imports the command line; everything else is shared by every front door.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'daemon-only-from-cli',
      severity: 'error',
      comment: 'The daemon is a front door, like the CLI: nothing below it imports it.',
      from: { path: '^src/', pathNot: folders('cli', 'daemon') },
      to: { path: '^src/daemon/' },
    },
    {
      name: 'base-imports-nothing-above',
      severity: 'error',
      comment: 'Shared types, wire messages, work-directory paths, errors and utilities sit below everything.',
      from: { path: folders('types', 'wire', 'workdir', 'errors', 'util') },
      to: { path: '^src/', pathNot: folders('types', 'wire', 'workdir', 'errors', 'util') },
    },
    {
      name: 'model-below-execution',
      severity: 'error',
      comment:
        'The experiment model (spec, generator, metrics, strategies) knows nothing of how or where jobs run. ' +
        'It may read the registry of the ways a parameter reaches a build (src/targets/params), which is model too.',
      from: { path: folders('spec', 'generator', 'metrics', 'strategies') },
      to: {
        path: folders('isolation', 'scheduler', 'runners', 'targets', 'queue', 'store', 'study', 'report', 'regress', 'daemon', 'cli', 'control'),
        pathNot: '^src/targets/params/',
      },
    },
    {
      name: 'target-params-are-model',
      severity: 'error',
      comment: 'The ways a parameter reaches a build are told how to run a command (BuildPrep.run); they run nothing themselves.',
      from: { path: '^src/targets/params/' },
      to: {
        path: [folders('isolation', 'scheduler', 'runners', 'queue', 'store', 'study', 'report', 'regress', 'daemon', 'cli', 'spec'), '^src/targets/build-prep\\.ts$'],
      },
    },
    {
      name: 'session-from-front-doors',
      severity: 'error',
      comment: 'A measurement session is what a front door (run, regress, the daemon, a worker) opens; nothing it uses opens one.',
      from: { path: '^src/', pathNot: folders('cli', 'daemon', 'regress', 'session') },
      to: { path: '^src/session/' },
    },
    {
      name: 'isolation-below-scheduling',
      severity: 'error',
      comment: 'Isolation enforces a grant; it does not decide or record placement (no scheduler state, no queue).',
      from: { path: folders('isolation') },
      to: { path: folders('scheduler', 'runners', 'targets', 'queue', 'store', 'study', 'report', 'regress') },
    },
    {
      name: 'runners-below-queue',
      severity: 'error',
      comment: 'A runner executes one job; transport, scheduling and storage are above it.',
      from: { path: folders('runners', 'targets') },
      to: { path: folders('scheduler', 'queue', 'store', 'study', 'report', 'regress') },
    },
    {
      name: 'scheduler-below-queue',
      severity: 'error',
      from: { path: folders('scheduler') },
      to: { path: folders('runners', 'targets', 'queue', 'store', 'study', 'report', 'regress') },
    },
    {
      name: 'store-knows-no-transport',
      severity: 'error',
      comment: 'The store keeps results; it does not know how they travelled or who ran them.',
      from: { path: folders('store') },
      to: { path: folders('isolation', 'scheduler', 'runners', 'targets', 'queue', 'study', 'report', 'regress') },
    },
    {
      name: 'queue-knows-no-store',
      severity: 'error',
      comment: 'Transport moves work and results; the study loop joins it to the store.',
      from: { path: folders('queue') },
      to: { path: folders('store', 'study', 'report', 'regress') },
    },
    {
      name: 'bullmq-only-in-queue',
      severity: 'error',
      comment: 'BullMQ and Redis are one transport behind WorkTransport (src/queue/transport.ts): nothing else knows them.',
      from: { path: '^src/', pathNot: '^src/queue/' },
      to: { path: '(^|/)node_modules/(bullmq|ioredis)/' },
    },
    {
      name: 'sqlite-only-in-store',
      severity: 'error',
      comment: 'SQL is the store\'s: everything else asks the Store (or a ResultsStore) for what it needs.',
      from: { path: '^src/', pathNot: '^src/store/' },
      to: { path: '(^|/)node_modules/better-sqlite3/' },
    },
    {
      name: 'memory-implementations-for-tests',
      severity: 'error',
      comment: 'The in-memory transport and store exist for fast tests of the study loop; the program runs on BullMQ and SQLite.',
      from: { path: '^src/' },
      to: { path: '^src/(queue/memory-transport|store/memory-store)\\.ts$' },
    },
    {
      name: 'control-is-its-own-front',
      severity: 'error',
      comment:
        'The online controller (src/control) reads signals and sets knobs through isolation (host tuning) and the policy; ' +
        'it records through an interface the command line gives it, so it knows no store, queue, study or front door.',
      from: { path: folders('control') },
      to: { path: folders('cli', 'daemon', 'session', 'study', 'queue', 'store', 'scheduler', 'runners', 'targets', 'report', 'regress') },
    },
    {
      name: 'control-from-front-doors',
      severity: 'error',
      comment: 'Only a front door runs a controller.',
      from: { path: '^src/', pathNot: folders('cli', 'daemon', 'control') },
      to: { path: folders('control') },
    },
    {
      name: 'study-below-reports',
      severity: 'error',
      from: { path: folders('study') },
      to: { path: folders('report', 'regress') },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with; swc reads the same syntax.
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
