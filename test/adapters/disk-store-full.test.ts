// A full disk under the real DiskStore: a 1 MiB tmpfs in a private mount namespace (unshare; the
// mount disappears with the child, nothing to clean up outside). The child fills it and drives
// the store into ENOSPC (test/helpers/full-disk-child.ts). The runtime's answer to such a
// failure (stall, retry, recover) is tested in test/runtime/agent-storage-fault.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CHILD = join(import.meta.dirname, '../helpers/full-disk-child.ts');
const mnt = mkdtempSync(join(tmpdir(), 'tsha-full-'));
afterAll(() => rmSync(mnt, { recursive: true, force: true }));
const canMount = process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;

describe.skipIf(!canMount)('DiskStore on a full file system (tmpfs in a private mount namespace)', () => {
  it('refuses the write with ENOSPC naming the file, leaves what was durable intact (a short write undone), and writes again once space is freed', () => {
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
      'mount -t tmpfs -o size=1m tsha-full "$1" && exec "$2" --import tsx "$3" "$1"', 'sh', mnt, process.execPath, CHILD], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      appendOk: boolean; voteOk: boolean; segSizeBefore: number; segSizeAfterFailedAppend: number;
      errors: { what: string; file: string; operation: string; code: string; message: string }[];
      appendAfterFree: boolean; voteAfterFree: boolean;
      reloaded: { term: number; votedFor: string; indexes: number[]; repairs: string[] };
    };
    expect(rep.appendOk).toBe(false);
    expect(rep.voteOk).toBe(false);
    expect(rep.errors.map((e) => [e.what, e.code])).toEqual([['append', 'ENOSPC'], ['hardstate', 'ENOSPC']]);
    expect(rep.errors[0]!.file).toBe(join(mnt, 'state/log/00000000000000000001.seg'));
    expect(rep.errors[1]!.file).toBe(join(mnt, 'state/hardstate'));
    expect(rep.errors[0]!.message).toMatch(/ENOSPC/);
    // the part of the big record that fit was cut again: the segment ends with the last acknowledged record
    expect(rep.segSizeAfterFailedAppend).toBe(rep.segSizeBefore);
    expect(rep.appendAfterFree).toBe(true);
    expect(rep.voteAfterFree).toBe(true);
    expect(rep.reloaded).toEqual({ term: 2, votedFor: 'n3', indexes: [1, 2, 3, 4, 5, 6, 7, 8, 9], repairs: [] });
    // the tmpfs was the child's own: nothing is mounted here now
    expect(readdirSync(mnt)).toEqual([]);
  });
});
