// Durable state on local disk: the Store port (src/ports/store.ts).
//
// Layout of the state directory:
//   LOCK                     pid of the agent using it
//   hardstate                framed blob: { term, votedFor, commitIndex }
//   snapshot                 framed blob: { index, term, state }
//   log/<first index>.seg    segment: header, then records [u32 length][u32 crc32][JSON entry]
//
// Framed blob: "TSHB" u32 version u32 length u32 crc32(payload) payload. Written atomically: temp
// file in the same directory, write, fsync, rename over the old one, fsync the directory. A reader
// therefore sees the old or the new file, and a file that fails its checksum is corruption, reported
// as StoreCorruptError, never repaired or ignored.
//
// Log segments are appended to in place (fdatasync before append() resolves). A crash in the middle
// of an append can leave a torn last record: that append never resolved, so nobody relied on it, and
// load() cuts it off and says so in `repairs`. A bad record with valid data after it is corruption.
// Truncation and compaction only ever remove entries from the end of the log (later segments first,
// then ftruncate), so a crash in between leaves a prefix of the old log, never a log with a hole.

import { closeSync, constants as fsc, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  INITIAL_HARD_STATE,
  StoreCorruptError,
  StoreLockedError,
  StoreUsageError,
  StoreWriteError,
  type HardState,
  type LoadedState,
  type Store,
  type StoredEntry,
  type StoredSnapshot,
} from '../ports/store.js';

const BLOB_MAGIC = Buffer.from('TSHB');
const SEG_MAGIC = Buffer.from('TSHL');
const VERSION = 1;
const BLOB_HEADER = 16;
const SEG_HEADER = 8;
const REC_HEADER = 8;
/** refuse absurd record lengths (a corrupt length field) before allocating */
const MAX_RECORD = 64 * 1024 * 1024;

// ---- I/O points --------------------------------------------------------------------------------

/**
 * One step of a durable write, named for fault injection and for errors: which store call
 * (`op`), which system call comes next (`step`), on which file. The steps of each call, in order:
 *   hardstate, snapshot, segment (a new log segment's header): write → fsync → rename → fsync-dir
 *     (the write goes to a temp file; the rename replaces the old file)
 *   append: write → fsync (records appended in place to the last segment)
 *   truncate: unlink → fsync-dir (whole segments, newest first), then truncate → fsync
 *   compact (after a snapshot): unlink → fsync-dir
 */
export interface IoPoint {
  op: 'hardstate' | 'snapshot' | 'segment' | 'append' | 'truncate' | 'compact';
  step: 'write' | 'fsync' | 'rename' | 'fsync-dir' | 'unlink' | 'truncate';
  file: string;
}

/** Called before each step (tests: crash or fail there); throwing makes that step fail. */
export type IoHook = (p: IoPoint) => void;

/** Run one step: the hook first, then the step; a system error becomes a StoreWriteError naming the file. */
async function io<T>(hook: IoHook | undefined, p: IoPoint, fn: () => T | Promise<T>): Promise<T> {
  try {
    hook?.(p);
    return await fn();
  } catch (e) {
    if (e instanceof StoreWriteError || e instanceof StoreUsageError) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    throw new StoreWriteError(p.file, p.step, (err as NodeJS.ErrnoException).code ?? null, err);
  }
}

/** Write all of `buf` at `position`: FileHandle.write may write less (a full disk) and says so. */
async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error(`short write: ${done} of ${buf.length} bytes`), { code: 'EIO' });
    done += bytesWritten;
  }
}

// ---- atomic files ----------------------------------------------------------------------------

/** fsync a directory so that renames, creations and unlinks in it are durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

let tmpCounter = 0;

/**
 * Replace dir/name atomically and durably: temp file, write, fsync, rename, fsync dir. On failure
 * the temp file is removed and the old file is untouched, except after the rename (then the new
 * file is in place but the rename may not be durable yet: a crash may still show the old one).
 */
export async function atomicWriteFile(dir: string, name: string, data: Uint8Array, mode = 0o600, hook?: IoHook, op: IoPoint['op'] = 'hardstate'): Promise<void> {
  const target = join(dir, name);
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${tmpCounter++}`);
  const fh = await io(hook, { op, step: 'write', file: target }, () => open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode));
  try {
    await io(hook, { op, step: 'write', file: target }, () => writeFully(fh, Buffer.from(data.buffer, data.byteOffset, data.byteLength), 0));
    await io(hook, { op, step: 'fsync', file: target }, () => fh.sync());
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await io(hook, { op, step: 'rename', file: target }, () => rename(tmp, target));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await io(hook, { op, step: 'fsync-dir', file: target }, () => fsyncDir(dir));
}

export function encodeBlob(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value));
  const head = Buffer.alloc(BLOB_HEADER);
  BLOB_MAGIC.copy(head, 0);
  head.writeUInt32BE(VERSION, 4);
  head.writeUInt32BE(payload.length, 8);
  head.writeUInt32BE(crc32(payload), 12);
  return Buffer.concat([head, payload]);
}

export function decodeBlob(file: string, buf: Buffer): unknown {
  if (buf.length < BLOB_HEADER) throw new StoreCorruptError(file, `truncated at byte ${buf.length}: shorter than the ${BLOB_HEADER}-byte header`);
  if (!buf.subarray(0, 4).equals(BLOB_MAGIC)) throw new StoreCorruptError(file, 'bad magic at byte 0');
  const version = buf.readUInt32BE(4);
  if (version !== VERSION) throw new StoreCorruptError(file, `unknown format version ${version} at byte 4`);
  const len = buf.readUInt32BE(8);
  if (buf.length !== BLOB_HEADER + len) {
    throw new StoreCorruptError(file, `length field at byte 8 says ${len} payload bytes, the file has ${buf.length - BLOB_HEADER} (${buf.length < BLOB_HEADER + len ? `truncated at byte ${buf.length}` : `extra bytes from byte ${BLOB_HEADER + len}`})`);
  }
  const payload = buf.subarray(BLOB_HEADER);
  if (crc32(payload) !== buf.readUInt32BE(12)) throw new StoreCorruptError(file, `checksum mismatch over bytes ${BLOB_HEADER}-${buf.length - 1} (checksum at byte 12)`);
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (e) {
    throw new StoreCorruptError(file, `invalid JSON behind a valid checksum in bytes ${BLOB_HEADER}-${buf.length - 1}: ${(e as Error).message}`);
  }
}

function encodeRecord(entry: StoredEntry): Buffer {
  const payload = Buffer.from(JSON.stringify(entry));
  const head = Buffer.alloc(REC_HEADER);
  head.writeUInt32BE(payload.length, 0);
  head.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

function segName(first: number): string {
  return `${String(first).padStart(20, '0')}.seg`;
}

// ---- validation --------------------------------------------------------------------------------

const isIndex = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Where a framed blob's payload lies, for errors about its content. */
function payloadBytes(buf: Buffer): string {
  return `the JSON in bytes ${BLOB_HEADER}-${buf.length - 1}`;
}

function checkHardState(file: string, buf: Buffer): HardState {
  const o = decodeBlob(file, buf) as Partial<HardState> | null;
  const bad = (what: string): never => {
    throw new StoreCorruptError(file, `${payloadBytes(buf)}: ${what}`);
  };
  if (!o || typeof o !== 'object') return bad('not an object');
  if (!isIndex(o.term)) bad('term: not a non-negative integer');
  if (o.votedFor !== null && typeof o.votedFor !== 'string') bad('votedFor: not a string or null');
  if (!isIndex(o.commitIndex)) bad('commitIndex: not a non-negative integer');
  return { term: o.term!, votedFor: o.votedFor!, commitIndex: o.commitIndex! };
}

function checkSnapshot(file: string, buf: Buffer, check: StoreContentChecks | undefined): StoredSnapshot {
  const o = decodeBlob(file, buf) as Partial<StoredSnapshot> | null;
  const bad = (what: string): never => {
    throw new StoreCorruptError(file, `${payloadBytes(buf)}: ${what}`);
  };
  if (!o || typeof o !== 'object') return bad('not an object');
  if (!isIndex(o.index) || !isIndex(o.term)) bad('index/term: not non-negative integers');
  if (!('state' in o)) bad('state: missing');
  const problem = check?.state(o.state);
  if (problem) bad(problem);
  return { index: o.index!, term: o.term!, state: o.state };
}

/** LOCK files held by stores in this process (a second store on the same directory is refused too) */
const lockedHere = new Set<string>();

// ---- the store ---------------------------------------------------------------------------------

interface Segment {
  first: number;
  path: string;
  /** byte offset of each entry's record; entry first+k starts at offsets[k] */
  offsets: number[];
  size: number;
}

/**
 * Shape checks of what the files hold, by the store's user (the agent passes the core's checkCommand
 * and checkClusterState): null when fine, else what is wrong. A checksum only proves the bytes are
 * those written; a record or snapshot these refuse is corruption all the same, named with its file
 * and byte offset, rather than a value that throws later in the core.
 */
export interface StoreContentChecks {
  command(cmd: unknown): string | null;
  state(state: unknown): string | null;
}

export interface DiskStoreOptions {
  /** roll to a new segment once the current one is at least this big (default 4 MiB) */
  segmentBytes?: number;
  /** refuse records and snapshots whose content these refuse (default: none) */
  check?: StoreContentChecks;
  /** fault injection (tests only): called before each write, fsync, rename, truncate and unlink */
  ioHook?: IoHook;
}

export class DiskStore<C = unknown, S = unknown> implements Store<C, S> {
  private readonly logDir: string;
  private readonly segmentBytes: number;
  private readonly hook: IoHook | undefined;
  private readonly check: StoreContentChecks | undefined;
  private loaded = false;
  private locked = false;
  private hard: HardState = INITIAL_HARD_STATE;
  private snap: StoredSnapshot<S> | null = null;
  private segments: Segment[] = [];
  /** terms of retained entries, by index - (snapIndex + 1) */
  private terms: number[] = [];
  private tail: FileHandle | null = null;
  /** serialises writers: the runtime should not overlap them, but a second caller must not tear a record */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly dir: string,
    opts: DiskStoreOptions = {},
  ) {
    this.logDir = join(dir, 'log');
    this.segmentBytes = opts.segmentBytes ?? 4 * 1024 * 1024;
    this.hook = opts.ioHook;
    this.check = opts.check;
  }

  private get firstIndex(): number {
    return (this.snap?.index ?? 0) + 1;
  }

  /** index of the last entry, or the snapshot's index when the log is empty */
  get lastIndex(): number {
    return this.firstIndex - 1 + this.terms.length;
  }

  async load(): Promise<LoadedState<C, S>> {
    if (this.loaded) throw new StoreUsageError('load() called twice');
    const created = await mkdir(this.logDir, { recursive: true, mode: 0o700 });
    if (created !== undefined) {
      // new directories: make their entries durable in their parents, bottom up
      fsyncDir(this.dir);
      fsyncDir(dirname(created));
    }
    await this.lock();
    this.loaded = true;
    const repairs: string[] = [];
    for (const d of [this.dir, this.logDir]) {
      for (const n of await readdir(d)) if (n.startsWith('.tmp-')) await rm(join(d, n), { force: true });
    }

    const hsFile = join(this.dir, 'hardstate');
    const hsBuf = await readIfExists(hsFile);
    this.hard = hsBuf ? checkHardState(hsFile, hsBuf) : { ...INITIAL_HARD_STATE };
    const snFile = join(this.dir, 'snapshot');
    const snBuf = await readIfExists(snFile);
    this.snap = snBuf ? (checkSnapshot(snFile, snBuf, this.check) as StoredSnapshot<S>) : null;

    // Read every segment in index order; collect entries with their terms.
    const names = (await readdir(this.logDir)).filter((n) => /^\d{20}\.seg$/.test(n)).sort();
    const all: StoredEntry<C>[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const path = join(this.logDir, name);
      const first = Number(name.slice(0, 20));
      const isLast = i === names.length - 1;
      const { seg, entries, repaired } = await readSegment<C>(path, first, isLast, this.check);
      if (repaired) repairs.push(repaired);
      // readSegment checked that its records start at `first` (the file's name)
      const prev = this.segments.at(-1);
      if (prev && all.length > 0 && seg.first !== all[all.length - 1]!.index + 1) {
        throw new StoreCorruptError(path, `starts at index ${seg.first} (byte ${SEG_HEADER}), but ${prev.path} ends at index ${all[all.length - 1]!.index} (byte ${prev.size}): a hole in the log`);
      }
      this.segments.push(seg);
      all.push(...entries);
    }

    // Keep what follows the snapshot; the entry at the snapshot's index must agree with it (Raft §7),
    // else saveSnapshot was discarding a conflicting log when it stopped: finish that.
    const snapIndex = this.snap?.index ?? 0;
    const atSnap = all.find((e) => e.index === snapIndex);
    let entries = all.filter((e) => e.index > snapIndex);
    if (this.snap && atSnap && atSnap.term !== this.snap.term) {
      repairs.push(`log discarded: entry ${snapIndex} has term ${atSnap.term}, snapshot has ${this.snap.term}`);
      entries = [];
      await this.removeSegmentsFrom(0);
    } else if (entries.length === 0 && all.length > 0) {
      // every entry is covered by the snapshot: a compaction (or a snapshot that superseded the
      // log) was interrupted before it removed them; the next append must start a fresh segment
      repairs.push(`${this.logDir}: removed ${names.length} segment(s) covered by the snapshot at index ${snapIndex} (an interrupted compaction)`);
      await this.removeSegmentsFrom(0);
    } else if (entries.length > 0 && entries[0]!.index !== snapIndex + 1) {
      const at = this.whereIs(entries[0]!.index);
      throw new StoreCorruptError(at.path, `the log starts at index ${entries[0]!.index} (byte ${at.byte}) but the snapshot (${snFile}) ends at index ${snapIndex}: a hole in the log`);
    }
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.term < entries[i - 1]!.term) {
        const at = this.whereIs(entries[i]!.index);
        throw new StoreCorruptError(at.path, `term goes backwards at index ${entries[i]!.index} (record at byte ${at.byte})`);
      }
    }
    this.terms = entries.map((e) => e.term);
    return { hardState: { ...this.hard }, snapshot: this.snap, entries, repairs };
  }

  saveHardState(hs: HardState): Promise<void> {
    return this.serial(async () => {
      this.requireLoaded();
      if (!isIndex(hs.term) || !isIndex(hs.commitIndex)) throw new StoreUsageError(`invalid hard state ${JSON.stringify(hs)}`);
      if (hs.term < this.hard.term) throw new StoreUsageError(`term would go backwards: ${this.hard.term} → ${hs.term}`);
      if (hs.term === this.hard.term && this.hard.votedFor !== null && hs.votedFor !== this.hard.votedFor) {
        throw new StoreUsageError(`second vote in term ${hs.term}: ${this.hard.votedFor} → ${hs.votedFor}`);
      }
      const next: HardState = { term: hs.term, votedFor: hs.votedFor, commitIndex: hs.commitIndex };
      await atomicWriteFile(this.dir, 'hardstate', encodeBlob(next), 0o600, this.hook, 'hardstate');
      this.hard = next;
    });
  }

  append(entries: StoredEntry<C>[]): Promise<void> {
    return this.serial(async () => {
      this.requireLoaded();
      if (entries.length === 0) return;
      let expect = this.lastIndex + 1;
      let lastTerm = this.terms.length ? this.terms[this.terms.length - 1]! : (this.snap?.term ?? 0);
      for (const e of entries) {
        if (e.index !== expect) throw new StoreUsageError(`append: expected index ${expect}, got ${e.index}`);
        if (!isIndex(e.term) || e.term < lastTerm) throw new StoreUsageError(`append: term ${e.term} at index ${e.index} below ${lastTerm}`);
        expect++;
        lastTerm = e.term;
      }
      // Fill the current segment up to segmentBytes (at least one record each), then roll over.
      let i = 0;
      while (i < entries.length) {
        let seg = this.segments[this.segments.length - 1];
        if (!seg || seg.size >= this.segmentBytes) seg = await this.newSegment(entries[i]!.index);
        const records: Buffer[] = [];
        let bytes = 0;
        while (i < entries.length) {
          const e = entries[i]!;
          const r = encodeRecord({ index: e.index, term: e.term, cmd: e.cmd });
          if (records.length > 0 && seg.size + bytes + r.length > this.segmentBytes) break;
          records.push(r);
          bytes += r.length;
          i++;
        }
        const fh = await this.tailHandle(seg);
        const buf = Buffer.concat(records);
        try {
          await io(this.hook, { op: 'append', step: 'write', file: seg.path }, () => writeFully(fh, buf, seg.size));
          await io(this.hook, { op: 'append', step: 'fsync', file: seg.path }, () => fh.datasync());
        } catch (e) {
          // Undo the partial append (shrinking needs no space), so the file ends with the last
          // acknowledged record and the next append starts there. If even that fails, load()
          // cuts the torn tail after a restart.
          await fh.truncate(seg.size).catch(() => undefined);
          throw e;
        }
        let off = seg.size;
        for (const r of records) {
          seg.offsets.push(off);
          off += r.length;
        }
        seg.size = off;
      }
      for (const e of entries) this.terms.push(e.term);
    });
  }

  truncateFrom(index: number): Promise<void> {
    return this.serial(async () => {
      this.requireLoaded();
      if (index <= (this.snap?.index ?? 0)) throw new StoreUsageError(`truncateFrom(${index}): entries up to ${this.snap?.index} are in the snapshot`);
      if (index > this.lastIndex) return;
      await this.cutLog(index);
      this.terms.length = index - this.firstIndex;
    });
  }

  saveSnapshot(snapshot: StoredSnapshot<S>): Promise<void> {
    return this.serial(async () => {
      this.requireLoaded();
      if (!isIndex(snapshot.index) || !isIndex(snapshot.term)) throw new StoreUsageError('saveSnapshot: invalid index/term');
      if (this.snap && snapshot.index < this.snap.index) throw new StoreUsageError(`saveSnapshot: index ${snapshot.index} older than ${this.snap.index}`);
      const termAt = this.termAt(snapshot.index);
      const keepLog = termAt === snapshot.term;
      // The snapshot first: once it is durable, entries it covers may go.
      await atomicWriteFile(this.dir, 'snapshot', encodeBlob({ index: snapshot.index, term: snapshot.term, state: snapshot.state }), 0o600, this.hook, 'snapshot');
      const oldFirst = this.firstIndex;
      this.snap = { index: snapshot.index, term: snapshot.term, state: snapshot.state };
      if (!keepLog) {
        await this.removeSegmentsFrom(0, 'compact');
        this.terms = [];
        return;
      }
      this.terms = this.terms.slice(snapshot.index + 1 - oldFirst);
      // Compaction: drop whole segments whose entries are all covered by the snapshot. The head
      // segment may keep some covered entries; load() skips them.
      let drop = 0;
      while (drop + 1 < this.segments.length && this.segments[drop + 1]!.first <= snapshot.index + 1) drop++;
      if (this.segments.length > 0 && this.terms.length === 0 && this.lastSegmentCovered(snapshot.index)) drop = this.segments.length;
      if (drop > 0) {
        const gone = this.segments.splice(0, drop);
        if (this.segments.length === 0) await this.closeTail();
        for (const s of gone) await io(this.hook, { op: 'compact', step: 'unlink', file: s.path }, () => unlink(s.path));
        await io(this.hook, { op: 'compact', step: 'fsync-dir', file: this.logDir }, () => fsyncDir(this.logDir));
      }
    });
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.closeTail();
    if (this.locked) {
      lockedHere.delete(join(this.dir, 'LOCK'));
      await rm(join(this.dir, 'LOCK'), { force: true });
      this.locked = false;
    }
  }

  // ---- internals ----

  /** The segment file and byte offset of a loaded entry's record. */
  private whereIs(index: number): { path: string; byte: number } {
    const seg = this.segments.find((s) => index >= s.first && index < s.first + s.offsets.length);
    return seg ? { path: seg.path, byte: seg.offsets[index - seg.first]! } : { path: this.logDir, byte: 0 };
  }

  private lastSegmentCovered(snapIndex: number): boolean {
    const seg = this.segments[this.segments.length - 1]!;
    return seg.first + seg.offsets.length - 1 <= snapIndex;
  }

  private termAt(index: number): number | null {
    if (this.snap && index === this.snap.index) return this.snap.term;
    const k = index - this.firstIndex;
    return k >= 0 && k < this.terms.length ? this.terms[k]! : null;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private requireLoaded(): void {
    if (!this.loaded) throw new StoreUsageError('load() first');
  }

  private async lock(): Promise<void> {
    const path = join(this.dir, 'LOCK');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
        await fh.writeFile(String(process.pid));
        await fh.close();
        this.locked = true;
        lockedHere.add(path);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((await readIfExists(path))?.toString() ?? '');
      if (pid === process.pid && lockedHere.has(path)) throw new StoreLockedError(this.dir, pid);
      if (pid > 0 && pid !== process.pid && isAlive(pid)) throw new StoreLockedError(this.dir, pid);
      await rm(path, { force: true }); // stale: its process is gone
    }
    throw new StoreLockedError(this.dir, -1);
  }

  private async newSegment(first: number): Promise<Segment> {
    await this.closeTail();
    const name = segName(first);
    const head = Buffer.alloc(SEG_HEADER);
    SEG_MAGIC.copy(head, 0);
    head.writeUInt32BE(VERSION, 4);
    await atomicWriteFile(this.logDir, name, head, 0o600, this.hook, 'segment');
    const seg: Segment = { first, path: join(this.logDir, name), offsets: [], size: SEG_HEADER };
    this.segments.push(seg);
    return seg;
  }

  private async tailHandle(seg: Segment): Promise<FileHandle> {
    if (!this.tail) this.tail = await open(seg.path, 'r+');
    return this.tail;
  }

  private async closeTail(): Promise<void> {
    const t = this.tail;
    this.tail = null;
    if (t) await t.close();
  }

  /** Remove entries ≥ index: later segments first (newest first), then cut the containing one. */
  private async cutLog(index: number): Promise<void> {
    while (this.segments.length > 0 && this.segments[this.segments.length - 1]!.first >= index) {
      const seg = this.segments[this.segments.length - 1]!;
      await this.closeTail();
      await io(this.hook, { op: 'truncate', step: 'unlink', file: seg.path }, () => unlink(seg.path));
      this.segments.pop();
      await io(this.hook, { op: 'truncate', step: 'fsync-dir', file: this.logDir }, () => fsyncDir(this.logDir));
    }
    const seg = this.segments[this.segments.length - 1];
    if (!seg) return;
    const k = index - seg.first;
    if (k >= seg.offsets.length) return;
    const at = seg.offsets[k]!;
    const fh = await this.tailHandle(seg);
    await io(this.hook, { op: 'truncate', step: 'truncate', file: seg.path }, () => fh.truncate(at));
    await io(this.hook, { op: 'truncate', step: 'fsync', file: seg.path }, () => fh.datasync());
    seg.offsets.length = k;
    seg.size = at;
  }

  private async removeSegmentsFrom(i: number, op: IoPoint['op'] = 'compact'): Promise<void> {
    await this.closeTail();
    while (this.segments.length > i) {
      const seg = this.segments[this.segments.length - 1]!;
      await io(this.hook, { op, step: 'unlink', file: seg.path }, () => unlink(seg.path));
      this.segments.pop();
      await io(this.hook, { op, step: 'fsync-dir', file: this.logDir }, () => fsyncDir(this.logDir));
    }
    // also files load() did not keep track of yet
    for (const n of await readdir(this.logDir)) if (i === 0 && n.endsWith('.seg')) await unlink(join(this.logDir, n));
    fsyncDir(this.logDir);
  }
}

async function readIfExists(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readSegment<C>(path: string, first: number, isLast: boolean, check: StoreContentChecks | undefined): Promise<{ seg: Segment; entries: StoredEntry<C>[]; repaired: string | null }> {
  const buf = await readFile(path);
  if (buf.length < SEG_HEADER || !buf.subarray(0, 4).equals(SEG_MAGIC)) throw new StoreCorruptError(path, `bad segment header at byte 0 (${buf.length} bytes)`);
  if (buf.readUInt32BE(4) !== VERSION) throw new StoreCorruptError(path, `unknown segment version ${buf.readUInt32BE(4)} at byte 4`);
  const entries: StoredEntry<C>[] = [];
  const offsets: number[] = [];
  let off = SEG_HEADER;
  let bad: string | null = null;
  let kind: 'short' | 'checksum' | 'empty' = 'short';
  while (off < buf.length) {
    if (buf.length - off < REC_HEADER) {
      bad = `incomplete record header at byte ${off}`;
      break;
    }
    const len = buf.readUInt32BE(off);
    const crc = buf.readUInt32BE(off + 4);
    // no entry is written as zero bytes of JSON; a zero header (whose checksum of nothing is 0 and
    // would match) is where the file grew before its data reached the disk
    if (len === 0) {
      bad = `empty record at byte ${off}`;
      kind = 'empty';
      break;
    }
    if (len > MAX_RECORD || off + REC_HEADER + len > buf.length) {
      bad = `record at byte ${off} runs past the end of the file`;
      break;
    }
    const payload = buf.subarray(off + REC_HEADER, off + REC_HEADER + len);
    if (crc32(payload) !== crc) {
      bad = `checksum mismatch in record at byte ${off}`;
      kind = 'checksum';
      break;
    }
    let e: StoredEntry<C>;
    try {
      e = JSON.parse(payload.toString('utf8')) as StoredEntry<C>;
    } catch {
      throw new StoreCorruptError(path, `record at byte ${off}: invalid JSON behind a valid checksum`);
    }
    const expected = first + entries.length;
    if (typeof e !== 'object' || e === null || e.index !== expected || !isIndex(e.term)) {
      throw new StoreCorruptError(path, `record at byte ${off}: not an entry with index ${expected} and a term (${payload.subarray(0, 60).toString('utf8')})`);
    }
    const problem = check?.command(e.cmd);
    if (problem) throw new StoreCorruptError(path, `record at byte ${off}: entry ${expected}: ${problem}`);
    entries.push(e);
    offsets.push(off);
    off += REC_HEADER + len;
  }
  let repaired: string | null = null;
  if (bad) {
    // A torn tail is the only damage repaired, and only in the last segment: the record runs past
    // the end of the file (the append stopped part-way) or everything after its header is zeros
    // (the file grew before its data reached the disk; the header may be zeros too). That append
    // never resolved, so nobody relied on it. A checksum failure over real data, or a valid record
    // further on, is a hole in acknowledged history: corruption, reported, never cut away.
    const torn = kind === 'short' ? !hasValidRecordAfter(buf, off) : allZero(buf, kind === 'empty' ? off : off + REC_HEADER);
    if (!isLast || !torn) throw new StoreCorruptError(path, bad);
    const fh = await open(path, 'r+');
    try {
      await fh.truncate(off);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    repaired = `${path}: cut ${buf.length - off} bytes of a torn last record (${bad})`;
  }
  return { seg: { first, path, offsets, size: off }, entries, repaired };
}

function allZero(buf: Buffer, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Is there a complete record with a valid checksum starting anywhere after `from`? */
function hasValidRecordAfter(buf: Buffer, from: number): boolean {
  for (let off = from + 1; off + REC_HEADER <= buf.length; off++) {
    const len = buf.readUInt32BE(off);
    if (len === 0 || len > MAX_RECORD || off + REC_HEADER + len > buf.length) continue;
    if (crc32(buf.subarray(off + REC_HEADER, off + REC_HEADER + len)) === buf.readUInt32BE(off + 4)) return true;
  }
  return false;
}
