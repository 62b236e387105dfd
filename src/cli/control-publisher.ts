// `wayfinder control --server ...`: the controller's events sent to a daemon, which publishes them on
// its event stream. In order, one request at a time (what piles up meanwhile goes in the next), and
// never in the controller's way: a daemon that is slow or gone costs a warning, not a period.

import { hostname } from 'node:os';
import { DaemonClient, DaemonError, DaemonUnreachableError } from '../daemon/client.js';
import { UsageError } from './errors.js';

export class DaemonPublisher {
  private queue: Record<string, unknown>[] = [];
  private sending: Promise<void> = Promise.resolve();
  private failing = false;

  private constructor(
    private readonly client: DaemonClient,
    readonly id: string,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Registers the session; a daemon that cannot be reached or refuses is the user's error, before any knob moves. */
  static async open(o: { server: string; tokenFile?: string; policy: string; config: string; warn: (msg: string) => void }): Promise<DaemonPublisher> {
    const client = new DaemonClient(o.server, o.tokenFile);
    try {
      const { id } = await client.registerControl({ host: hostname(), policy: o.policy, config: o.config });
      return new DaemonPublisher(client, id, o.warn);
    } catch (e) {
      if (e instanceof DaemonError) throw new UsageError(`--server ${o.server}: the daemon refused the control session (${e.status}): ${e.message}`);
      if (e instanceof DaemonUnreachableError) throw new UsageError(`--server: ${e.message}`);
      throw e;
    }
  }

  send(event: Record<string, unknown>): void {
    this.queue.push(event);
    this.sending = this.sending.then(() => this.flush());
  }

  /** Everything sent (or given up on): called before the command ends. */
  async close(): Promise<void> {
    await this.sending;
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0);
    try {
      await this.client.controlEvents(this.id, batch);
      if (this.failing) this.warn(`the daemon takes this session's events again (${this.id})`);
      this.failing = false;
    } catch (e) {
      // Said once until it works again; the results database has every decision anyway.
      if (!this.failing) this.warn(`cannot send events to the daemon (${(e as Error).message}); decisions still go to the results database`);
      this.failing = true;
    }
  }
}
