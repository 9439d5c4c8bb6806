// The checker of the RBD writer's records (test/helpers/rbd-writer.py): reads the image as Ceph
// holds it and every writer's ack log, and counts what a storage takeover must never cause:
//   - acked_lost: records Ceph acknowledged (in an ack log) that are not in the image at their slot;
//   - writes_after_takeover: records of a writer in a slot at or after the first slot of a writer
//     that opened the image after it (the new holder), which covers both a late write of the old
//     holder after the takeover and one overwriting the new holder's records.
// Writers are ordered by the slot they started at: each starts at the first free slot it found, so
// a later holder starts after everything its predecessors wrote before it took over.

import fs from 'node:fs';
import { crc32 } from 'node:zlib';

export const RECORD_BYTES = 64;
const MAGIC = Buffer.from('TSHAREC1');

export interface ImageRecord {
  slot: number;
  writer: string;
  seq: number;
}

export interface WriterLog {
  id: string;
  /** the slot it found free when it opened the image */
  startSlot: number;
  /** its Ceph client's address (what a takeover blocklists) */
  address?: string;
  /** wall-clock seconds of its process start, its open (lock taken, free slot found) and its first acknowledged write */
  startedT?: number;
  openT?: number;
  firstAckT?: number;
  acked: { seq: number; slot: number; t: number }[];
  /** a write Ceph refused ("errno=108 ConnectionShutdown"), if any */
  refused?: string;
  done: boolean;
}

export interface RbdCheck {
  records: number;
  writers: WriterLog[];
  acked_lost: number;
  writes_after_takeover: number;
  /** the first few problems, for the failure message */
  problems: string[];
}

/** The records of an image's bytes; a slot whose magic or checksum does not match is free (or torn, counted as a problem). */
export function readRecords(image: Buffer): { records: Map<number, ImageRecord>; torn: number[] } {
  const records = new Map<number, ImageRecord>();
  const torn: number[] = [];
  for (let off = 0; off + RECORD_BYTES <= image.length; off += RECORD_BYTES) {
    const rec = image.subarray(off, off + RECORD_BYTES);
    if (!rec.subarray(0, 8).equals(MAGIC)) continue;
    const slot = off / RECORD_BYTES;
    if (crc32(rec.subarray(0, 60)) !== rec.readUInt32LE(60)) {
      torn.push(slot);
      continue;
    }
    const writer = rec.subarray(8, 32).toString('utf8').replace(/\0+$/, '');
    records.set(slot, { slot, writer, seq: Number(rec.readBigUInt64LE(32)) });
  }
  return { records, torn };
}

/** One writer's ack log ("open ID start_slot=N …", "ack ID SEQ SLOT T", "refused …", "done …"). */
export function parseAckLog(text: string): WriterLog[] {
  const out: WriterLog[] = [];
  let cur: WriterLog | undefined;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'open') {
      cur = { id: f[1]!, startSlot: Number(/start_slot=(\d+)/.exec(line)?.[1] ?? NaN), acked: [], done: false };
      const addr = /addr=(\S+)/.exec(line)?.[1];
      if (addr) cur.address = addr;
      const started = /started=([\d.]+)/.exec(line)?.[1];
      if (started) cur.startedT = Number(started);
      const t = / t=([\d.]+)/.exec(line)?.[1];
      if (t) cur.openT = Number(t);
      out.push(cur);
    } else if (f[0] === 'ack' && cur) {
      const a = { seq: Number(f[2]), slot: Number(f[3]), t: Number(f[4]) };
      cur.acked.push(a);
      cur.firstAckT ??= a.t;
    } else if (f[0] === 'refused' && cur) {
      cur.refused = f.slice(4).join(' ');
    } else if (f[0] === 'done' && cur) {
      cur.done = true;
    }
  }
  return out;
}

export function checkRecords(image: Buffer, ackLogs: readonly string[]): RbdCheck {
  const { records, torn } = readRecords(image);
  const writers = ackLogs.flatMap(parseAckLog).sort((a, b) => a.startSlot - b.startSlot);
  const problems: string[] = torn.slice(0, 5).map((s) => `slot ${s}: torn record`);
  let lost = 0;
  for (const w of writers) {
    for (const a of w.acked) {
      const r = records.get(a.slot);
      if (!r || r.writer !== w.id || r.seq !== a.seq) {
        lost++;
        if (problems.length < 10) problems.push(`acked ${w.id} #${a.seq} at slot ${a.slot}: image has ${r ? `${r.writer} #${r.seq}` : 'nothing'}`);
      }
    }
  }
  let late = 0;
  for (const [i, w] of writers.entries()) {
    const later = writers.slice(i + 1).filter((x) => x.id !== w.id);
    if (later.length === 0) continue;
    const from = Math.min(...later.map((x) => x.startSlot));
    for (const r of records.values()) {
      if (r.writer === w.id && r.slot >= from) {
        late++;
        if (problems.length < 10) problems.push(`${w.id} #${r.seq} at slot ${r.slot}, after ${later[0]!.id} took over at slot ${from}`);
      }
    }
  }
  return { records: records.size, writers, acked_lost: lost, writes_after_takeover: late, problems };
}

/** Reads the ack logs (files) and checks them against the image's bytes. */
export function checkFiles(image: Buffer, ackFiles: readonly string[]): RbdCheck {
  return checkRecords(image, ackFiles.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, 'utf8')));
}
