// Whether a process is alive, read from /proc: a zombie (killed, not yet reaped by its parent) holds
// nothing any more (no lock, no socket), so it counts as gone.

import { readFileSync } from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which may itself contain ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
