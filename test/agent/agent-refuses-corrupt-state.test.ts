// `tsha agent` on a state directory with a damaged file: it refuses to start, exit status 1, naming
// the file and the byte offset of the damage, and leaves every file as it found it (the operator
// decides what to move away: docs/agent.md, "Durable state"). Truncated and bit-flipped hard state,
// log segment and snapshot.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import type { Entry } from '../../src/core/cluster/messages.js';
import { initialDurable } from '../../src/core/cluster/node.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import { DurableWriter } from '../../src/runtime/durable-writer.js';

const ROOT = resolve(import.meta.dirname, '../..');
const raw = {
  cluster: { name: 'x', id: 'x' },
  nodes: { n1: { address: '127.0.61.1:7611' }, n2: { address: '127.0.61.2:7611' }, n3: { address: '127.0.61.3:7611' } },
  fencing: { enabled: false },
  resources: {},
};
const config = compileOrThrow(raw);
const root = mkdtempSync(join(tmpdir(), 'tsha-ag-corrupt-'));
const good = join(root, 'good');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  writeFileSync(join(root, 'cluster.json'), JSON.stringify(raw));
  const w = new DurableWriter(new DiskStore<Command, ClusterState>(good));
  await w.load(config);
  const base = initialDurable(config);
  const entries: Entry[] = Array.from({ length: 6 }, (_, k) => ({ index: k + 1, term: 3, cmd: { type: 'nodeUp', node: 'n1' } as unknown as Command }));
  await w.write({ term: 3, votedFor: 'n2', snapshot: base.snapshot, entries });
  await w.write({ term: 3, votedFor: 'n2', snapshot: { index: 2, term: 3, state: base.snapshot.state }, entries: entries.slice(2) });
  await w.close();
});

async function startOn(state: string): Promise<{ code: number; stderr: string }> {
  return promisify(execFile)(process.execPath, [
    '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'agent', '--config', join(root, 'cluster.json'), '--node', 'n1', '--state-dir', state, '--no-socket',
  ], { cwd: ROOT, timeout: 20_000 }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
}

function copyState(dir: string): void {
  mkdirSync(join(dir, 'log'), { recursive: true });
  for (const sub of ['', 'log']) {
    for (const f of readdirSync(join(good, sub), { withFileTypes: true })) {
      if (f.isFile() && f.name !== 'LOCK') writeFileSync(join(dir, sub, f.name), readFileSync(join(good, sub, f.name)), { flag: 'w' });
    }
  }
}

const snapshotOf = (dir: string): string => JSON.stringify(['hardstate', 'snapshot', ...readdirSync(join(dir, 'log')).map((f) => `log/${f}`)].map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));

describe('tsha agent on a damaged state directory', () => {
  const seg = `log/${'1'.padStart(20, '0')}.seg`;
  const cases: { name: string; file: string; damage: (b: Buffer) => Buffer; says: RegExp }[] = [
    { name: 'hard state cut short', file: 'hardstate', damage: (b) => b.subarray(0, b.length - 5), says: /hardstate is corrupt: length field at byte 8 says \d+ payload bytes, the file has \d+ \(truncated at byte \d+\)/ },
    { name: 'hard state with a flipped bit', file: 'hardstate', damage: (b) => flip(b, b.length - 4), says: /hardstate is corrupt: checksum mismatch over bytes 16-\d+/ },
    { name: 'log segment with a flipped bit in a record followed by valid ones', file: seg, damage: (b) => flip(b, 8 + 8 + 10), says: /\.seg is corrupt: checksum mismatch in record at byte 8/ },
    { name: 'log segment whose header is cut', file: seg, damage: (b) => b.subarray(0, 5), says: /\.seg is corrupt: bad segment header at byte 0 \(5 bytes\)/ },
    { name: 'snapshot cut short', file: 'snapshot', damage: (b) => b.subarray(0, 40), says: /snapshot is corrupt: length field at byte 8 says \d+ payload bytes, the file has 24 \(truncated at byte 40\)/ },
    { name: 'snapshot with a flipped bit', file: 'snapshot', damage: (b) => flip(b, 30), says: /snapshot is corrupt: checksum mismatch over bytes 16-\d+/ },
  ];
  for (const c of cases) {
    it(`${c.name}: refused at start, file and byte offset named, nothing changed`, async () => {
      const dir = join(root, c.name.replace(/\W+/g, '-'));
      rmSync(dir, { recursive: true, force: true });
      copyState(dir);
      writeFileSync(join(dir, c.file), c.damage(readFileSync(join(dir, c.file))));
      const before = snapshotOf(dir);
      const r = await startOn(dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`tsha agent: cannot start: state file ${join(dir, c.file)} is corrupt`);
      expect(r.stderr).toMatch(c.says);
      expect(snapshotOf(dir)).toBe(before);
    }, 30_000);
  }

  it('hard state moved away while the log stays: refused (the vote it held would be forgotten)', async () => {
    const dir = join(root, 'no-hardstate');
    copyState(dir);
    rmSync(join(dir, 'hardstate'));
    const r = await startOn(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`state file ${join(dir, 'hardstate')} is corrupt: term 0 is behind the log and snapshot (term 3)`);
  }, 30_000);
});

function flip(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at]! ^= 0x10;
  return c;
}
