// The shared-memory region's layout, version 1 (docs/control-protocol.md; the C side is
// native/include/wayfinder_control.h): byte offsets of the header, the heartbeat blocks and the
// seqlocked blocks, and the header read back and checked.

export const MAGIC = 'WAYFCTRL';
export const VERSION = 1;
export const NAME_SIZE = 32;
export const BLOCK_HEAD = 64;
export const MAX_SLOTS = 256;
export const STATE_READY = 1;

export const OFF = {
  magic: 0,
  version: 8,
  state: 12,
  regionSize: 16,
  headerSize: 20,
  signalCount: 24,
  knobCount: 28,
  nameSize: 32,
  names: 36,
  defaults: 40,
  signals: 44,
  knobs: 48,
  controllerTimeout: 56,
  dataplaneTimeout: 64,
  hbDataplane: 128,
  hbController: 192,
} as const;

/** Words of a seqlocked block, in bytes from its start; values start at BLOCK_HEAD. */
export const WORD = { seq: 0, count: 8, time: 16, extra: 24 } as const;

export interface Layout {
  regionSize: number;
  signals: string[];
  knobs: string[];
  /** The dataplane's own knob values, used whenever no live controller decides. */
  defaults: number[];
  signalsAt: number;
  knobsAt: number;
  controllerTimeoutNs: bigint;
  dataplaneTimeoutNs: bigint;
}

export class RegionFormatError extends Error {
  constructor(path: string, what: string) {
    super(`${path}: not a usable control region: ${what}`);
    this.name = 'RegionFormatError';
  }
}

function name(b: Buffer, at: number): string {
  const raw = b.subarray(at, at + NAME_SIZE);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? NAME_SIZE : end).toString('utf8');
}

/** The header of a region (the whole file's bytes up to the blocks), checked against version 1. */
export function parseLayout(path: string, b: Buffer, fileSize: number): Layout {
  if (b.length < OFF.hbDataplane) throw new RegionFormatError(path, `${b.length} bytes, shorter than the header`);
  if (b.toString('latin1', 0, 8) !== MAGIC) throw new RegionFormatError(path, `magic is not ${MAGIC}`);
  const version = b.readUInt32LE(OFF.version);
  if (version !== VERSION) throw new RegionFormatError(path, `version ${version}, this reader knows ${VERSION}`);
  if (b.readUInt32LE(OFF.state) !== STATE_READY) throw new RegionFormatError(path, 'its dataplane has not finished making it');
  const regionSize = b.readUInt32LE(OFF.regionSize);
  if (regionSize !== fileSize) throw new RegionFormatError(path, `header says ${regionSize} bytes, the file has ${fileSize}`);
  const ns = b.readUInt32LE(OFF.signalCount);
  const nk = b.readUInt32LE(OFF.knobCount);
  if (ns > MAX_SLOTS || nk > MAX_SLOTS) throw new RegionFormatError(path, `${ns} signals and ${nk} knobs, at most ${MAX_SLOTS} each`);
  if (b.readUInt32LE(OFF.nameSize) !== NAME_SIZE) throw new RegionFormatError(path, `name size ${b.readUInt32LE(OFF.nameSize)}, not ${NAME_SIZE}`);
  const names = b.readUInt32LE(OFF.names);
  const defaults = b.readUInt32LE(OFF.defaults);
  const signalsAt = b.readUInt32LE(OFF.signals);
  const knobsAt = b.readUInt32LE(OFF.knobs);
  if (knobsAt + BLOCK_HEAD + nk * 8 > regionSize || signalsAt + BLOCK_HEAD + ns * 8 > regionSize || defaults + nk * 8 > b.length || names + (ns + nk) * NAME_SIZE > b.length)
    throw new RegionFormatError(path, 'its blocks lie outside the region');
  const at = (i: number): number => names + i * NAME_SIZE;
  return {
    regionSize,
    signals: Array.from({ length: ns }, (_, i) => name(b, at(i))),
    knobs: Array.from({ length: nk }, (_, i) => name(b, at(ns + i))),
    defaults: Array.from({ length: nk }, (_, i) => b.readDoubleLE(defaults + i * 8)),
    signalsAt,
    knobsAt,
    controllerTimeoutNs: b.readBigUInt64LE(OFF.controllerTimeout),
    dataplaneTimeoutNs: b.readBigUInt64LE(OFF.dataplaneTimeout),
  };
}
