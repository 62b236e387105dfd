// Whether the other side of a control region is alive: its heartbeat counter must have moved
// within its declared timeout, judged on our own clock from when we saw it move, so the two sides
// need no common clock. A counter that never moved from 0 is a side that never started.

export class PeerWatch {
  private counter = 0n;
  private changedNs = 0n;
  private looked = false;

  constructor(private readonly timeoutNs: bigint) {}

  /** Feed one reading of the counter (null: unreadable this time, counts as unchanged). */
  observe(counter: bigint | null, nowNs: bigint): boolean {
    const c = counter ?? this.counter;
    if (!this.looked || c !== this.counter) {
      this.looked = true;
      this.counter = c;
      this.changedNs = nowNs;
    }
    return c !== 0n && nowNs - this.changedNs <= this.timeoutNs;
  }
}
