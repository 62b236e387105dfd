// The C test dataplane (dataplane.c) built with the flags the protocol promises to compile under,
// and run as a child whose stdout lines the tests wait on.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, requireTool } from '../helpers.js';

export function buildDataplane(dir: string): string {
  requireTool('gcc');
  const out = join(dir, 'dataplane');
  const flags = ['-Wall', '-Wextra', '-Werror', '-std=c11', '-O2', '-pthread', '-pedantic'];
  const r = spawnSync('gcc', [...flags, '-I', join(ROOT, 'native/include'), join(ROOT, 'test/control/dataplane.c'), '-o', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gcc failed:\n${r.stderr}`);
  return out;
}

export interface Running {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
  /** The first line (from `from` on) that matches; fails after timeoutMs. */
  line(match: RegExp, timeoutMs: number, from?: number): Promise<RegExpMatchArray>;
}

export function startDataplane(bin: string, args: string[]): Running {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let rest = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const line = async (match: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of lines.slice(from)) {
        const m = l.match(match);
        if (m) return m;
      }
      if (Date.now() > deadline) throw new Error(`no line matching ${match} within ${timeoutMs} ms; lines: ${lines.join(' | ')}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  return { child, lines, exited, line };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
