// The mesh envelope's codec (proto/tsha/mesh/v1/mesh.proto), written out by hand: the only encoder
// and decoder of mesh messages an agent runs. Byte for byte what protobufjs writes for the same
// value, and the same TypeScript shape from the same bytes (test/unit/mesh-envelope.test.ts checks
// both against protobufjs, which reads the .proto file, on every fixture and on thousands of random
// values), in far less code per message.
//
// Why by hand: at idle an agent wakes a few times a heartbeat and each wake-up meets cold caches, so
// what a message costs is how much code and data it touches, not how many instructions it runs
// (docs/agent.md, "Idle cost"). Two idle 3-node clusters side by side (npm run bench:idle-ab, five
// 60 s windows), this codec against protobufjs's reflection codec for the same bodies: coordinator
// median 0.67 % of a core against 0.80 % (though only this side's coordinator also ran the
// resource's monitors), members 0.45 % against 0.54 %, wake-ups the same (16 and 11 a second).
//
// Decoding follows proto3 where a later version of this contract may go: a field this reader does
// not know is skipped, a body it does not know leaves the envelope without one (refused as
// malformed). Where protobuf would merge or pick one of several values it refuses instead, since no
// writer of this contract produces them: a singular field or a body given twice, a number beyond
// 2^53, text that is not UTF-8, an entry kind that is unspecified or unknown. Errors name the field.
import { isUtf8 } from 'node:buffer';
import type {
  AppendEntries, AppendEntriesResponse, CoreMessage, Envelope, EnvelopeHeader, EntryKind, FailureEvent, LogEntry, NodeReport, RunReport, WitnessSight,
} from '../../ports/mesh-messages.js';
import type { OutboundMessage } from '../../ports/transport.js';
import { ProtoDecodeError, ProtoEncodeError } from './proto.js';

const TYPE = 'tsha.mesh.v1.Envelope';

/** An envelope's header as the transport stamps it; the term comes with the message. */
export type StampedHeader = Omit<EnvelopeHeader, 'term'>;

// ---- encoding ----

const ENTRY_KINDS: Record<string, number> = { normal: 1, config: 2, noop: 3 };
const ENTRY_KIND_NAMES: readonly (EntryKind | undefined)[] = [undefined, 'normal', 'config', 'noop'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** strings up to this many UTF-16 units (or bytes) are copied by a loop when ASCII */
const SHORT_STRING = 32;

const SCRATCH_INITIAL = 4096;
const SCRATCH_KEEP = 64 * 1024;

/** A value that does not fit the contract: `path` names the field (a caller bug). */
class Misfit {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

/**
 * Writes into one scratch buffer, grown when needed; `finish` copies the message out. Every method
 * checks its value's type first and throws a Misfit naming `path` (a static string: nothing is
 * built for a value that fits).
 */
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
  // as protobufjs writes each item of a repeated field.
  /** uint64 as a number: a non-negative integer up to 2^53 */
  uint(k: number, v: unknown, path: string): void {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Misfit(path, `expected a non-negative integer up to 2^53, got ${String(v)}`);
    if (v === 0) return;
    this.key(k);
    this.varint(v);
  }
  u32(k: number, v: unknown, path: string): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Misfit(path, `expected a uint32, got ${String(v)}`);
    if (v === 0) return;
    this.key(k);
    this.varint(v);
  }
  /** sint32: zigzag, so that -1 takes one byte */
  s32(k: number, v: unknown, path: string): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Misfit(path, `expected an int32, got ${String(v)}`);
    if (v === 0) return;
    this.key(k);
    this.varint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  bool(k: number, v: unknown, path: string): void {
    if (typeof v !== 'boolean') throw new Misfit(path, `expected a boolean, got ${String(v)}`);
    if (!v) return;
    this.key(k);
    this.varint(1);
  }
  double(k: number, v: unknown, path: string): void {
    if (typeof v !== 'number') throw new Misfit(path, `expected a number, got ${String(v)}`);
    if (Object.is(v, 0)) return;
    this.key(k);
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }
  string(k: number, s: unknown, path: string, always = false): void {
    if (typeof s !== 'string') throw new Misfit(path, `expected a string, got ${typeof s}`);
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
  strings(k: number, v: unknown, path: string): void {
    if (!Array.isArray(v)) throw new Misfit(path, 'expected an array');
    for (const s of v as unknown[]) this.string(k, s, path, true);
  }
  bytes(k: number, v: unknown, path: string): void {
    if (!(v instanceof Uint8Array)) throw new Misfit(path, 'expected bytes (a Uint8Array)');
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
    this.reset();
    return out;
  }
  reset(): void {
    this.pos = 0;
    // a snapshot grew it: do not keep megabytes for the heartbeats that follow
    if (this.buf.length > SCRATCH_KEEP) this.buf = Buffer.allocUnsafe(SCRATCH_INITIAL);
  }
}

const writer = new Writer();

const ENVELOPE_KEYS = 7; // clusterId, from, to, term, sentAtMs, body and the body's field
const MESSAGE_KEYS = 3; // term, body and the body's field

/** The envelope's bytes; throws ProtoEncodeError, naming the field, for a value that does not fit the contract. */
export function encodeEnvelope(e: Envelope): Buffer {
  // a key beyond these (a second body, say) would be dropped silently: refuse it
  if (Object.keys(e).length !== ENVELOPE_KEYS) throw new ProtoEncodeError(TYPE, '', `expected the header and one body, got the keys ${Object.keys(e).join(', ')}`);
  return encodeParts(e, e);
}

/**
 * The bytes of `message` under `header`, without building the envelope object: the transport's
 * `{ ...message, clusterId, ... }` cost microseconds a message in V8 (properties added after a
 * spread take a slow path).
 */
export function encodeStamped(header: StampedHeader, message: OutboundMessage): Buffer {
  if (Object.keys(message).length !== MESSAGE_KEYS) throw new ProtoEncodeError(TYPE, '', `expected a term and one body, got the keys ${Object.keys(message).join(', ')}`);
  return encodeParts(header, message);
}

function encodeParts(h: StampedHeader, m: OutboundMessage): Buffer {
  const w = writer;
  try {
    w.string(0x0a, h.clusterId, 'clusterId');
    w.string(0x12, h.from, 'from');
    w.string(0x1a, h.to, 'to');
    w.uint(0x20, m.term, 'term');
    w.uint(0x28, h.sentAtMs, 'sentAtMs');
    writeBody(w, m);
    return w.finish();
  } catch (e) {
    w.reset();
    if (e instanceof Misfit) throw new ProtoEncodeError(TYPE, e.path, e.reason);
    throw e;
  }
}

function body(v: unknown, path: string): Record<string, unknown> {
  if (!isObj(v)) throw new Misfit(path, 'expected an object');
  return v;
}

function writeBody(w: Writer, m: OutboundMessage): void {
  switch (m.body) {
    case 'preVoteRequest':
    case 'voteRequest': {
      const b = body((m as Record<string, unknown>)[m.body], m.body);
      w.key(m.body === 'preVoteRequest' ? 0x62 : 0x72); // field 12 or 14, length-delimited
      const mark = w.begin();
      w.uint(0x08, b.lastLogTerm, `${m.body}.lastLogTerm`);
      w.uint(0x10, b.lastLogIndex, `${m.body}.lastLogIndex`);
      w.end(mark);
      return;
    }
    case 'preVoteResponse':
    case 'voteResponse': {
      const b = body((m as Record<string, unknown>)[m.body], m.body);
      w.key(m.body === 'preVoteResponse' ? 0x6a : 0x7a); // field 13 or 15
      const mark = w.begin();
      w.bool(0x08, b.granted, `${m.body}.granted`);
      w.end(mark);
      return;
    }
    case 'appendEntries':
      writeAppendEntries(w, body(m.appendEntries, 'appendEntries'));
      return;
    case 'appendEntriesResponse':
      writeAppendEntriesResponse(w, body(m.appendEntriesResponse, 'appendEntriesResponse'));
      return;
    case 'core': {
      const c = body(m.core, 'core');
      w.key(0x9a); // field 99
      w.key(0x06);
      const mark = w.begin();
      w.string(0x0a, c.kind, 'core.kind');
      w.bytes(0x12, c.data, 'core.data');
      w.end(mark);
      return;
    }
    default:
      throw new Misfit('body', `no body named ${JSON.stringify((m as { body?: unknown }).body)}`);
  }
}

function writeAppendEntries(w: Writer, a: Record<string, unknown>): void {
  w.key(0x82); // field 16
  w.key(0x01);
  const m = w.begin();
  w.uint(0x08, a.prevLogTerm, 'appendEntries.prevLogTerm');
  w.uint(0x10, a.prevLogIndex, 'appendEntries.prevLogIndex');
  if (!Array.isArray(a.entries)) throw new Misfit('appendEntries.entries', 'expected an array');
  for (const v of a.entries as unknown[]) {
    const e = body(v, 'appendEntries.entries[]');
    w.key(0x1a);
    const em = w.begin();
    w.uint(0x08, e.term, 'appendEntries.entries[].term');
    w.uint(0x10, e.index, 'appendEntries.entries[].index');
    w.bytes(0x1a, e.data, 'appendEntries.entries[].data');
    const kind = typeof e.kind === 'string' && Object.hasOwn(ENTRY_KINDS, e.kind) ? ENTRY_KINDS[e.kind] : undefined;
    if (kind === undefined) throw new Misfit('appendEntries.entries[].kind', `expected one of 'normal', 'config', 'noop', got ${JSON.stringify(e.kind)}`);
    w.uint(0x20, kind, 'appendEntries.entries[].kind');
    w.end(em);
  }
  w.uint(0x20, a.leaderCommit, 'appendEntries.leaderCommit');
  w.double(0x29, a.sentAtMs, 'appendEntries.sentAtMs');
  if (a.lease !== null && a.lease !== undefined) {
    const l = body(a.lease, 'appendEntries.lease');
    w.key(0x32);
    const lm = w.begin();
    w.double(0x09, l.atMs, 'appendEntries.lease.atMs');
    w.u32(0x10, l.incarnation, 'appendEntries.lease.incarnation');
    w.end(lm);
  }
  w.bool(0x38, a.peerIncluded, 'appendEntries.peerIncluded');
  writeSight(w, 0x42, a.witness, 'appendEntries.witness');
  w.end(m);
}

/** A node's view of the witness (field `key`), when it has one. */
function writeSight(w: Writer, key: number, v: unknown, path: string): void {
  if (v === null || v === undefined) return;
  const ws = body(v, path);
  w.key(key);
  const wm = w.begin();
  w.bool(0x08, ws.reachable, `${path}.reachable`);
  w.bool(0x10, ws.heard, `${path}.heard`);
  w.uint(0x18, ws.lastContactAgeMs, `${path}.lastContactAgeMs`);
  w.uint(0x20, ws.term, `${path}.term`);
  w.end(wm);
}

function writeAppendEntriesResponse(w: Writer, a: Record<string, unknown>): void {
  w.key(0x8a); // field 17
  w.key(0x01);
  const m = w.begin();
  w.bool(0x08, a.success, 'appendEntriesResponse.success');
  w.uint(0x10, a.matchIndex, 'appendEntriesResponse.matchIndex');
  w.double(0x31, a.echoMs, 'appendEntriesResponse.echoMs');
  w.double(0x39, a.nodeTimeMs, 'appendEntriesResponse.nodeTimeMs');
  w.u32(0x40, a.incarnation, 'appendEntriesResponse.incarnation');
  if (a.report !== null && a.report !== undefined) writeReport(w, body(a.report, 'appendEntriesResponse.report'));
  w.end(m);
}

function writeReport(w: Writer, r: Record<string, unknown>): void {
  w.key(0x4a);
  const rm = w.begin();
  w.uint(0x08, r.applied, 'appendEntriesResponse.report.applied');
  w.strings(0x12, r.active, 'appendEntriesResponse.report.active');
  w.strings(0x22, r.promoted, 'appendEntriesResponse.report.promoted');
  w.strings(0x2a, r.failed, 'appendEntriesResponse.report.failed');
  w.bool(0x30, r.busy, 'appendEntriesResponse.report.busy');
  if (r.run !== null && r.run !== undefined) {
    const run = body(r.run, 'appendEntriesResponse.report.run');
    w.key(0x3a);
    const m = w.begin();
    w.uint(0x08, run.transition, 'appendEntriesResponse.report.run.transition');
    if (!Array.isArray(run.results)) throw new Misfit('appendEntriesResponse.report.run.results', 'expected an array');
    for (const v of run.results as unknown[]) {
      const x = body(v, 'appendEntriesResponse.report.run.results[]');
      w.key(0x12);
      const xm = w.begin();
      w.u32(0x08, x.action, 'appendEntriesResponse.report.run.results[].action');
      w.string(0x12, x.status, 'appendEntriesResponse.report.run.results[].status');
      w.s32(0x18, x.exitCode, 'appendEntriesResponse.report.run.results[].exitCode');
      w.string(0x22, x.reason, 'appendEntriesResponse.report.run.results[].reason');
      w.end(xm);
    }
    w.end(m);
  }
  if (!Array.isArray(r.failures)) throw new Misfit('appendEntriesResponse.report.failures', 'expected an array');
  for (const v of r.failures as unknown[]) {
    const f = body(v, 'appendEntriesResponse.report.failures[]');
    w.key(0x42);
    const fm = w.begin();
    w.uint(0x08, f.seq, 'appendEntriesResponse.report.failures[].seq');
    w.string(0x12, f.resource, 'appendEntriesResponse.report.failures[].resource');
    w.string(0x1a, f.operation, 'appendEntriesResponse.report.failures[].operation');
    w.u32(0x20, f.intervalMs, 'appendEntriesResponse.report.failures[].intervalMs');
    w.string(0x2a, f.status, 'appendEntriesResponse.report.failures[].status');
    w.s32(0x30, f.exitCode, 'appendEntriesResponse.report.failures[].exitCode');
    w.string(0x3a, f.reason, 'appendEntriesResponse.report.failures[].reason');
    w.end(fm);
  }
  writeSight(w, 0x4a, r.witness, 'appendEntriesResponse.report.witness');
  w.end(rm);
}

// ---- decoding ----

/** Reads one message's fields; `fail` throws a Misfit naming the field path. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
  ) {}
  /** a varint up to 2^53 (a longer one is refused: nothing in this contract reaches it) */
  varint(path: string): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new Misfit(path, 'truncated');
      const b = this.buf[this.pos++]!;
      n += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) throw new Misfit(path, 'a number beyond 2^53');
        return n;
      }
      mul *= 128;
    }
    throw new Misfit(path, 'a number beyond 2^53');
  }
  u32(path: string): number {
    const n = this.varint(path);
    if (n > 0xffffffff) throw new Misfit(path, 'a number beyond 2^32');
    return n;
  }
  s32(path: string): number {
    const n = this.u32(path);
    return (n >>> 1) ^ -(n & 1);
  }
  bool(path: string): boolean {
    return this.varint(path) !== 0;
  }
  double(path: string): number {
    if (this.pos + 8 > this.end) throw new Misfit(path, 'truncated');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  /** the end of a length-delimited field starting here */
  limit(path: string): number {
    const n = this.varint(path);
    const end = this.pos + n;
    if (end > this.end) throw new Misfit(path, 'truncated');
    return end;
  }
  string(path: string): string {
    const end = this.limit(path);
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
    if (!isUtf8(view)) throw new Misfit(path, 'text that is not UTF-8');
    return view.toString('utf8');
  }
  bytes(path: string): Buffer {
    const end = this.limit(path);
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }
  /** a field this reader does not know (a later version's): skipped, as proto3 says */
  skip(key: number, path: string): void {
    if (key < 8 || key > 0xffffffff) throw new Misfit(path, 'a field number outside 1 to 2^29 - 1');
    switch (key & 7) {
      case 0:
        for (;;) {
          if (this.pos >= this.end) throw new Misfit(path, 'truncated');
          if (this.buf[this.pos++]! < 0x80) return;
        }
      case 1:
        if (this.pos + 8 > this.end) throw new Misfit(path, 'truncated');
        this.pos += 8;
        return;
      case 2:
        this.pos = this.limit(path);
        return;
      case 5:
        if (this.pos + 4 > this.end) throw new Misfit(path, 'truncated');
        this.pos += 4;
        return;
      default:
        throw new Misfit(path, `field ${Math.floor(key / 8)} has wire type ${key & 7}, which this contract does not use`);
    }
  }
  /** the sub-message ended exactly where its length said */
  close(end: number, path: string): void {
    if (this.pos !== end) throw new Misfit(path, 'a field runs past the end of its message');
  }
}

/** Each singular field at most once (protobuf would keep the last one or merge them; no writer of this contract repeats one). */
function once(seen: number, field: number, path: string): number {
  const bit = 1 << field;
  if (seen & bit) throw new Misfit(path, 'given twice');
  return seen | bit;
}

/** The envelope; throws ProtoDecodeError, naming the field, for bytes that are not a valid envelope. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    return readEnvelope(new Reader(buf, buf.length));
  } catch (e) {
    if (e instanceof Misfit) throw new ProtoDecodeError(TYPE, e.path, e.reason);
    throw e;
  }
}

function readEnvelope(r: Reader): Envelope {
  let clusterId = '';
  let from = '';
  let to = '';
  let term = 0;
  let sentAtMs = 0;
  let kind = 0;
  let granted = false;
  let lastLogTerm = 0;
  let lastLogIndex = 0;
  let ae: AppendEntries | null = null;
  let aer: AppendEntriesResponse | null = null;
  let core: CoreMessage | null = null;
  let seen = 0;
  while (r.pos < r.end) {
    const key = r.varint('');
    switch (key) {
      case 0x0a: seen = once(seen, 1, 'clusterId'); clusterId = r.string('clusterId'); break;
      case 0x12: seen = once(seen, 2, 'from'); from = r.string('from'); break;
      case 0x1a: seen = once(seen, 3, 'to'); to = r.string('to'); break;
      case 0x20: seen = once(seen, 4, 'term'); term = r.varint('term'); break;
      case 0x28: seen = once(seen, 5, 'sentAtMs'); sentAtMs = r.varint('sentAtMs'); break;
      case (12 << 3) | 2:
      case (14 << 3) | 2: {
        seen = once(seen, 7, 'body');
        kind = key >> 3;
        const path = kind === 12 ? 'preVoteRequest' : 'voteRequest';
        const end = r.limit(path);
        let s = 0;
        while (r.pos < end) {
          const k = r.varint(path);
          if (k === 0x08) { s = once(s, 1, `${path}.lastLogTerm`); lastLogTerm = r.varint(`${path}.lastLogTerm`); }
          else if (k === 0x10) { s = once(s, 2, `${path}.lastLogIndex`); lastLogIndex = r.varint(`${path}.lastLogIndex`); }
          else r.skip(k, path);
        }
        r.close(end, path);
        break;
      }
      case (13 << 3) | 2:
      case (15 << 3) | 2: {
        seen = once(seen, 7, 'body');
        kind = key >> 3;
        const path = kind === 13 ? 'preVoteResponse' : 'voteResponse';
        const end = r.limit(path);
        let s = 0;
        while (r.pos < end) {
          const k = r.varint(path);
          if (k === 0x08) { s = once(s, 1, `${path}.granted`); granted = r.bool(`${path}.granted`); }
          else r.skip(k, path);
        }
        r.close(end, path);
        break;
      }
      case (16 << 3) | 2:
        seen = once(seen, 7, 'body');
        ae = readAppendEntries(r, r.limit('appendEntries'));
        break;
      case (17 << 3) | 2:
        seen = once(seen, 7, 'body');
        aer = readAppendEntriesResponse(r, r.limit('appendEntriesResponse'));
        break;
      case (99 << 3) | 2: {
        seen = once(seen, 7, 'body');
        const end = r.limit('core');
        core = { kind: '', data: Buffer.alloc(0) };
        let s = 0;
        while (r.pos < end) {
          const k = r.varint('core');
          if (k === 0x0a) { s = once(s, 1, 'core.kind'); core.kind = r.string('core.kind'); }
          else if (k === 0x12) { s = once(s, 2, 'core.data'); core.data = r.bytes('core.data'); }
          else r.skip(k, 'core');
        }
        r.close(end, 'core');
        break;
      }
      default:
        r.skip(key, '');
    }
  }
  // literals of one shape each (a spread into a literal makes a slower object in V8)
  if (ae) return { clusterId, from, to, term, sentAtMs, body: 'appendEntries', appendEntries: ae };
  if (aer) return { clusterId, from, to, term, sentAtMs, body: 'appendEntriesResponse', appendEntriesResponse: aer };
  if (core) return { clusterId, from, to, term, sentAtMs, body: 'core', core };
  switch (kind) {
    case 12: return { clusterId, from, to, term, sentAtMs, body: 'preVoteRequest', preVoteRequest: { lastLogTerm, lastLogIndex } };
    case 13: return { clusterId, from, to, term, sentAtMs, body: 'preVoteResponse', preVoteResponse: { granted } };
    case 14: return { clusterId, from, to, term, sentAtMs, body: 'voteRequest', voteRequest: { lastLogTerm, lastLogIndex } };
    case 15: return { clusterId, from, to, term, sentAtMs, body: 'voteResponse', voteResponse: { granted } };
  }
  throw new Misfit('body', 'none of the bodies this agent reads');
}

function readAppendEntries(r: Reader, end: number): AppendEntries {
  const a: AppendEntries = { prevLogTerm: 0, prevLogIndex: 0, entries: [], leaderCommit: 0, sentAtMs: 0, lease: null, peerIncluded: false, witness: null };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint('appendEntries');
    switch (key) {
      case 0x08: seen = once(seen, 1, 'appendEntries.prevLogTerm'); a.prevLogTerm = r.varint('appendEntries.prevLogTerm'); break;
      case 0x10: seen = once(seen, 2, 'appendEntries.prevLogIndex'); a.prevLogIndex = r.varint('appendEntries.prevLogIndex'); break;
      case 0x1a: a.entries.push(readLogEntry(r, r.limit('appendEntries.entries'), a.entries.length)); break;
      case 0x20: seen = once(seen, 4, 'appendEntries.leaderCommit'); a.leaderCommit = r.varint('appendEntries.leaderCommit'); break;
      case 0x29: seen = once(seen, 5, 'appendEntries.sentAtMs'); a.sentAtMs = r.double('appendEntries.sentAtMs'); break;
      case 0x32: {
        seen = once(seen, 6, 'appendEntries.lease');
        const le = r.limit('appendEntries.lease');
        const lease = { atMs: 0, incarnation: 0 };
        let s = 0;
        while (r.pos < le) {
          const k = r.varint('appendEntries.lease');
          if (k === 0x09) { s = once(s, 1, 'appendEntries.lease.atMs'); lease.atMs = r.double('appendEntries.lease.atMs'); }
          else if (k === 0x10) { s = once(s, 2, 'appendEntries.lease.incarnation'); lease.incarnation = r.u32('appendEntries.lease.incarnation'); }
          else r.skip(k, 'appendEntries.lease');
        }
        r.close(le, 'appendEntries.lease');
        a.lease = lease;
        break;
      }
      case 0x38: seen = once(seen, 7, 'appendEntries.peerIncluded'); a.peerIncluded = r.bool('appendEntries.peerIncluded'); break;
      case 0x42: seen = once(seen, 8, 'appendEntries.witness'); a.witness = readSight(r, r.limit('appendEntries.witness'), 'appendEntries.witness'); break;
      default: r.skip(key, 'appendEntries');
    }
  }
  r.close(end, 'appendEntries');
  return a;
}

function readLogEntry(r: Reader, end: number, i: number): LogEntry {
  const path = `appendEntries.entries[${i}]`;
  let term = 0;
  let index = 0;
  let data: Buffer | null = null;
  let kind = 0;
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint(path);
    switch (key) {
      case 0x08: seen = once(seen, 1, `${path}.term`); term = r.varint(`${path}.term`); break;
      case 0x10: seen = once(seen, 2, `${path}.index`); index = r.varint(`${path}.index`); break;
      case 0x1a: seen = once(seen, 3, `${path}.data`); data = r.bytes(`${path}.data`); break;
      case 0x20: seen = once(seen, 4, `${path}.kind`); kind = r.varint(`${path}.kind`); break;
      default: r.skip(key, path);
    }
  }
  r.close(end, path);
  const name = ENTRY_KIND_NAMES[kind];
  if (name === undefined) throw new Misfit(`${path}.kind`, `EntryKind value ${kind} is unspecified or unknown`);
  return { term, index, data: data ?? Buffer.alloc(0), kind: name };
}

function readAppendEntriesResponse(r: Reader, end: number): AppendEntriesResponse {
  const a: AppendEntriesResponse = { success: false, matchIndex: 0, echoMs: 0, nodeTimeMs: 0, incarnation: 0, report: null };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint('appendEntriesResponse');
    switch (key) {
      case 0x08: seen = once(seen, 1, 'appendEntriesResponse.success'); a.success = r.bool('appendEntriesResponse.success'); break;
      case 0x10: seen = once(seen, 2, 'appendEntriesResponse.matchIndex'); a.matchIndex = r.varint('appendEntriesResponse.matchIndex'); break;
      case 0x31: seen = once(seen, 6, 'appendEntriesResponse.echoMs'); a.echoMs = r.double('appendEntriesResponse.echoMs'); break;
      case 0x39: seen = once(seen, 7, 'appendEntriesResponse.nodeTimeMs'); a.nodeTimeMs = r.double('appendEntriesResponse.nodeTimeMs'); break;
      case 0x40: seen = once(seen, 8, 'appendEntriesResponse.incarnation'); a.incarnation = r.u32('appendEntriesResponse.incarnation'); break;
      case 0x4a: seen = once(seen, 9, 'appendEntriesResponse.report'); a.report = readReport(r, r.limit('appendEntriesResponse.report')); break;
      default: r.skip(key, 'appendEntriesResponse');
    }
  }
  r.close(end, 'appendEntriesResponse');
  return a;
}

function readReport(r: Reader, end: number): NodeReport {
  const report: NodeReport = { applied: 0, active: [], promoted: [], failed: [], busy: false, run: null, failures: [], witness: null };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint('appendEntriesResponse.report');
    switch (key) {
      case 0x08: seen = once(seen, 1, 'appendEntriesResponse.report.applied'); report.applied = r.varint('appendEntriesResponse.report.applied'); break;
      case 0x12: report.active.push(r.string('appendEntriesResponse.report.active')); break;
      case 0x22: report.promoted.push(r.string('appendEntriesResponse.report.promoted')); break;
      case 0x2a: report.failed.push(r.string('appendEntriesResponse.report.failed')); break;
      case 0x30: seen = once(seen, 6, 'appendEntriesResponse.report.busy'); report.busy = r.bool('appendEntriesResponse.report.busy'); break;
      case 0x3a: seen = once(seen, 7, 'appendEntriesResponse.report.run'); report.run = readRun(r, r.limit('appendEntriesResponse.report.run')); break;
      case 0x42: report.failures.push(readFailure(r, r.limit('appendEntriesResponse.report.failures'), report.failures.length)); break;
      case 0x4a: seen = once(seen, 9, 'appendEntriesResponse.report.witness'); report.witness = readSight(r, r.limit('appendEntriesResponse.report.witness'), 'appendEntriesResponse.report.witness'); break;
      default: r.skip(key, 'appendEntriesResponse.report');
    }
  }
  r.close(end, 'appendEntriesResponse.report');
  return report;
}

function readRun(r: Reader, end: number): RunReport {
  const p = 'appendEntriesResponse.report.run';
  const run: RunReport = { transition: 0, results: [] };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint(p);
    if (key === 0x08) {
      seen = once(seen, 1, `${p}.transition`);
      run.transition = r.varint(`${p}.transition`);
    } else if (key === 0x12) {
      const path = `${p}.results[${run.results.length}]`;
      const xe = r.limit(path);
      const x = { action: 0, status: '', exitCode: 0, reason: '' };
      let s = 0;
      while (r.pos < xe) {
        const k = r.varint(path);
        switch (k) {
          case 0x08: s = once(s, 1, `${path}.action`); x.action = r.u32(`${path}.action`); break;
          case 0x12: s = once(s, 2, `${path}.status`); x.status = r.string(`${path}.status`); break;
          case 0x18: s = once(s, 3, `${path}.exitCode`); x.exitCode = r.s32(`${path}.exitCode`); break;
          case 0x22: s = once(s, 4, `${path}.reason`); x.reason = r.string(`${path}.reason`); break;
          default: r.skip(k, path);
        }
      }
      r.close(xe, path);
      run.results.push(x);
    } else {
      r.skip(key, p);
    }
  }
  r.close(end, p);
  return run;
}

function readSight(r: Reader, end: number, path: string): WitnessSight {
  const ws: WitnessSight = { reachable: false, heard: false, lastContactAgeMs: 0, term: 0 };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint(path);
    switch (key) {
      case 0x08: seen = once(seen, 1, `${path}.reachable`); ws.reachable = r.bool(`${path}.reachable`); break;
      case 0x10: seen = once(seen, 2, `${path}.heard`); ws.heard = r.bool(`${path}.heard`); break;
      case 0x18: seen = once(seen, 3, `${path}.lastContactAgeMs`); ws.lastContactAgeMs = r.varint(`${path}.lastContactAgeMs`); break;
      case 0x20: seen = once(seen, 4, `${path}.term`); ws.term = r.varint(`${path}.term`); break;
      default: r.skip(key, path);
    }
  }
  r.close(end, path);
  return ws;
}

function readFailure(r: Reader, end: number, i: number): FailureEvent {
  const path = `appendEntriesResponse.report.failures[${i}]`;
  const f: FailureEvent = { seq: 0, resource: '', operation: '', intervalMs: 0, status: '', exitCode: 0, reason: '' };
  let seen = 0;
  while (r.pos < end) {
    const key = r.varint(path);
    switch (key) {
      case 0x08: seen = once(seen, 1, `${path}.seq`); f.seq = r.varint(`${path}.seq`); break;
      case 0x12: seen = once(seen, 2, `${path}.resource`); f.resource = r.string(`${path}.resource`); break;
      case 0x1a: seen = once(seen, 3, `${path}.operation`); f.operation = r.string(`${path}.operation`); break;
      case 0x20: seen = once(seen, 4, `${path}.intervalMs`); f.intervalMs = r.u32(`${path}.intervalMs`); break;
      case 0x2a: seen = once(seen, 5, `${path}.status`); f.status = r.string(`${path}.status`); break;
      case 0x30: seen = once(seen, 6, `${path}.exitCode`); f.exitCode = r.s32(`${path}.exitCode`); break;
      case 0x3a: seen = once(seen, 7, `${path}.reason`); f.reason = r.string(`${path}.reason`); break;
      default: r.skip(key, path);
    }
  }
  r.close(end, path);
  return f;
}

/** The mesh envelope's codec: what the transport encodes and decodes every message with. */
export interface EnvelopeCodec {
  /** throws ProtoEncodeError (a caller bug) for a value that does not fit the contract */
  encode(value: Envelope): Buffer;
  /** encode(`message` under `header`), without building the envelope */
  encodeStamped(header: StampedHeader, message: OutboundMessage): Buffer;
  /** throws ProtoDecodeError for bytes that are not a valid envelope */
  decode(bytes: Uint8Array): Envelope;
}

export const envelopeCodec: EnvelopeCodec = { encode: encodeEnvelope, encodeStamped, decode: decodeEnvelope };
