// The shape of an experiment file, in its three formats, as zod schemas. Only shape lives here
// (no transforms), so the same schemas give the JSON Schema for editors; what needs more than
// shape (domains, cross-references, files on disk) is checked in normalise.ts with locations.
// What the registries hold (metric parsers and their options, strategies, the keys of the ways a
// parameter reaches a build) is read from them when the schemas are built, and they are built again
// when a registry has gained an entry.

import { z } from 'zod';
import type { MetricParser } from '../metrics/parser.js';
import { metricParsers } from '../metrics/registry.js';
import { strategyNames } from '../strategies/registry.js';
import type { ParamKind } from '../targets/params/kind.js';
import { paramKinds } from '../targets/params/registry.js';

export const NAME_RE = /^[A-Za-z0-9._-]+$/;
export const PARAM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Devices a job may be given: Wayfinder's allow-list. */
export const ALLOWED_DEVICES = ['/dev/kvm', '/dev/net/tun', '/dev/random', '/dev/urandom', '/dev/loop-control'] as const;

const name = z.string().regex(NAME_RE).describe('letters, digits, ".", "_" and "-"');
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const count = (min: number) => z.int().min(min);
const duration = z
  .union([z.number().positive(), z.string()])
  .describe('seconds, or a number with a unit: "90s", "10m", "1h"');

const paramBaseShape = {
  name: z.string().regex(PARAM_NAME_RE).describe('an environment-variable name: [A-Za-z_][A-Za-z0-9_]*'),
  type: z
    .enum(['integer', 'string', 'boolean', 'int', 'str', 'bool'])
    .describe('int, str and bool are accepted as Wayfinder wrote them'),
  only: z.array(scalar).min(1).optional().describe('the values to explore; takes precedence over min/max'),
  min: z.int().optional(),
  max: z.int().optional(),
  step: z.int().optional().describe('default 1'),
  step_mode: z.enum(['increment', 'power']).optional().describe('power: min, min*step, min*step^2 ... <= max'),
  default: scalar.optional().describe("the target's own default; must be in the domain"),
  when: z.enum(['build', 'test', 'both']).optional().describe('default build: a change rebuilds unless told otherwise'),
  if: z.string().optional().describe('a condition on other parameters'),
  description: z.string().optional(),
};

/** A parameter: the keys every parameter has, and the key of each registered way it reaches a build (kconfig, patch). */
function paramSchemaOf(kinds: readonly ParamKind[]) {
  const keys: Record<string, z.ZodOptional<z.ZodType>> = {};
  for (const k of kinds) if (k.key) keys[k.key.name] = k.key.schema.optional().describe(k.key.description);
  return z.strictObject({ ...paramBaseShape, ...keys }).meta({ id: 'param' }) as unknown as z.ZodType<RawParam>;
}

export const vmSchema = z.strictObject({
  kernel: z.string().describe('the image to boot; relative to the build directory; ${NAME} expands'),
  initrd: z.string().optional(),
  memory: z.union([count(1), z.string()]).optional().describe('MiB, or "64M"; default 64M'),
  cores: count(1).optional().describe("vCPUs; default the test's cores"),
  args: z.string().optional().describe('the kernel command line'),
  accel: z.enum(['kvm', 'tcg', 'auto']).optional().describe('auto (default): KVM when it really works, else TCG'),
  net: z
    .enum(['user', 'tap', 'none'])
    .optional()
    .describe('user (default when ports are forwarded): user-mode networking; tap: a tap device in a network namespace of its own'),
  tap: z
    .strictObject({ host: z.string().describe('default 10.0.3.1/24'), guest: z.string().describe('default 10.0.3.2') })
    .partial()
    .optional()
    .describe("addresses on the tap's link (net: tap)"),
  forward: z.array(z.int().min(1).max(65535)).optional().describe('guest TCP ports reachable on 127.0.0.1'),
  marker: z.string().optional().describe('a regular expression the console prints once booted'),
  probe: z
    .union([
      z.int().min(1).max(65535),
      z.strictObject({ kind: z.enum(['tcp', 'http']).optional(), port: z.int().min(1).max(65535), path: z.string().optional() }),
    ])
    .optional()
    .describe('time to the first connection to this guest port (http by default)'),
  footprint: z
    .union([z.boolean(), z.strictObject({ min: count(1), max: count(1), step_kib: count(4).optional() })])
    .optional()
    .describe('find the least memory (MiB, to step_kib KiB: default 1024) it boots in, by bisection'),
  boot_timeout: duration.optional(),
  arch: z.string().optional().describe('the guest architecture; default x86_64, the only one run here'),
  disks: z
    .array(z.union([z.string(), z.strictObject({ path: z.string(), format: z.enum(['raw', 'qcow2']).optional() })]))
    .optional()
    .describe('disk images for virtio block devices (vda, vdb, ...), relative to the build directory; raw unless told'),
  start_delay: z.number().min(0).optional().describe("seconds from the VM's start to the command's start (and at least until the marker)"),
}).meta({ id: 'vm' });

export const kconfigSchema = z.strictObject({
  config: z.string().optional().describe('the .config to write, relative to the build directory; default .config'),
  base: z.string().optional().describe('a starting configuration to copy in first'),
  resolve: z.string().optional().describe('the resolver command; default make olddefconfig'),
  sources: z.array(z.string()).optional().describe("folders holding the tree's Kconfig files (${VAR} expands): a requested or base symbol none of them declares is reported as not existing"),
}).meta({ id: 'kconfig' });

const pathMapping = z.union([
  z.string().describe('"source:destination"'),
  z.strictObject({ source: z.string(), destination: z.string() }),
]);


const jobShape = {
  name: name.optional(),
  run: z.string().optional().describe('a shell command line (exactly one of run and script)'),
  script: z.string().optional().describe("a script, relative to the experiment file's directory"),
  image: z.string().optional().describe('run in a container of this image'),
  runner: z
    .string()
    .regex(/^[a-z][a-z0-9-]*$/)
    .optional()
    .describe('the runner kind (process, container, vm, or one registered later); default: implied by image or vm'),
  cores: count(1).optional(),
  isolation: z.enum(['none', 'core', 'cache', 'socket', 'full']).optional(),
  timeout: duration.optional(),
  retries: count(0).optional(),
  env: z.record(z.string(), scalar).optional(),
  inputs: z.array(pathMapping).optional(),
  outputs: z.array(pathMapping).optional(),
  devices: z.array(z.enum(ALLOWED_DEVICES)).optional(),
  capabilities: z.array(z.string()).optional().describe('Linux capability names, with or without CAP_'),
  privileged: z.boolean().optional(),
  network: z.string().optional().describe('none, host, or the name of a network'),
  resources: z
    .strictObject({
      l3_ways: count(1).optional(),
      mb_percent: z.int().min(1).max(100).optional(),
      memory: z.union([count(1), z.string()]).optional().describe('bytes, or "512M", "2G"'),
    })
    .optional(),
};

export const buildJobSchema = z
  .strictObject({
    ...jobShape,
    kconfig: kconfigSchema.optional(),
    source: z.string().optional().describe('a source tree copied into the build directory first; ${NAME} expands'),
    archives: z
      .string()
      .optional()
      .describe("a folder of the source archives the build downloads (for hosts without internet): the work directory's archive cache is filled from it first; ${NAME} expands"),
  })
  .meta({ id: 'buildJob' });
export const testJobSchema = z
  .strictObject({
    ...jobShape,
    iterations: count(1).optional(),
    warmup: count(0).optional(),
    vm: vmSchema.optional(),
    fidelity: z
      .strictObject({
        env: z.string().regex(PARAM_NAME_RE).describe('the environment variable the test reads its fidelity from: [A-Za-z_][A-Za-z0-9_]*'),
        cheap: scalar.describe("its value for a cheap look (a shorter benchmark: '2')"),
        full: scalar.describe("its value for a full measurement ('10')"),
        iterations: count(2).optional().describe('iterations of a cheap look (default 2; the variance of cheap looks is estimated from them)'),
      })
      .optional()
      .describe('cheap looks before full measurements: a configuration clearly below the best at the cheap fidelity is stopped (docs/strategies.md)'),
  })
  .meta({ id: 'testJob' });

const metricBaseShape = {
  name: name,
  source: z.union([z.literal('stdout'), z.strictObject({ file: z.string() })]).optional(),
  file: z.string().optional().describe('shorthand for source: { file: ... }'),
  scale: z.number().optional(),
  test: name.optional().describe('only from this test'),
};

/** A metrics entry: the keys every entry has, and each registered parser's options beside them. */
function metricSchemaOf(parsers: readonly MetricParser[]) {
  const described = new Map<string, string[]>();
  for (const p of parsers) for (const o of p.options) described.set(o.key, [...(described.get(o.key) ?? []), `${p.name} parser: ${o.description}`]);
  const options: Record<string, z.ZodOptional<z.ZodString>> = {};
  for (const [key, texts] of described) options[key] = z.string().optional().describe(texts.join('; '));
  const { name: entryName, source, file, scale, test } = metricBaseShape;
  const schema = z
    .strictObject({ name: entryName, parser: z.enum(nonEmpty(parsers.map((p) => p.name))), source, file, ...options, scale, test })
    .meta({ id: 'metric' });
  return schema as unknown as z.ZodType<RawMetric>;
}

function nonEmpty(names: string[]): [string, ...string[]] {
  if (names.length === 0) throw new Error('a registry the experiment schema reads is empty');
  return names as [string, ...string[]];
}

export const objectiveSchema = z.strictObject({
  metric: z.string().optional(),
  direction: z.enum(['maximize', 'minimize']).optional(),
  maximize: z.string().optional().describe('shorthand for metric + direction: maximize'),
  minimize: z.string().optional().describe('shorthand for metric + direction: minimize'),
  failure: z.number().optional().describe('the value a failed configuration counts as'),
}).meta({ id: 'objective' });

function explorationSchemaOf(strategies: string[]) {
  return z
    .strictObject({
      strategy: z.enum(nonEmpty(strategies)).optional(),
      budget: count(1).optional(),
      seed: z.int().optional(),
      parallel: count(1).optional(),
      random_start: z.boolean().optional(),
      warm_start: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .describe('earlier experiments in the same results store (names or ids) whose measurements start the bayesian search'),
    })
    .meta({ id: 'exploration' });
}

export const hostSchema = z.strictObject({
  governor: z.string().optional(),
  turbo: z.boolean().optional(),
  smt: z.boolean().optional(),
  aslr: z.boolean().optional(),
  sysctls: z.record(z.string(), scalar).optional(),
  cache_partition: z
    .strictObject({
      l3_ways: count(1).optional(),
      mb_percent: z.int().min(1).max(100).optional(),
    })
    .optional()
    .describe('every test job gets cache ways / memory bandwidth of its own (resctrl), unless it names its own resources'),
}).meta({ id: 'host' });

const resultsSchema = z.array(
  z.strictObject({
    name: name,
    path: z.string(),
    type: z.enum(['int', 'integer', 'float', 'str', 'string', 'bool']).optional(),
  }),
);

const daemonTestSchema = z.strictObject({
  name: name.optional(),
  // The VM the built kernel boots in (Wayfinder's libvirt domain); its image, initrd and disks are
  // the build's outputs.
  kernel: z
    .strictObject({
      plat: z.string().optional().describe('kvm (KVM, else TCG with a note) or qemu (TCG)'),
      arch: z.string().optional().describe('x86_64 (the only one run here) or riscv64'),
      memory: z.union([z.string(), count(1)]).optional(),
      args: z.string().optional().describe('$WAYFINDER_DOMAIN_* and ${PARAM} are replaced'),
      cores: count(1).optional(),
    })
    .optional(),
  benchtool: z.strictObject({
    image: z.string().optional(),
    devices: z.array(z.enum(ALLOWED_DEVICES)).optional(),
    capabilities: z.array(z.string()).optional(),
    commands: z.string(),
    cores: count(1).optional(),
    start_delay: z.number().min(0).optional(),
    boot_delay: z.number().min(0).optional(),
    duration: z.number().min(0).optional(),
    environment: z.record(z.string(), scalar).optional(),
    // Host commands Wayfinder ran beside the test (a power meter on its LAN): read, not run.
    monitors: z.array(z.strictObject({ name: z.string(), commands: z.string() })).optional(),
    // One of Wayfinder's files puts its results here, where the daemon never looked; read as the test's.
    results: resultsSchema.optional(),
  }),
  results: resultsSchema.optional(),
});

/** The three formats' schemas from what the registries hold now. */
function buildSchemas(parsers: readonly MetricParser[], strategies: string[], kinds: readonly ParamKind[]) {
  const metric = metricSchemaOf(parsers);
  const paramSchema = paramSchemaOf(kinds);
  /** Keys every format accepts at the top level, so a Wayfinder file can gain metrics and an objective. */
  const commonShape = {
    name: name.optional(),
    description: z.string().optional(),
    pool: name.optional(),
    exploration: explorationSchemaOf(strategies).optional(),
    host: hostSchema.optional(),
    metrics: z.array(metric).min(1).optional(),
    objective: objectiveSchema.optional(),
    // Read by `wayfinder control` (docs/control.md), which checks it itself; a run ignores it.
    control: z.record(z.string(), z.unknown()).optional().describe('the online controller\'s configuration: wayfinder control --config this-file (docs/control.md)'),
  };

  const native = z.strictObject({
    ...commonShape,
    name: name,
    params: z.array(paramSchema).min(1),
    workload: z.array(paramSchema).optional(),
    build: buildJobSchema.optional(),
    test: z.union([testJobSchema, z.array(testJobSchema).min(1)]),
    metrics: z.array(metric).min(1).optional().describe('may be left out when the objective is a vm.* metric'),
    objective: objectiveSchema,
  });

  // Wayfinder's paper-era job file (lancs-net/wayfinder): inputs/outputs shared by all runs, and runs.
  const paper = z.strictObject({
    ...commonShape,
    params: z.array(paramSchema).min(1),
    inputs: z
      .array(
        z.strictObject({
          name: z.string().optional(),
          source: z.string(),
          destination: z.string(),
          options: z.array(z.string()).optional(),
        }),
      )
      .optional(),
    outputs: z.array(z.strictObject({ name: z.string().optional(), path: z.string() })).optional(),
    runs: z
      .array(
        z.strictObject({
          name: name,
          image: z.string().optional(),
          cores: count(1).optional(),
          devices: z.array(z.enum(ALLOWED_DEVICES)).optional(),
          capabilities: z.array(z.string()).optional(),
          cmd: z.string().optional(),
          path: z.string().optional(),
        }),
      )
      .min(1),
  });

  // The later daemon's job file (unikraft/wayfinder): build { commands, outputs }, test(s) with a
  // benchtool and results.
  const daemon = z.strictObject({
    ...commonShape,
    params: z.array(paramSchema).min(1),
    build: z.strictObject({
      image: z.string().optional(),
      outputs: z
        .strictObject({
          kernel: z.string().optional(),
          initrd: z.string().optional(),
          disks: z
            .array(z.strictObject({ type: z.string().optional(), name: z.string().optional(), path: z.string() }))
            .optional(),
          arch: z.string().optional(),
          plat: z.string().optional(),
        })
        .optional(),
      devices: z.array(z.enum(ALLOWED_DEVICES)).optional(),
      capabilities: z.array(z.string()).optional(),
      cores: count(1).optional(),
      commands: z.string(),
      workdir: z.string().optional(),
    }),
    test: z.union([daemonTestSchema, z.array(daemonTestSchema).min(1)]),
  });
  return { native, paper, daemon };
}

type Schemas = ReturnType<typeof buildSchemas>;
let built: { key: string; schemas: Schemas } | undefined;

/** The schemas of the three formats, rebuilt only when a registry has changed since the last call. */
export function experimentSchemas(): Schemas {
  const parsers = metricParsers();
  const strategies = strategyNames();
  const kinds = paramKinds();
  const key = JSON.stringify([parsers.map((p) => p.name), strategies, kinds.map((k) => k.name)]);
  if (built?.key !== key) built = { key, schemas: buildSchemas(parsers, strategies, kinds) };
  return built.schemas;
}

/** A parameter as written: the common keys, and the keys of the ways it reaches a build (kconfig, patch...). */
export type RawParam = z.infer<z.ZodObject<typeof paramBaseShape>> & { [kindKey: string]: unknown };
export type RawBuildJob = z.infer<typeof buildJobSchema>;
export type RawTestJob = z.infer<typeof testJobSchema> & { kconfig?: RawKconfig; source?: string; archives?: string };
export type RawVm = z.infer<typeof vmSchema>;
export type RawKconfig = z.infer<typeof kconfigSchema>;
/** A metrics entry as written: the common keys, and its parser's options (each a string) under their own keys. */
export type RawMetric = { parser: string } & z.infer<z.ZodObject<typeof metricBaseShape>> & { [option: string]: unknown };
export type RawObjective = z.infer<typeof objectiveSchema>;
export type RawExploration = z.infer<ReturnType<typeof explorationSchemaOf>>;
export type RawHost = z.infer<typeof hostSchema>;
export type NativeFile = z.infer<Schemas['native']>;
export type PaperFile = z.infer<Schemas['paper']>;
export type DaemonFile = z.infer<Schemas['daemon']>;

/** The JSON Schema as scripts/gen-schema.ts writes it to schema/experiment.schema.json. */
export function experimentJsonSchemaText(): string {
  return `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
}

/** JSON Schema of an experiment file (any of the three formats), for editors and other tools. */
export function experimentJsonSchema(): object {
  const { native, paper, daemon } = experimentSchemas();
  const schema = z.toJSONSchema(z.union([native, paper, daemon]), { target: 'draft-2020-12' });
  return {
    ...schema,
    title: 'Wayfinder experiment',
    description:
      'An experiment file: the native format, or a Wayfinder paper-era (runs) or daemon-era (build/test with benchtool) job file.',
  };
}
