// The mesh envelope's wire format written out by hand for the bodies an idle cluster sends: the
// coordinator's appendEntries to every member each heartbeat, the members' appendEntriesResponse,
// and `core`. The same bytes as protobufjs produces for the same value, and the same TypeScript
// shape from the same bytes (test/unit/mesh-envelope.test.ts compares the two on every fixture and
// on thousands of random values), in far less code per message.
//
// Why by hand: at idle an agent wakes a few times a heartbeat and each wake-up meets cold caches, so
// what a message costs is how much code and data it touches, not how many instructions it runs
// (docs/agent.md, "Idle cost"). A heartbeat's trip at the idle pace (toOutbound, encode, decode,
// fromEnvelope): median 65 to 82 us this way, against 155 to 187 us for the JSON form through the
// generic route (protobufjs reflection, its writer and reader, the TypeScript-shape conversion) in
// the same runs of npm run bench:codec-pace.
//
// Anything else goes to the generic codec, which has the errors and the forward compatibility:
// `encodeEnvelope` and `encodeStamped` return null for another body or a value of the wrong type
// (the generic encoder then names the field), and `decodeEnvelope` returns null for another body,
// an unknown field, a repeated field, a number beyond 2^53, text that is not UTF-8 or anything
// truncated (the generic decoder then skips, merges or reports it as protobuf says).
import { isUtf8 } from 'node:buffer';
import type { AppendEntries, AppendEntriesResponse, Envelope, EnvelopeHeader, EntryKind, LogEntry, NodeReport, WitnessSight } from '../../ports/mesh-messages.js';
import type { OutboundMessage } from '../../ports/transport.js';

// ---- encoding ----

const ENTRY_KINDS: Record<string, number> = { normal: 1, config: 2, noop: 3 };
const ENTRY_KIND_NAMES: readonly (EntryKind | undefined)[] = [undefined, 'normal', 'config', 'noop'];

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** strings up to this many UTF-16 units (or bytes) are copied by a loop when ASCII */
const SHORT_STRING = 32;

const SCRATCH_INITIAL = 4096;
const SCRATCH_KEEP = 64 * 1024;

/** Writes into one scratch buffer, grown when needed; `finish` copies the message out. */
class Writer {
  buf = Buffer.allocUnsafe(SCRATCH_INITIAL);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next); // all of it: closeLength makes room with bytes already written past pos
    this.buf = next;
  }
  varint(n: number): void {
    this.room(10);
    const b = this.buf;
    while (n > 0x7f) {
      b[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    b[this.pos++] = n;
  }
  /** one byte of a field's key (fields 16 and above take two: call it twice) */
  key(k: number): void {
    this.room(1);
    this.buf[this.pos++] = k;
  }
  // Scalars at their default (0, -0 excepted for doubles; false; ""; no bytes) are left out, as
  // protobufjs leaves them out (proto3: they read back as the default). `always`: written anyway,
  // as protobufjs writes a map entry's key and value and each item of a repeated field.
  uint(k: number, v: number): void {
    if (v === 0) return;
    this.key(k);
    this.varint(v);
  }
  bool(k: number, v: boolean): void {
    if (!v) return;
    this.key(k);
    this.varint(1);
  }
  double(k: number, v: number): void {
    if (Object.is(v, 0)) return;
    this.key(k);
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  string(k: number, s: string, always = false): void {
    if (s === '' && !always) return;
    this.key(k);
    // at most 3 bytes per UTF-16 unit; one length byte reserved, more made room for when needed
    this.room(s.length * 3 + 5);
    const b = this.buf;
    const start = this.pos + 1;
    // short ASCII (node names, the cluster id, resource ids) in a loop: a call into Node's
    // encoder costs more than the copy, most of all on the first message after a sleep
    let n = 0;
    if (s.length <= SHORT_STRING) {
      for (; n < s.length; n++) {
        const c = s.charCodeAt(n);
        if (c >= 0x80) break;
        b[start + n] = c;
      }
    }
    if (n < s.length) n = b.write(s, start, 'utf8');
    this.pos = start;
    this.closeLength(n);
  }
  bytes(k: number, v: Uint8Array): void {
    if (v.length === 0) return;
    this.key(k);
    this.varint(v.length);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
  /** after a field's key: starts its length-delimited value; `end` with the returned mark writes its length */
  begin(): number {
    this.room(1);
    return ++this.pos;
  }
  end(mark: number): void {
    const n = this.pos - mark;
    this.pos = mark;
    this.closeLength(n);
  }
  /** `n` bytes written at pos after one reserved length byte: write the length, moving them when it needs more */
  private closeLength(n: number): void {
    this.room(n + 10);
    let len = 1;
    for (let v = n; v > 0x7f; v = Math.floor(v / 128)) len++;
    if (len > 1) this.buf.copyWithin(this.pos + len - 1, this.pos, this.pos + n);
    this.pos--;
    this.varint(n);
    this.pos += n;
  }
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    out.set(this.buf.subarray(0, this.pos)); // TypedArray#set: no call into Node's C++ for a small copy
    this.pos = 0;
    // a snapshot grew it: do not keep megabytes for the heartbeats that follow
    if (this.buf.length > SCRATCH_KEEP) this.buf = Buffer.allocUnsafe(SCRATCH_INITIAL);
    return out;
  }
}

const writer = new Writer();

function validEntries(v: unknown): v is LogEntry[] {
  if (!Array.isArray(v)) return false;
  for (const e of v as unknown[]) {
    if (!isObj(e) || !isCount(e.term) || !isCount(e.index) || !isBytes(e.data) || !isStr(e.kind) || !(e.kind in ENTRY_KINDS)) return false;
  }
  return true;
}

function validAppendEntries(a: unknown): a is AppendEntries {
  if (!isObj(a)) return false;
  const l = a.lease;
  return (
    isCount(a.prevLogTerm) && isCount(a.prevLogIndex) && isCount(a.leaderCommit) && typeof a.sentAtMs === 'number' &&
    typeof a.peerIncluded === 'boolean' && validEntries(a.entries) && validSight(a.witness) &&
    (l === null || l === undefined || (isObj(l) && typeof l.atMs === 'number' && isU32(l.incarnation)))
  );
}

const isStrs = (v: unknown): v is string[] => Array.isArray(v) && (v as unknown[]).every(isStr);

/** A report this path writes: a steady one (no run in progress, no failure to count); the rest is the generic codec's. */
function validReport(r: unknown): r is NodeReport | null | undefined {
  if (r === null || r === undefined) return true;
  return isObj(r) && isCount(r.applied) && isStrs(r.active) && isStrs(r.promoted) && isStrs(r.failed) && typeof r.busy === 'boolean' &&
    (r.run === null || r.run === undefined) && Array.isArray(r.failures) && r.failures.length === 0 && validSight(r.witness);
}

function validSight(w: unknown): boolean {
  if (w === null || w === undefined) return true;
  return isObj(w) && typeof w.reachable === 'boolean' && typeof w.heard === 'boolean' && isCount(w.lastContactAgeMs) && isCount(w.term);
}

function validAppendEntriesResponse(a: unknown): a is AppendEntriesResponse {
  return (
    isObj(a) && typeof a.success === 'boolean' && isCount(a.matchIndex) && isCount(a.conflictTerm) && isCount(a.conflictIndex) &&
    isCount(a.lastLogIndex) && typeof a.echoMs === 'number' && typeof a.nodeTimeMs === 'number' && isU32(a.incarnation) && validReport(a.report)
  );
}

/** An envelope's header as the transport stamps it; the term comes with the message. */
export type StampedHeader = Omit<EnvelopeHeader, 'term'>;

const ENVELOPE_KEYS = 8; // clusterId, from, to, term, sentAtMs, features, body and the body's field
const MESSAGE_KEYS = 3; // term, body and the body's field

/** The envelope's bytes, or null when the generic codec must encode it (another body, a bad value). */
export function encodeEnvelope(e: Envelope): Buffer | null {
  // a key beyond these (another body set as well, say) goes to the generic path, which refuses it;
  // this path would drop it silently
  return Object.keys(e).length === ENVELOPE_KEYS ? encodeParts(e, e) : null;
}

/**
 * The bytes of `message` under `header`, without building the envelope object: the transport's
 * `{ ...message, clusterId, ... }` cost microseconds a message in V8 (properties added after a
 * spread take a slow path). Null when the generic codec must encode it.
 */
export function encodeStamped(header: StampedHeader, message: OutboundMessage): Buffer | null {
  return Object.keys(message).length === MESSAGE_KEYS ? encodeParts(header, message) : null;
}

function encodeParts(h: StampedHeader, m: OutboundMessage): Buffer | null {
  if (!isStr(h.clusterId) || !isStr(h.from) || !isStr(h.to) || !isCount(m.term) || !isCount(h.sentAtMs) || !isU32(h.features)) return null;
  const body = m.body;
  if (body === 'appendEntries' ? !validAppendEntries(m.appendEntries)
    : body === 'appendEntriesResponse' ? !validAppendEntriesResponse(m.appendEntriesResponse)
    : body !== 'core' || !isObj(m.core) || !isStr(m.core.kind) || !isBytes(m.core.data)) return null;
  const w = writer;
  w.string(0x0a, h.clusterId);
  w.string(0x12, h.from);
  w.string(0x1a, h.to);
  w.uint(0x20, m.term);
  w.uint(0x28, h.sentAtMs);
  w.uint(0x30, h.features);
  if (m.body === 'appendEntries') writeAppendEntries(w, m.appendEntries);
  else if (m.body === 'appendEntriesResponse') writeAppendEntriesResponse(w, m.appendEntriesResponse);
  else if (m.body === 'core') {
    w.key(0x9a); // field 99, length-delimited
    w.key(0x06);
    const cm = w.begin();
    w.string(0x0a, m.core.kind);
    w.bytes(0x12, m.core.data);
    w.end(cm);
  }
  return w.finish();
}

function writeAppendEntries(w: Writer, a: AppendEntries): void {
  w.key(0x82); // field 16, length-delimited
  w.key(0x01);
  const m = w.begin();
  w.uint(0x08, a.prevLogTerm);
  w.uint(0x10, a.prevLogIndex);
  for (const e of a.entries) {
    w.key(0x1a);
    const em = w.begin();
    w.uint(0x08, e.term);
    w.uint(0x10, e.index);
    w.bytes(0x1a, e.data);
    w.uint(0x20, ENTRY_KINDS[e.kind]!);
    w.end(em);
  }
  w.uint(0x20, a.leaderCommit);
  w.double(0x29, a.sentAtMs);
  if (a.lease !== null && a.lease !== undefined) {
    w.key(0x32);
    const lm = w.begin();
    w.double(0x09, a.lease.atMs);
    w.uint(0x10, a.lease.incarnation);
    w.end(lm);
  }
  w.bool(0x38, a.peerIncluded);
  writeSight(w, 0x42, a.witness);
  w.end(m);
}

function writeSight(w: Writer, key: number, ws: WitnessSight | null | undefined): void {
  if (ws === null || ws === undefined) return;
  w.key(key);
  const wm = w.begin();
  w.bool(0x08, ws.reachable);
  w.bool(0x10, ws.heard);
  w.uint(0x18, ws.lastContactAgeMs);
  w.uint(0x20, ws.term);
  w.end(wm);
}

function writeAppendEntriesResponse(w: Writer, a: AppendEntriesResponse): void {
  w.key(0x8a); // field 17, length-delimited
  w.key(0x01);
  const m = w.begin();
  w.bool(0x08, a.success);
  w.uint(0x10, a.matchIndex);
  w.uint(0x18, a.conflictTerm);
  w.uint(0x20, a.conflictIndex);
  w.uint(0x28, a.lastLogIndex);
  w.double(0x31, a.echoMs);
  w.double(0x39, a.nodeTimeMs);
  w.uint(0x40, a.incarnation);
  const r = a.report;
  if (r !== null && r !== undefined) {
    w.key(0x4a);
    const rm = w.begin();
    w.uint(0x08, r.applied);
    for (const s of r.active) w.string(0x12, s, true);
    for (const s of r.promoted) w.string(0x22, s, true);
    for (const s of r.failed) w.string(0x2a, s, true);
    w.bool(0x30, r.busy);
    writeSight(w, 0x4a, r.witness);
    w.end(rm);
  }
  w.end(m);
}

// ---- decoding ----

/** Thrown inside the reader for anything this path leaves to the generic decoder. */
const GENERIC = new Error('generic');

class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}
  /** a varint up to 2^53 (any longer, or running past the end, is left to the generic decoder) */
  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw GENERIC;
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) throw GENERIC;
        return n;
      }
      mul *= 128;
    }
    throw GENERIC;
  }
  u32(): number {
    const n = this.varint();
    if (n > 0xffffffff) throw GENERIC;
    return n;
  }
  double(): number {
    if (this.pos + 8 > this.end) throw GENERIC;
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  /** the end of a length-delimited field starting here */
  limit(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end) throw GENERIC;
    return end;
  }
  /** text that is not UTF-8 is malformed (proto3 strings are checked): the generic decoder says so */
  string(): string {
    const end = this.limit();
    const b = this.buf;
    const start = this.pos;
    this.pos = end;
    if (end - start <= SHORT_STRING) {
      // short ASCII in a loop, as in Writer.string
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    const view = b.subarray(start, end);
    if (!isUtf8(view)) throw GENERIC;
    return view.toString('utf8');
  }
  bytes(): Buffer {
    const end = this.limit();
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }
}

/** Each field at most once (a repeated one is merged or replaced by the generic decoder). */
function once(seen: number, field: number): number {
  const bit = 1 << field;
  if (seen & bit) throw GENERIC;
  return seen | bit;
}

/** The envelope, or null when the generic codec must decode these bytes. */
export function decodeEnvelope(bytes: Uint8Array): Envelope | null {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return readEnvelope(new Reader(buf, buf.length));
  } catch (e) {
    if (e === GENERIC) return null;
    throw e;
  }
}

function readEnvelope(r: Reader): Envelope | null {
  let clusterId = '';
  let from = '';
  let to = '';
  let term = 0;
  let sentAtMs = 0;
  let features = 0;
  let ae: AppendEntries | null = null;
  let aer: AppendEntriesResponse | null = null;
  let core: { kind: string; data: Buffer } | null = null;
  let seen = 0;
  while (r.pos < r.end) {
    const key = r.varint();
    switch (key) {
      case 0x0a: seen = once(seen, 1); clusterId = r.string(); break;
      case 0x12: seen = once(seen, 2); from = r.string(); break;
      case 0x1a: seen = once(seen, 3); to = r.string(); break;
      case 0x20: seen = once(seen, 4); term = r.varint(); break;
      case 0x28: seen = once(seen, 5); sentAtMs = r.varint(); break;
      case 0x30: seen = once(seen, 6); features = r.u32(); break;
      case (16 << 3) | 2:
        seen = once(seen, 7);
        ae = readAppendEntries(r, r.limit());
        break;
      case (17 << 3) | 2:
        seen = once(seen, 7);
        aer = readAppendEntriesResponse(r, r.limit());
        break;
      case (99 << 3) | 2: {
        seen = once(seen, 7);
        const end = r.limit();
        let kind = '';
        let data: Buffer | null = null;
        let s = 0;
        while (r.pos < end) {
          const k = r.varint();
          if (k === 0x0a) { s = once(s, 1); kind = r.string(); }
          else if (k === 0x12) { s = once(s, 2); data = r.bytes(); }
          else throw GENERIC;
        }
        if (r.pos !== end) throw GENERIC;
        core = { kind, data: data ?? Buffer.alloc(0) };
        break;
      }
      default:
        throw GENERIC; // another body, or a field this path does not know
    }
  }
  // literals of one shape each (a spread into a literal makes a slower object in V8)
  if (ae) return { clusterId, from, to, term, sentAtMs, features, body: 'appendEntries', appendEntries: ae };
  if (aer) return { clusterId, from, to, term, sentAtMs, features, body: 'appendEntriesResponse', appendEntriesResponse: aer };
  if (core) return { clusterId, from, to, term, sentAtMs, features, body: 'core', core };
  return null;
}

function readAppendEntries(r: Reader, end: number): AppendEntries {
  const a: AppendEntries = { prevLogTerm: 0, prevLogIndex: 0, entries: [], leaderCommit: 0, sentAtMs: 0, lease: null, peerIncluded: false, witness: null };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint();
    switch (key) {
      case 0x08: seen = once(seen, 1); a.prevLogTerm = r.varint(); break;
      case 0x10: seen = once(seen, 2); a.prevLogIndex = r.varint(); break;
      case 0x1a: a.entries.push(readLogEntry(r, r.limit())); break;
      case 0x20: seen = once(seen, 4); a.leaderCommit = r.varint(); break;
      case 0x29: seen = once(seen, 5); a.sentAtMs = r.double(); break;
      case 0x32: {
        seen = once(seen, 6);
        const le = r.limit();
        const lease = { atMs: 0, incarnation: 0 };
        let s = 0;
        while (r.pos < le) {
          const k = r.varint();
          if (k === 0x09) { s = once(s, 1); lease.atMs = r.double(); }
          else if (k === 0x10) { s = once(s, 2); lease.incarnation = r.u32(); }
          else throw GENERIC;
        }
        if (r.pos !== le) throw GENERIC;
        a.lease = lease;
        break;
      }
      case 0x38: seen = once(seen, 7); a.peerIncluded = r.varint() !== 0; break;
      case 0x42: seen = once(seen, 8); a.witness = readSight(r, r.limit()); break;
      default: throw GENERIC;
    }
  }
  if (r.pos !== end) throw GENERIC;
  return a;
}

function readLogEntry(r: Reader, end: number): LogEntry {
  let term = 0;
  let index = 0;
  let data: Buffer | null = null;
  let kind: EntryKind | undefined;
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint();
    switch (key) {
      case 0x08: seen = once(seen, 1); term = r.varint(); break;
      case 0x10: seen = once(seen, 2); index = r.varint(); break;
      case 0x1a: seen = once(seen, 3); data = r.bytes(); break;
      case 0x20: seen = once(seen, 4); kind = ENTRY_KIND_NAMES[r.varint()]; break;
      default: throw GENERIC;
    }
  }
  // an unspecified or unknown kind is malformed: the generic decoder says so, with the field path
  if (r.pos !== end || kind === undefined) throw GENERIC;
  return { term, index, data: data ?? Buffer.alloc(0), kind };
}

function readAppendEntriesResponse(r: Reader, end: number): AppendEntriesResponse {
  const a: AppendEntriesResponse = {
    success: false, matchIndex: 0, conflictTerm: 0, conflictIndex: 0, lastLogIndex: 0, echoMs: 0, nodeTimeMs: 0, incarnation: 0, report: null,
  };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint();
    switch (key) {
      case 0x08: seen = once(seen, 1); a.success = r.varint() !== 0; break;
      case 0x10: seen = once(seen, 2); a.matchIndex = r.varint(); break;
      case 0x18: seen = once(seen, 3); a.conflictTerm = r.varint(); break;
      case 0x20: seen = once(seen, 4); a.conflictIndex = r.varint(); break;
      case 0x28: seen = once(seen, 5); a.lastLogIndex = r.varint(); break;
      case 0x31: seen = once(seen, 6); a.echoMs = r.double(); break;
      case 0x39: seen = once(seen, 7); a.nodeTimeMs = r.double(); break;
      case 0x40: seen = once(seen, 8); a.incarnation = r.u32(); break;
      case 0x4a: seen = once(seen, 9); a.report = readReport(r, r.limit()); break;
      default: throw GENERIC;
    }
  }
  if (r.pos !== end) throw GENERIC;
  return a;
}

function readReport(r: Reader, end: number): NodeReport {
  const report: NodeReport = { applied: 0, active: [], promoted: [], failed: [], busy: false, run: null, failures: [], witness: null };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint();
    if (key === 0x08) {
      seen = once(seen, 1);
      report.applied = r.varint();
    } else if (key === 0x12) {
      report.active.push(r.string());
    } else if (key === 0x22) {
      report.promoted.push(r.string());
    } else if (key === 0x2a) {
      report.failed.push(r.string());
    } else if (key === 0x30) {
      seen = once(seen, 6);
      report.busy = r.varint() !== 0;
    } else if (key === 0x4a) {
      seen = once(seen, 9);
      report.witness = readSight(r, r.limit());
    } else {
      throw GENERIC; // a run in progress or failures to count: the generic decoder reads those
    }
  }
  if (r.pos !== end) throw GENERIC;
  return report;
}

function readSight(r: Reader, end: number): WitnessSight {
  const w: WitnessSight = { reachable: false, heard: false, lastContactAgeMs: 0, term: 0 };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint();
    switch (key) {
      case 0x08: seen = once(seen, 1); w.reachable = r.varint() !== 0; break;
      case 0x10: seen = once(seen, 2); w.heard = r.varint() !== 0; break;
      case 0x18: seen = once(seen, 3); w.lastContactAgeMs = r.varint(); break;
      case 0x20: seen = once(seen, 4); w.term = r.varint(); break;
      default: throw GENERIC;
    }
  }
  if (r.pos !== end) throw GENERIC;
  return w;
}
