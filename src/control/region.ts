// Our side of a control region: a file under /dev/shm that the dataplane made. Two ways to reach
// it (docs/control-protocol.md, "Our side", says which is the default and why):
// - 'mapped': the file mapped into this process by a small N-API addon; the seq words are read and
//   written with Atomics, the payload with plain loads and stores, as the C side does.
// - 'pread': pread/pwrite at offsets, no addon. A pread is not atomic against the other side's
//   stores, so each seq word is read with its own pread, before and after the payload.
// Either way a block is read as a seqlock reader does (seq even, payload, same seq again, or again)
// and written as its writer does (seq odd, payload, seq even).

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { BLOCK_HEAD, OFF, parseLayout, WORD, type Layout } from './layout.js';
import { shmAddon } from './native.js';

export interface BlockCopy {
  /** signals: the generation; knobs: the epoch; heartbeats: the counter. */
  count: bigint;
  /** CLOCK_MONOTONIC ns at the publish (the writer's clock). */
  timeNs: bigint;
  /** The dataplane's heartbeat: the knob epoch it runs with (0: its defaults). */
  extra: bigint;
  values: number[];
}

export type Access = 'mapped' | 'pread';

interface BlockIO {
  /** One try: a consistent copy, or null when the writer was mid-write. */
  tryRead(at: number, n: number): BlockCopy | null;
  write(at: number, count: bigint, extra: bigint, values: readonly number[]): void;
  /** One 64-bit word on its own (a block's count word, readable even while its seq is odd). */
  word(at: number): bigint;
  close(): void;
}

/** A reader's tries before it gives up on a writer stuck mid-write (killed or descheduled). */
const MAX_TRIES = 100_000;

/** The next odd seq: an odd seq left behind is a writer that died mid-write, its write aborted. */
const nextOdd = (seq: bigint): bigint => (seq & 1n ? seq + 2n : seq + 1n);

class MappedIO implements BlockIO {
  private readonly u64: BigUint64Array;
  private readonly f64: Float64Array;
  // x86-64 keeps loads in order and stores in order (TSO), and V8 does not move memory accesses
  // across Atomics; elsewhere a plain load could pass the acquire load of the second seq.
  private readonly fence: (() => void) | null;

  constructor(path: string) {
    const addon = shmAddon();
    const buf = addon.map(path);
    this.u64 = new BigUint64Array(buf, 0, Math.floor(buf.byteLength / 8));
    this.f64 = new Float64Array(buf, 0, Math.floor(buf.byteLength / 8));
    this.fence = process.arch === 'x64' ? null : addon.fence;
  }

  tryRead(at: number, n: number): BlockCopy | null {
    const w = at / 8;
    const seq = Atomics.load(this.u64, w);
    if (seq & 1n) return null;
    const count = this.u64[w + 1]!;
    const timeNs = this.u64[w + 2]!;
    const extra = this.u64[w + 3]!;
    const v0 = w + BLOCK_HEAD / 8;
    const values = new Array<number>(n);
    for (let k = 0; k < n; k++) values[k] = this.f64[v0 + k]!;
    this.fence?.();
    if (Atomics.load(this.u64, w) !== seq) return null;
    return { count, timeNs, extra, values };
  }

  write(at: number, count: bigint, extra: bigint, values: readonly number[]): void {
    const w = at / 8;
    const seq = nextOdd(Atomics.load(this.u64, w));
    Atomics.store(this.u64, w, seq);
    this.fence?.();
    this.u64[w + 1] = count;
    this.u64[w + 2] = process.hrtime.bigint();
    this.u64[w + 3] = extra;
    const v0 = w + BLOCK_HEAD / 8;
    values.forEach((v, k) => (this.f64[v0 + k] = v));
    this.fence?.();
    Atomics.store(this.u64, w, seq + 1n);
  }

  word(at: number): bigint {
    return Atomics.load(this.u64, at / 8);
  }

  close(): void {
    // The mapping goes with the buffer, when it is collected.
  }
}

class PreadIO implements BlockIO {
  private readonly buf = Buffer.alloc(8);

  constructor(private fd: number, private readonly path: string) {}

  word(at: number): bigint {
    return this.readWord(at);
  }

  private readWord(at: number): bigint {
    if (readSync(this.fd, this.buf, 0, 8, at) !== 8) throw new Error(`${this.path}: short read at ${at}`);
    return this.buf.readBigUInt64LE(0);
  }

  tryRead(at: number, n: number): BlockCopy | null {
    const seq = this.readWord(at + WORD.seq);
    if (seq & 1n) return null;
    const payload = Buffer.alloc(BLOCK_HEAD - 8 + n * 8);
    readSync(this.fd, payload, 0, payload.length, at + 8);
    if (this.readWord(at + WORD.seq) !== seq) return null;
    return {
      count: payload.readBigUInt64LE(WORD.count - 8),
      timeNs: payload.readBigUInt64LE(WORD.time - 8),
      extra: payload.readBigUInt64LE(WORD.extra - 8),
      values: Array.from({ length: n }, (_, k) => payload.readDoubleLE(BLOCK_HEAD - 8 + k * 8)),
    };
  }

  write(at: number, count: bigint, extra: bigint, values: readonly number[]): void {
    const seq = nextOdd(this.readWord(at + WORD.seq));
    const payload = Buffer.alloc(BLOCK_HEAD - 8 + values.length * 8);
    payload.writeBigUInt64LE(count, WORD.count - 8);
    payload.writeBigUInt64LE(process.hrtime.bigint(), WORD.time - 8);
    payload.writeBigUInt64LE(extra, WORD.extra - 8);
    values.forEach((v, k) => payload.writeDoubleLE(v, BLOCK_HEAD - 8 + k * 8));
    const s = Buffer.alloc(8);
    s.writeBigUInt64LE(seq);
    writeSync(this.fd, s, 0, 8, at + WORD.seq);
    writeSync(this.fd, payload, 0, payload.length, at + 8);
    s.writeBigUInt64LE(seq + 1n);
    writeSync(this.fd, s, 0, 8, at + WORD.seq);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class ControlRegion {
  private constructor(
    readonly path: string,
    readonly layout: Layout,
    readonly access: Access,
    private readonly io: BlockIO,
  ) {}

  /** Attach to a region its dataplane made; a file of another format or version is refused. */
  static open(path: string, access: Access = 'mapped'): ControlRegion {
    const fd = openSync(path, 'r+');
    let layout: Layout;
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 1 << 20));
      readSync(fd, head, 0, head.length, 0);
      layout = parseLayout(path, head, size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (access === 'pread') return new ControlRegion(path, layout, access, new PreadIO(fd, path));
    closeSync(fd);
    return new ControlRegion(path, layout, access, new MappedIO(path));
  }

  close(): void {
    this.io.close();
  }

  /** One consistent copy of the block at `at` with n values, or null when its writer stayed mid-write. */
  readBlock(at: number, n: number): BlockCopy | null {
    for (let i = 0; i < MAX_TRIES; i++) {
      const b = this.io.tryRead(at, n);
      if (b) return b;
    }
    return null;
  }

  /** Publish the block at `at` (this process must be its only writer). */
  writeBlock(at: number, count: bigint, extra: bigint, values: readonly number[]): void {
    this.io.write(at, count, extra, values);
  }

  /** A block's count word alone: the epoch or heartbeat counter a restarting writer continues from. */
  countOf(at: number): bigint {
    return this.io.word(at + WORD.count);
  }

  signals(): BlockCopy | null {
    return this.readBlock(this.layout.signalsAt, this.layout.signals.length);
  }

  knobs(): BlockCopy | null {
    return this.readBlock(this.layout.knobsAt, this.layout.knobs.length);
  }

  heartbeatOf(side: 'dataplane' | 'controller'): BlockCopy | null {
    return this.readBlock(side === 'dataplane' ? OFF.hbDataplane : OFF.hbController, 0);
  }
}
