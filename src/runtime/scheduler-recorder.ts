// Keeps the last N scheduler inputs on disk (Pacemaker's pe-input-N.bz2 series) so that any
// placement decision can be replayed with `tsha simulate --input FILE`. Each file is written
// atomically (temp file, fsync, rename, fsync of the directory); the oldest files beyond `keep`
// are removed. File names carry a sequence number and the input's `now`.

import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { serializeSchedulerInput } from '../core/scheduler/record.js';
import type { SchedulerInput } from '../core/scheduler/types.js';

const NAME = /^scheduler-input-(\d{8})-now(-?\d+)\.json$/;

export class SchedulerRecorder {
  private seq: number | null = null;
  constructor(readonly dir: string, readonly keep = 100) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keep: expected a positive integer, got ${keep}`);
  }

  /** The recorded files, oldest first. */
  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter((n) => NAME.test(n)).sort().map((n) => join(this.dir, n));
  }

  async record(input: SchedulerInput): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const existing = await this.list();
    if (this.seq === null) {
      const last = existing.at(-1);
      this.seq = last ? Number(NAME.exec(last.slice(this.dir.length + 1))![1]) : 0;
    }
    this.seq += 1;
    const name = `scheduler-input-${String(this.seq).padStart(8, '0')}-now${Math.trunc(input.now)}.json`;
    const path = join(this.dir, name);
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(serializeSchedulerInput(input));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const dirHandle = await open(this.dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    const all = [...existing, path];
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) await unlink(old).catch(() => undefined);
    return path;
  }
}
