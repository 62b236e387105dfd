// The `wayfinder` command: parses arguments and calls the modules; holds no logic of its own.

import { Command, CommanderError } from 'commander';
import { describeError } from './errors.js';
import { wayfinderVersion } from '../util/version.js';
import { registerDaemonCommands } from './commands-daemon.js';
import { parsersHelp, strategiesHelp, strategyChoices } from './registry-help.js';

// Each command's module is loaded when that command runs: `wayfinder --help` or `plan` need not
// load BullMQ, the Docker client, the report's browser driver and the rest.

/** Repeatable option values, also comma-separated: --strategy a --strategy b,c. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim())];
}

const WORKDIR_HELP = 'work directory: results database, logs, build artifacts, embedded Redis';
const DEFAULT_WORKDIR = '.wayfinder';

export async function main(argv: string[]): Promise<number> {
  let status = 0;
  const program = new Command('wayfinder')
    .description('Explore, build, test and measure the configuration space of an operating system and its application.')
    .version(wayfinderVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('run')
    .description('explore an experiment on this host; a second run in the same work directory resumes where the first stopped')
    .argument('<file>', 'experiment file (YAML)')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--redis <url>', 'use this Redis (redis://[:password@]host:port/db, rediss:// for TLS) instead of an embedded redis-server')
    .option('--job-key <file>', 'sign queued jobs with the key in this file (mode 0600); workers run only signed jobs')
    .option('--budget <n>', 'try at most this many configurations (overrides exploration.budget)')
    .option('--parallel <n>', 'configurations in flight at once (overrides exploration.parallel)')
    .option('--strategy <name>', `${strategyChoices()} (overrides exploration.strategy)`)
    .option('--seed <n>', 'random seed (overrides exploration.seed)')
    .option('--cpus <list>', 'run jobs only on these CPUs, e.g. 0-3')
    .option('--docker-socket <path>', 'the Docker engine\'s socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock)')
    .option('--confirm <pairs>', 'at the end, measure the best and the default again, interleaved, up to this many pairs, and compare them (default 15)')
    .option('--no-confirm', 'end with the exploration\'s provisional ranking, unconfirmed')
    .option('--drift-every <n>', 'measure the default again after every n configurations (at most every 5 minutes) and warn when it has drifted by more than 10% (default 10)')
    .option('--no-early-stop', 'stop no configuration early: measure every iteration of each, even one already clearly below the best (early stopping is on by default: docs/strategies.md)')
    .option('--no-fidelity', "no cheap looks: measure every configuration at its test's full fidelity only (cheap looks are on by default when the test declares a fidelity: docs/strategies.md)")
    .option('--json', 'print the outcome as JSON on stdout, no progress')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', '\nThe experiment\'s build and test commands run on this host as the current user, or in containers of their image.')
    .addHelpText('after', () => `${strategiesHelp()}\n${parsersHelp()}`)
    .action(async (file: string, opts) => {
      status = await (await import('./run.js')).runCommand(file, opts);
    });

  program
    .command('confirm')
    .description('measure the best configuration of an experiment (the latest one by default) and its default again, interleaved, and compare them: ratio of medians, bootstrap interval, rank test')
    .argument('[experiment]', 'experiment id, id prefix or name')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--pairs <n>', 'at most this many interleaved pairs (5 first, then more until the rank test is decisive)', '15')
    .option('--seed <n>', 'seed of the bootstrap resampling', '1')
    .option('--redis <url>', 'use this Redis (redis://host:port/db) instead of an embedded redis-server')
    .option('--cpus <list>', 'run jobs only on these CPUs, e.g. 0-3')
    .option('--docker-socket <path>', 'the Docker engine\'s socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock)')
    .option('--json', 'print the comparison as JSON on stdout, no progress')
    .option('-q, --quiet', 'no progress output')
    .action(async (ref: string | undefined, opts) => {
      status = await (await import('./confirm.js')).confirmCommand(ref, opts);
    });

  program
    .command('plan')
    .description('show what `run` with the same flags will do, without running anything: the configurations in the order run measures them (the default first), builds and test runs')
    .argument('<file>', 'experiment file (YAML)')
    .option('--budget <n>', 'try at most this many configurations, the default included (overrides exploration.budget)')
    .option('--parallel <n>', 'configurations in flight at once (overrides exploration.parallel)')
    .option('--strategy <name>', `${strategyChoices()} (overrides exploration.strategy)`)
    .option('--seed <n>', 'random seed (overrides exploration.seed)')
    .option('--json', 'machine-readable output')
    .option('--show <n>', 'how many configurations to list', '10')
    .option('-w, --workdir <dir>', `${WORKDIR_HELP}: where a warm start's earlier experiments are looked up`, DEFAULT_WORKDIR)
    .option('--resolve-limit <n>', "resolve at most this many distinct Kconfig requests with the tree's own tool to count effective configurations (0: none)", '256')
    .addHelpText('after', () => `${strategiesHelp()}\n${parsersHelp()}`)
    .action(async (file: string, opts) => {
      status = await (await import('./plan.js')).planCommand(file, opts);
    });

  program
    .command('experiments')
    .description('list the experiments of a work directory: kind, state, configurations done and failed, best objective, when last run')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      status = (await import('./experiments.js')).experimentsCommand(opts);
    });

  program
    .command('results')
    .description('the results of an experiment (by default the exploration run last, not a regress measurement): one row per configuration, best first; CSV and JSON with every raw sample')
    .argument('[experiment]', 'experiment id, id prefix or name')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--format <fmt>', 'table, csv or json', 'table')
    .option('--top <n>', 'only the best n configurations')
    .option('--server <url>', 'ask a running daemon instead of reading the work directory')
    .option('--token-file <file>', "file holding the daemon's token")
    .action(async (ref: string | undefined, opts) => {
      status = opts.server ? await (await import('./remote.js')).remoteResultsCommand(ref, opts) : (await import('./results.js')).resultsCommand(ref, opts);
    });

  program
    .command('report')
    .description('write an HTML report of an experiment (by default the exploration run last, not a regress measurement): figures, parameter importance, best against default')
    .argument('[experiment]', 'experiment id, id prefix or name')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--out <dir>', 'write report.html, report.json and figures/ here (default: WORKDIR/reports/EXPERIMENT)')
    .option('--json', 'print the report\'s numbers as JSON on stdout')
    .option('--no-png', 'write the figures as SVG only (PNG needs the system Chromium)')
    .option('--top <n>', 'how many best configurations to compare with the default', '5')
    .action(async (ref: string | undefined, opts) => {
      status = await (await import('./report.js')).reportCommand(ref, opts);
    });

  program
    .command('regress')
    .description('CI: measure the default (or chosen) configurations and compare them with a baseline; exit 0 no regression, 1 regression, 2 usage error, 3 inconclusive')
    .argument('<file>', 'experiment file (YAML)')
    .option('--configs <which>', 'default, best (of an earlier run in the work directory), or configuration ids, comma-separated', 'default')
    .option('--iterations <n>', 'measured iterations per test (default: the experiment\'s, at least 10)')
    .option('--max-iterations <n>', 'an inconclusive comparison measures the undecided configurations again, up to this many iterations each in all (default: three times --iterations; equal to it: never)')
    .option('--warmup <n>', 'warm-up runs per test before measuring (at least the experiment\'s)', '1')
    .option('--baseline <file|experiment>', 'a baseline file (--save-baseline) or an experiment id in the work directory')
    .option('--threshold <pct>', 'allowed worsening before it counts as a regression (raised to what the baseline\'s own spread can resolve)', '5%')
    .option('--metrics <names>', 'judge these metrics too, comma-separated, or "all" (default: only the objective)')
    .option('--confidence <level>', 'confidence of the intervals and the rank test', '0.95')
    .option('--inconclusive <policy>', 'what an inconclusive comparison counts as: exit3, pass or fail', 'exit3')
    .option('--save-baseline <file>', 'save this measurement (raw samples, host facts, isolation) as a baseline file')
    .option('--junit <file>', 'write JUnit XML (one test case per configuration and metric)')
    .option('--markdown <file>', 'write a Markdown summary for a pull-request comment')
    .option('--seed <n>', 'seed of the bootstrap resampling', '1')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--redis <url>', 'use this Redis (redis://host:port/db) instead of an embedded redis-server')
    .option('--cpus <list>', 'run jobs only on these CPUs, e.g. 0-3')
    .option('--docker-socket <path>', 'the Docker engine\'s socket for jobs with an image (default: DOCKER_HOST, then /var/run/docker.sock)')
    .option('--json', 'print the comparison as JSON on stdout, no progress')
    .option('-q, --quiet', 'no progress output')
    .action(async (file: string, opts) => {
      status = await (await import('./regress.js')).regressCommand(file, opts);
    });

  program
    .command('replay')
    .description('judge search strategies on a recorded table of measured configurations, without running a benchmark')
    .option('--table <file>', 'CSV: one row per configuration (e.g. from `wayfinder results --format csv`)')
    .option('--objective <column>', 'the column holding the measured objective')
    .option('--minimize', 'lower objective values are better')
    .option('--failure <value>', 'objective value that marks a failed configuration')
    .option('--params <a,b,c>', 'the parameter columns (default: all but the objective; an export\'s experiment parameters)')
    .option('--strategy <name>', `${strategyChoices()}; repeat for several (default: all)`, collect)
    .option('--budget <n>', 'evaluations per search; repeat for several (default: 10, 20, 40, 100)', collect)
    .option('--seeds <k>', 'searches per strategy, each with its own seed', '30')
    .option('--json', 'print {"results": [...]} as JSON')
    .option('--plot <file.svg>', 'draw best-so-far against evaluations, per strategy')
    .option('--samples <metric>', 'a table with every iteration (an export\'s samples.<metric> columns): replay early stopping as a run applies it, on this metric\'s iterations (needs --seconds)')
    .option('--seconds <metric>', 'with --samples: the metric holding each iteration\'s benchmark-seconds (e.g. wrk.duration_s)')
    .addHelpText('after', () => strategiesHelp())
    .action(async (opts) => {
      status = (await import('./replay.js')).replayCommand(opts);
    });

  program
    .command('learn')
    .description('which configuration for which workload: best per workload value, the best static configuration and its loss, a policy tree with its regret')
    .argument('[experiment]', 'experiment id, id prefix or name (the latest one by default)')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--table <file>', 'learn from a recorded CSV table instead (one row per configuration and workload)')
    .option('--objective <column>', 'with --table: the column holding the measured objective')
    .option('--minimize', 'with --table: lower objective values are better')
    .option('--failure <value>', 'with --table: objective value that marks a failed configuration')
    .option('--workload <a,b>', "the workload dimensions (default: the experiment's workload: parameters)")
    .option('--params <a,b,c>', 'the knobs to choose (default: every other parameter)')
    .option('--max-depth <n>', 'deepest split of the policy tree', '4')
    .option('--tolerance <share>', 'a knob whose best single value loses at most this much need not follow the workload', '1%')
    .option('--fallback <config>', 'what a workload outside the trained range gets: static (the best static configuration) or KNOB=VALUE,...', 'static')
    .option('--out <policy.json>', 'write the policy (docs/policy-format.md)')
    .option('--c <policy.h>', 'write the policy as a C header: one function from features to knob values')
    .option('--c-prefix <name>', 'prefix of the C header\'s names', 'wf_policy')
    .option('--json', 'print everything learned as JSON')
    .option('--online [sessions]', 'also learn from what wayfinder control observed in this work directory: every fitting session, or ids 1,3; warns of drift')
    .action(async (ref: string | undefined, opts) => {
      status = (await import('./learn.js')).learnCommand(ref, opts);
    });

  const policy = program.command('policy').description('use a learned policy');
  policy
    .command('decide')
    .description('the configuration a policy picks for a workload: wayfinder policy decide policy.json CONNECTIONS=8 LOSS=10')
    .argument('<policy>', 'policy.json written by wayfinder learn --out')
    .argument('[features...]', 'FEATURE=VALUE for every feature of the policy')
    .option('--json', 'print {"params": {...}, "leaf": N|null, "fallback": bool}')
    .action(async (file: string, features: string[], opts) => {
      status = (await import('./policy.js')).policyDecideCommand(file, features, opts);
    });
  policy
    .command('controller')
    .description('a native controller from a policy: a C program that polls a dataplane\'s control region, runs the policy each period and publishes the knobs (docs/control.md)')
    .argument('<policy>', 'policy.json written by wayfinder learn --out')
    .option('--out <file.c>', 'write the controller\'s C source')
    .option('--build <binary>', 'compile it (gcc -O2 -Wall -Wextra -Werror) to this executable')
    .option('--signal <feature=signal>', 'the region\'s signal a policy feature reads (default: the feature\'s name in lower case); repeatable', collect)
    .action(async (file: string, opts) => {
      status = (await import('./policy.js')).policyControllerCommand(file, opts);
    });

  program
    .command('dynamic')
    .description('run a workload schedule against static configurations and controllers of the reference dataplane, interleaved; store the objective per time window and draw it (docs/control.md)')
    .argument('<file>', 'dynamic experiment file (YAML)')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--repeats <n>', 'run every variant this many times (overrides repeats:)')
    .option('--nice <n>', 'run the dataplane, controller and load generator in sessions of their own with this scheduler autogroup nice (-20..19): on a shared machine, their share of the CPUs')
    .option('--pin <cpus>', 'DATAPLANE,OTHER (CPU numbers, e.g. 1,0): the busy-polling dataplane alone on the first CPU, the load generator and the controller on the second')
    .option('--report-only', 'run nothing: draw the report again from the runs of this experiment\'s name in the work directory')
    .option('--json', 'print the runs and verdicts as JSON')
    .option('-q, --quiet', 'no progress output')
    .action(async (file: string, opts) => {
      status = await (await import('./dynamic.js')).dynamicCommand(file, opts);
    });

  program
    .command('control')
    .description('run a learned policy online: read signals, decide each period behind guard rails, set knobs, record every decision (docs/control.md)')
    .argument('<policy>', 'policy.json written by wayfinder learn --out')
    .option('-c, --config <file>', 'the controller configuration: signals, knobs, period, guard rails (its own YAML file or a control: section)')
    .option('-w, --workdir <dir>', WORKDIR_HELP, DEFAULT_WORKDIR)
    .option('--duration <time>', 'stop after this long (30s, 5m); default: until Ctrl-C or SIGTERM')
    .option('--json', 'print each decision as a JSON line')
    .option('--events <file>', 'also append every decision as a JSON line to this file')
    .option('--proc-root <dir>', 'read counters and sysctls under this directory instead of /proc')
    .option('--sys-root <dir>', 'read interface statistics under this directory instead of /sys')
    .option('--server <url>', "also send every decision to this daemon (unix:///path/daemon.sock or http://host:port), which publishes it on its event stream")
    .option('--token-file <file>', "file holding the daemon's token (default $WAYFINDER_TOKEN)")
    .action(async (file: string, opts) => {
      status = await (await import('./control.js')).controlCommand(file, opts);
    });

  program
    .command('topology')
    .description('show the CPUs, caches, sockets and NUMA nodes jobs are placed on, and how many jobs fit at once')
    .option('--sysfs <root>', 'read another machine\'s sysfs tree (its /sys)')
    .option('--cpus <list>', 'only these CPUs')
    .option('--json', 'machine-readable output')
    .action(async (opts) => {
      status = await (await import('./topology.js')).topologyCommand(opts);
    });

  registerDaemonCommands(program, (code) => (status = code), { workdirHelp: WORKDIR_HELP, version: wayfinderVersion() });

  try {
    await program.parseAsync(argv);
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const { message, status: code } = describeError(e);
    process.stderr.write(`wayfinder: ${message}\n`);
    return code;
  }
}
