// The resctrl filesystem seen through six operations, so discovery and allocation can run against
// the kernel's mount or against a stand-in that applies the kernel's write rules in a temp dir.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/** Paths are relative to the resctrl mount root ('' is the root, 'info/L3/cbm_mask' a file). */
export interface ResctrlFs {
  /** Where this tree lives, for messages. */
  readonly root: string;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  /** One write() of the whole text, as the kernel requires for schemata. Errors carry `code` (EINVAL, ENOSPC…). */
  writeFile(path: string, text: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

/** The kernel's resctrl mount through node:fs. */
export class NodeResctrlFs implements ResctrlFs {
  constructor(readonly root = '/sys/fs/resctrl') {}

  private abs(path: string): string {
    return join(this.root, path);
  }

  async mkdir(path: string): Promise<void> {
    await fsp.mkdir(this.abs(path));
  }

  async rmdir(path: string): Promise<void> {
    await fsp.rmdir(this.abs(path));
  }

  async readFile(path: string): Promise<string> {
    return fsp.readFile(this.abs(path), 'utf8');
  }

  async writeFile(path: string, text: string): Promise<void> {
    // 'r+' rather than 'w': kernfs files cannot be created or truncated, and one write() call
    // carries the whole buffer (schemata must arrive in a single write).
    const fh = await fsp.open(this.abs(path), 'r+');
    try {
      const buf = Buffer.from(text);
      const { bytesWritten } = await fh.write(buf, 0, buf.length, null);
      if (bytesWritten !== buf.length) throw new Error(`short write to ${this.abs(path)}: ${bytesWritten} of ${buf.length} bytes`);
    } finally {
      await fh.close();
    }
  }

  async readdir(path: string): Promise<string[]> {
    return fsp.readdir(this.abs(path));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.access(this.abs(path));
      return true;
    } catch {
      return false;
    }
  }
}
