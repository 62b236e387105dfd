// A minimal client of QEMU's machine protocol (QMP) over its unix socket: greeting, capabilities
// negotiation, then one command at a time. Asynchronous events between replies are skipped.

import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

export class QmpClient {
  private buffer = '';
  private waiters: Array<(line: Record<string, unknown>) => void> = [];
  private failure: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buffer += d;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i).trim();
        this.buffer = this.buffer.slice(i + 1);
        if (line === '') continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        this.waiters.shift()?.(msg);
      }
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const w of this.waiters.splice(0)) w({ error: { desc: e.message } });
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('QMP connection closed')));
  }

  /** Connects once QEMU has made the socket (it does so early in start-up), and negotiates. */
  static async connect(path: string, timeoutMs: number, gaveUp: () => boolean): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (gaveUp()) throw new Error('QEMU exited before its QMP socket was ready');
      if (existsSync(path)) {
        try {
          const sock = await new Promise<Socket>((res, rej) => {
            const s = connect(path);
            s.once('connect', () => res(s));
            s.once('error', rej);
          });
          const c = new QmpClient(sock);
          await c.next(); // the greeting
          await c.execute('qmp_capabilities');
          return c;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
      }
      if (Date.now() > deadline) throw new Error(`no QMP socket at ${path} after ${timeoutMs} ms`);
      // Short: QEMU waits paused from its greeting on, and that wait is taken out of its boot time.
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private next(): Promise<Record<string, unknown>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((res) => this.waiters.push(res));
  }

  async execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const reply = this.next();
    this.sock.write(`${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`);
    const msg = await reply;
    if ('error' in msg) throw new Error(`QMP ${command}: ${JSON.stringify((msg.error as { desc?: string }).desc ?? msg.error)}`);
    return msg.return;
  }

  close(): void {
    this.sock.destroy();
  }
}
