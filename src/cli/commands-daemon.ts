// Registers the daemon, worker and client commands on the `wayfinder` program.

import type { Command } from 'commander';
import { DEFAULT_SERVER } from '../daemon/client.js';
import { strategyChoices } from './registry-help.js';

// Loaded when the command runs (see main.ts).
const daemon = () => import('./daemon.js');
const remote = () => import('./remote.js');

const RUNS_COMMANDS =
  '\nSecurity: every experiment submitted to the daemon runs its build and test commands on this host (and on its\n' +
  'workers) as the user running the daemon. Anyone who can reach the API can do that. The daemon listens on a unix\n' +
  'socket (mode 0660: its owner and the --socket-group may use it); on TCP only with --listen, and there every\n' +
  'request must send "Authorization: Bearer <token>" (--token-file), on loopback too unless --insecure-loopback-no-token.\n';

export function registerDaemonCommands(program: Command, setStatus: (code: number) => void, o: { workdirHelp: string; version: string }): void {
  const server = (c: Command): Command =>
    c
      .option('--server <url>', `the daemon's address: unix:///path/daemon.sock or http://host:port (default $WAYFINDER_SERVER, else ${DEFAULT_SERVER})`)
      .option('--token-file <file>', "file holding the daemon's token (default $WAYFINDER_TOKEN)");

  program
    .command('daemon')
    .description('serve the HTTP API: queue submitted experiments, run them, survive restarts (submitted experiments run commands on this host)')
    .option('-w, --workdir <dir>', o.workdirHelp, '.wayfinder')
    .option('--socket <path>', 'the API\'s unix socket (default: daemon.sock in the work directory)')
    .option('--socket-group <group>', 'give the socket to this group (mode 0660): its members may submit experiments, which run as this user')
    .option('--listen <host:port>', 'also serve TCP here (for workers\' hosts, browsers); needs --token-file')
    .option('--insecure-loopback-no-token', 'serve a loopback --listen without a token: every local user may then run commands as this user')
    .option('--redis <url>', 'use this Redis (redis://[:password@]host:port/db, rediss:// for TLS, unix:///path) instead of an embedded redis-server; workers on other hosts need one')
    .option('--job-key <file>', 'sign queued jobs with the key in this file (mode 0600); workers given the same file run only signed jobs')
    .option('--token-file <file>', 'require this token (first line of the file, ≥ 16 characters) on every request')
    .option('--pool <name>', "the pool this host's own worker serves", 'default')
    .option('--no-worker', 'run no jobs in this process, only on `wayfinder worker`s')
    .option('--cpus <list>', "this host's worker runs jobs only on these CPUs, e.g. 0-3")
    .option('--docker-socket <path>', "the Docker engine's socket for this host's jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock); checked at start")
    .option('--max-body <bytes>', 'largest request body accepted', String(1024 * 1024))
    .option('--grace <seconds>', 'on SIGTERM, how long running jobs may take to finish before they are ended and requeued', '30')
    .addHelpText('after', RUNS_COMMANDS)
    .action(async (opts) => setStatus(await (await daemon()).daemonCommand(opts, o.version)));

  program
    .command('worker')
    .description("run jobs from a daemon's queue on this host (another benchmark server of a pool)")
    .option('--redis <url>', "the daemon's Redis: redis://[:password@]host:port/db, rediss:// (TLS) or unix:///path/redis.sock")
    .option('--job-key <file>', 'run only jobs signed with the key in this file (mode 0600; the daemon\'s --job-key); others are refused and reported')
    .option('--pool <name>', 'the class of identical hosts this one belongs to', 'default')
    .option('--cpus <list>', 'run jobs only on these CPUs, e.g. 0-3')
    .option('--docker-socket <path>', "the Docker engine's socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock); checked at start")
    .option('-w, --workdir <dir>', "this worker's work directory: build artifacts, job outputs, logs", '.wayfinder-worker')
    .option('--name <host>', 'the host name results record (default: the hostname)')
    .option('--grace <seconds>', 'on SIGTERM, how long running jobs may take to finish before they are ended and requeued', '30')
    .option('--lost-after <seconds>', 'silent this long (stopped and not restarted), this worker counts as lost: what it built is built again on another host of its pool', '60')
    .addHelpText('after', '\nThe experiments in the queue run their build and test commands on this host as the current user.\n')
    .action(async (opts) => setStatus(await (await daemon()).workerCommand(opts)));

  server(
    program
      .command('submit')
      .description('send an experiment to a daemon; with --wait, follow it to the end as `run` would')
      .argument('<file>', 'experiment file (YAML)')
      .option('--wait', 'show progress until it finishes, then the best configuration against the default')
      .option('--budget <n>', 'try at most this many configurations')
      .option('--parallel <n>', 'configurations in flight at once')
      .option('--strategy <name>', strategyChoices())
      .option('--seed <n>', 'random seed')
      .option('--priority <n>', 'higher runs first (default 0: submission order)')
      .option('--pool <name>', "run on this pool's hosts (overrides the file's pool)")
      .option('--confirm <pairs>', 'at the end, measure the best and the default again, interleaved, up to this many pairs, and compare them (default 15)')
      .option('--no-confirm', 'end with the exploration\'s provisional ranking, unconfirmed')
      .option('--drift-every <n>', 'measure the default again after every n configurations (at most every 5 minutes) and warn when it has drifted by more than 10% (default 10)')
      .option('--no-early-stop', 'stop no configuration early: measure every iteration of each, even one already clearly below the best (early stopping is on by default: docs/strategies.md)')
      .option('--no-fidelity', "no cheap looks: measure every configuration at its test's full fidelity only (cheap looks are on by default when the test declares a fidelity: docs/strategies.md)")
      .option('--json', 'machine-readable output')
      .option('-q, --quiet', 'no progress output'),
  )
    .addHelpText('after', '\nThe experiment\'s commands run on the daemon\'s hosts as the user running the daemon.\n')
    .action(async (file: string, opts) => setStatus(await (await remote()).submitCommand(file, opts)));

  server(
    program
      .command('status')
      .description("the daemon's experiments, or one experiment's progress and best configuration")
      .argument('[experiment]', 'experiment id, id prefix or name')
      .option('--json', 'machine-readable output'),
  ).action(async (ref: string | undefined, opts) => setStatus(await (await remote()).statusCommand(ref, opts)));

  server(
    program
      .command('link')
      .description("a one-time link that opens an experiment's report in a browser (needs the daemon's --listen)")
      .argument('<experiment>', 'experiment id, id prefix or name'),
  ).action(async (ref: string, opts) => setStatus(await (await remote()).linkCommand(ref, opts)));

  server(program.command('cancel').description('stop an experiment: nothing more is asked, queued work is taken back').argument('<experiment>', 'experiment id, id prefix or name')).action(
    async (ref: string, opts) => setStatus(await (await remote()).cancelCommand(ref, opts)),
  );

  server(
    program
      .command('logs')
      .description("an experiment's log on the daemon: queued, started, finished and failed jobs, best so far")
      .argument('<experiment>', 'experiment id, id prefix or name')
      .option('-f, --follow', 'keep printing events until the experiment ends'),
  ).action(async (ref: string, opts) => setStatus(await (await remote()).logsCommand(ref, opts)));
}
