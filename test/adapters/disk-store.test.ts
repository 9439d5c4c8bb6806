// DiskStore against the real file system: round trips, compaction, truncation, the directory lock,
// corruption detection, and crash safety with a child process SIGKILLed mid-write.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DiskStore, atomicWriteFile, encodeBlob } from '../../src/adapters/disk-store.js';
import { StoreCorruptError, StoreLockedError, StoreUsageError, type StoredEntry } from '../../src/ports/store.js';
import type { Model } from '../helpers/disk-store-writer.js';

type Cmd = { i: number; pad?: string };
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tsha-sd-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const entry = (index: number, term: number, pad = 0): StoredEntry<Cmd> => ({ index, term, cmd: { i: index, pad: 'p'.repeat(pad) } });
const range = (from: number, to: number, term: number, pad = 0): StoredEntry<Cmd>[] =>
  Array.from({ length: to - from + 1 }, (_, k) => entry(from + k, term, pad));

async function reopen(dir: string, segmentBytes = 1024) {
  const s = new DiskStore<Cmd, { upTo: number }>(dir, { segmentBytes });
  const loaded = await s.load();
  return { s, loaded };
}

const segFiles = (dir: string): string[] => readdirSync(join(dir, 'log')).filter((n) => n.endsWith('.seg')).sort();

describe('DiskStore', () => {
  it('round-trips hard state, entries and snapshot across reopen', async () => {
    const dir = tmp();
    let { s, loaded } = await reopen(dir);
    expect(loaded).toEqual({ hardState: { term: 0, votedFor: null, commitIndex: 0 }, snapshot: null, entries: [], repairs: [] });
    await s.saveHardState({ term: 3, votedFor: 'n2', commitIndex: 0 });
    await s.append(range(1, 40, 1, 50));
    await s.append(range(41, 45, 3));
    await s.close();
    ({ s, loaded } = await reopen(dir));
    expect(loaded.hardState).toEqual({ term: 3, votedFor: 'n2', commitIndex: 0 });
    expect(loaded.entries).toEqual([...range(1, 40, 1, 50), ...range(41, 45, 3)]);
    expect(segFiles(dir).length).toBeGreaterThan(1); // rolled over segments
    await s.saveSnapshot({ index: 30, term: 1, state: { upTo: 30 } });
    await s.close();
    ({ s, loaded } = await reopen(dir));
    expect(loaded.snapshot).toEqual({ index: 30, term: 1, state: { upTo: 30 } });
    expect(loaded.entries).toEqual([...range(31, 40, 1, 50), ...range(41, 45, 3)]);
    await s.close();
  });

  it('compaction removes segments the snapshot covers', async () => {
    const dir = tmp();
    const { s } = await reopen(dir, 512);
    await s.append(range(1, 100, 1, 40));
    const before = segFiles(dir);
    await s.saveSnapshot({ index: 90, term: 1, state: { upTo: 90 } });
    const after = segFiles(dir);
    expect(after.length).toBeLessThan(before.length);
    expect(Number(after[0]!.slice(0, 20))).toBeLessThanOrEqual(91);
    await s.saveSnapshot({ index: 100, term: 1, state: { upTo: 100 } });
    expect(segFiles(dir)).toEqual([]);
    await s.append([entry(101, 2)]);
    await s.close();
    const { s: s2, loaded } = await reopen(dir);
    expect(loaded.snapshot?.index).toBe(100);
    expect(loaded.entries).toEqual([entry(101, 2)]);
    await s2.close();
  });

  it('truncateFrom drops a conflicting suffix across segments; appends continue after it', async () => {
    const dir = tmp();
    let { s, loaded } = await reopen(dir, 300);
    await s.append(range(1, 50, 1, 30));
    await s.truncateFrom(12);
    await s.append(range(12, 14, 2));
    await s.close();
    ({ s, loaded } = await reopen(dir, 300));
    expect(loaded.entries).toEqual([...range(1, 11, 1, 30), ...range(12, 14, 2)]);
    await s.truncateFrom(1);
    await s.close();
    ({ s, loaded } = await reopen(dir, 300));
    expect(loaded.entries).toEqual([]);
    await s.close();
  });

  it('a snapshot that conflicts with the log, or lies beyond it, discards the log (Raft §7)', async () => {
    const dir = tmp();
    let { s, loaded } = await reopen(dir);
    await s.append(range(1, 20, 1));
    await s.saveSnapshot({ index: 10, term: 2, state: { upTo: 10 } }); // entry 10 has term 1
    await s.close();
    ({ s, loaded } = await reopen(dir));
    expect(loaded.entries).toEqual([]);
    await s.append(range(11, 12, 2));
    await s.saveSnapshot({ index: 50, term: 3, state: { upTo: 50 } });
    await s.close();
    ({ s, loaded } = await reopen(dir));
    expect(loaded.snapshot?.index).toBe(50);
    expect(loaded.entries).toEqual([]);
    await s.close();
  });

  it('refuses a term going backwards, a second vote in one term, and appends with a gap (bugs, not disk faults)', async () => {
    const { s } = await reopen(tmp());
    await s.saveHardState({ term: 5, votedFor: 'a', commitIndex: 0 });
    await expect(s.saveHardState({ term: 4, votedFor: null, commitIndex: 0 })).rejects.toThrow(StoreUsageError);
    await expect(s.saveHardState({ term: 5, votedFor: 'b', commitIndex: 0 })).rejects.toThrow(/second vote/);
    await s.saveHardState({ term: 5, votedFor: 'a', commitIndex: 3 });
    await s.saveHardState({ term: 6, votedFor: null, commitIndex: 3 });
    await expect(s.append([entry(2, 1)])).rejects.toThrow(/expected index 1/);
    await s.append([entry(1, 2)]);
    await expect(s.append([entry(2, 1)])).rejects.toThrow(/below 2/);
    await s.close();
  });

  it('locks the directory against a second live user, and takes over a dead one\'s lock', async () => {
    const dir = tmp();
    const { s } = await reopen(dir);
    await expect(new DiskStore(dir).load()).rejects.toThrow(StoreLockedError);
    await s.close();
    writeFileSync(join(dir, 'LOCK'), '999999999'); // a pid that cannot exist
    const { s: s2 } = await reopen(dir);
    expect(readFileSync(join(dir, 'LOCK'), 'utf8')).toBe(String(process.pid));
    await s2.close();
  });

  it('atomicWriteFile leaves no temp file and replaces the target', async () => {
    const dir = tmp();
    await atomicWriteFile(dir, 'x', Buffer.from('one'));
    await atomicWriteFile(dir, 'x', Buffer.from('two'));
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['x']);
  });

  describe('corruption is detected and reported, never accepted', () => {
    async function prepared(): Promise<string> {
      const dir = tmp();
      const { s } = await reopen(dir, 100_000);
      await s.saveHardState({ term: 7, votedFor: 'n1', commitIndex: 2 });
      await s.append(range(1, 10, 7, 20));
      await s.saveSnapshot({ index: 3, term: 7, state: { upTo: 3 } });
      await s.close();
      return dir;
    }
    const flip = (file: string, at: number): void => {
      const b = readFileSync(file);
      b[at < 0 ? b.length + at : at]! ^= 0x40;
      writeFileSync(file, b);
    };

    it('in the hard state file: every single-byte flip and every truncation', async () => {
      const dir = await prepared();
      const file = join(dir, 'hardstate');
      const good = readFileSync(file);
      for (let at = 0; at < good.length; at++) {
        flip(file, at);
        await expect(reopen(dir)).rejects.toThrow(StoreCorruptError);
        writeFileSync(file, good);
        rmSync(join(dir, 'LOCK'), { force: true });
      }
      for (let len = 0; len < good.length; len++) {
        writeFileSync(file, good.subarray(0, len));
        await expect(reopen(dir)).rejects.toThrow(StoreCorruptError);
        rmSync(join(dir, 'LOCK'), { force: true });
      }
      writeFileSync(file, good);
      const { s, loaded } = await reopen(dir);
      expect(loaded.hardState.term).toBe(7);
      await s.close();
    });

    it('in the snapshot file', async () => {
      const dir = await prepared();
      flip(join(dir, 'snapshot'), -3);
      await expect(reopen(dir)).rejects.toThrow(/snapshot is corrupt: checksum mismatch/);
    });

    it('in a log record followed by valid ones, or in the last record\'s data', async () => {
      const dir = await prepared();
      const seg = join(dir, 'log', segFiles(dir)[0]!);
      const good = readFileSync(seg);
      flip(seg, 8 + 8 + 5); // inside the first record's payload
      await expect(reopen(dir)).rejects.toThrow(/checksum mismatch in record at byte 8/);
      writeFileSync(seg, good);
      rmSync(join(dir, 'LOCK'), { force: true });
      flip(seg, -2); // last record: real data damaged, not a torn write
      await expect(reopen(dir)).rejects.toThrow(StoreCorruptError);
    });

    it('a torn last record (cut anywhere, or zero-filled) is cut off and reported', async () => {
      const dir = await prepared();
      const seg = join(dir, 'log', segFiles(dir)[0]!);
      const good = readFileSync(seg);
      // find where the last record starts: reopen with one entry fewer to learn its offset
      const lastLen = 8 + Buffer.byteLength(JSON.stringify(entry(10, 7, 20)));
      const lastStart = good.length - lastLen;
      for (const cut of [lastStart + 1, lastStart + 7, lastStart + 8, lastStart + 20, good.length - 1]) {
        writeFileSync(seg, good.subarray(0, cut));
        const { s, loaded } = await reopen(dir);
        expect(loaded.entries.map((e) => e.index)).toEqual([4, 5, 6, 7, 8, 9]);
        expect(loaded.repairs).toHaveLength(1);
        expect(loaded.repairs[0]).toMatch(/torn last record/);
        expect(readFileSync(seg).length).toBe(lastStart);
        await s.close();
      }
      const zeros = Buffer.concat([good.subarray(0, lastStart + 8), Buffer.alloc(lastLen - 8)]);
      writeFileSync(seg, zeros);
      const { s, loaded } = await reopen(dir);
      expect(loaded.entries.at(-1)?.index).toBe(9);
      expect(loaded.repairs[0]).toMatch(/checksum mismatch/);
      await s.close();
    });

    it('a zero-filled tail, record header included (the file grew, its data never reached the disk), is a torn record: cut and reported', async () => {
      const dir = await prepared();
      const seg = join(dir, 'log', segFiles(dir)[0]!);
      const good = readFileSync(seg);
      // a zero header reads as length 0 with checksum 0, and the checksum of nothing is 0
      writeFileSync(seg, Buffer.concat([good, Buffer.alloc(8)]));
      const { s, loaded } = await reopen(dir);
      expect(loaded.entries.at(-1)?.index).toBe(10);
      expect(loaded.repairs[0]).toMatch(/cut 8 bytes of a torn last record \(empty record at byte \d+\)/);
      expect(readFileSync(seg)).toEqual(good);
      await s.close();
      // the same zeros before a valid record are a hole in the log, not a tear
      rmSync(join(dir, 'LOCK'), { force: true });
      writeFileSync(seg, Buffer.concat([good.subarray(0, 8), Buffer.alloc(8), good.subarray(8)]));
      await expect(reopen(dir)).rejects.toThrow(/empty record at byte 8/);
    });

    it('content behind a valid checksum that is not what the store writes is refused, naming the bytes', async () => {
      const dir = await prepared();
      const record = (json: string): Buffer => {
        const payload = Buffer.from(json);
        const head = Buffer.alloc(8);
        head.writeUInt32BE(payload.length, 0);
        head.writeUInt32BE(crc32(payload), 4);
        return Buffer.concat([head, payload]);
      };
      const seg = join(dir, 'log', segFiles(dir)[0]!);
      const good = readFileSync(seg);
      for (const json of ['null', '7', '[]', '{"index":"11","term":7}']) {
        writeFileSync(seg, Buffer.concat([good, record(json)]));
        await expect(reopen(dir), json).rejects.toThrow(new RegExp(`record at byte ${good.length}: not an entry with index 11`));
        rmSync(join(dir, 'LOCK'), { force: true });
      }
      writeFileSync(seg, good);
      const hs = join(dir, 'hardstate');
      writeFileSync(hs, encodeBlob({ term: 7, votedFor: 3, commitIndex: 2 }));
      await expect(reopen(dir)).rejects.toThrow(/hardstate is corrupt: the JSON in bytes 16-\d+: votedFor/);
    });

    it('a hole between segments', async () => {
      const dir = tmp();
      const { s } = await reopen(dir, 200);
      await s.append(range(1, 30, 1, 30));
      await s.close();
      const files = segFiles(dir);
      expect(files.length).toBeGreaterThan(2);
      rmSync(join(dir, 'log', files[1]!));
      // both sides of the hole named, with where the entries stop and start again
      await expect(reopen(dir)).rejects.toThrow(new RegExp(`${files[2]}.*starts at index \\d+ \\(byte 8\\), but .*${files[0]} ends at index \\d+ \\(byte \\d+\\): a hole in the log`));
    });
  });

  it('crash safety: a writer SIGKILLed mid-write leaves the acknowledged state or the next one (a truncation: a prefix between)', async () => {
    const dir = tmp();
    const iterations = 25;
    let rng = 0x2545f491;
    const rand = (n: number): number => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return (rng >>> 0) % n;
    };
    let totalOps = 0;
    for (let it = 0; it < iterations; it++) {
      const journal = join(dir, `journal-${it}.txt`);
      writeFileSync(journal, '');
      const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../helpers/disk-store-writer.ts'), join(dir, 'state'), journal], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const closed = new Promise<void>((r) => child.on('close', () => r()));
      // wait until it loaded and started writing, then kill it at a pseudo-random moment
      const journalText = (): string => readFileSync(journal, 'utf8');
      for (let i = 0; i < 400 && !journalText().includes('\nB '); i++) await new Promise((r) => setTimeout(r, 25));
      expect(journalText(), err).toContain('\nB ');
      await new Promise((r) => setTimeout(r, 5 + rand(120)));
      child.kill('SIGKILL');
      await closed;
      const out = journalText();
      const lines = out.trim().split('\n');
      const parse = (l: string): Model => JSON.parse(l.slice(2)) as Model;
      let acked = parse(lines[0]!); // R: what it loaded
      let pending: Model | null = null;
      for (const l of lines.slice(1)) {
        if (l.startsWith('B ')) pending = parse(l);
        else if (l.startsWith('A ')) {
          acked = parse(l);
          pending = null;
          totalOps++;
        }
      }
      const { s, loaded } = await reopen(join(dir, 'state'), 16 * 1024);
      const got: Model = {
        term: loaded.hardState.term,
        lastIndex: loaded.entries.at(-1)?.index ?? loaded.snapshot?.index ?? 0,
        snapIndex: loaded.snapshot?.index ?? 0,
      };
      const allowed = [acked, ...(pending ? [pending] : [])];
      // truncateFrom across segments removes the newest segment first: a crash inside it leaves a
      // prefix of the old log between the two lengths (never a hole), which Raft tolerates: the
      // truncation was not acknowledged, and the leader finds the conflict again.
      if (pending && pending.lastIndex < acked.lastIndex && pending.term === acked.term && pending.snapIndex === acked.snapIndex) {
        for (let li = pending.lastIndex + 1; li < acked.lastIndex; li++) allowed.push({ ...acked, lastIndex: li });
      }
      expect(allowed).toContainEqual(got);
      for (const e of loaded.entries) expect(e.cmd.i).toBe(e.index);
      await s.close();
    }
    expect(totalOps).toBeGreaterThan(iterations); // the writer really wrote between kills
    expect(existsSync(join(dir, 'state', 'hardstate'))).toBe(true);
  }, 120_000);
});
