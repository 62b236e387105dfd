// The heartbeat rule on our side, on a scripted clock: alive while the counter moved within the
// timeout of when we saw it move; a counter that never left 0 is a side that never started; an
// unreadable reading (null) is no movement.

import { describe, expect, it } from 'vitest';
import { PeerWatch } from '../../src/control/peer.js';

const ms = (n: number): bigint => BigInt(n) * 1_000_000n;

describe('PeerWatch', () => {
  it('counts a counter that stands still longer than the timeout as gone, and its next move as back', () => {
    const p = new PeerWatch(ms(100));
    expect(p.observe(5n, ms(0))).toBe(true);
    expect(p.observe(5n, ms(100))).toBe(true);
    expect(p.observe(5n, ms(101))).toBe(false);
    expect(p.observe(6n, ms(500))).toBe(true);
    expect(p.observe(6n, ms(550))).toBe(true);
    expect(p.observe(null, ms(600))).toBe(true);
    expect(p.observe(null, ms(601))).toBe(false);
  });

  it('a side that never beat is not alive', () => {
    const p = new PeerWatch(ms(100));
    expect(p.observe(0n, ms(0))).toBe(false);
    expect(p.observe(0n, ms(50))).toBe(false);
    expect(p.observe(1n, ms(60))).toBe(true);
  });
});
