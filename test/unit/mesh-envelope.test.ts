// The envelope codec's hand-written short path (src/adapters/grpc/mesh-envelope.ts) against the
// generic protobufjs codec: for every value it takes, the same bytes; for every byte string it
// reads, the same TypeScript value; and everything else handed to the generic path, errors
// included. Random values and random corruptions come from fixed seeds, so a failure replays.
import { describe, expect, it } from 'vitest';
import { codec, envelopeCodec, ProtoDecodeError, ProtoEncodeError } from '../../src/adapters/grpc/proto.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/adapters/grpc/mesh-envelope.js';
import { encodeJson, MESH_TYPES, type Envelope, type LogEntry, type NodeReport } from '../../src/ports/mesh-messages.js';
import { FIXTURES, SAMPLE } from './proto/fixtures.js';
import { rng } from '../support/random-cluster.js';

const generic = codec<Envelope>(MESH_TYPES.envelope);
const fast = envelopeCodec();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** fast and generic agree on `e`: the same bytes, read back to the same value by both */
/** Whether the short path takes an envelope: its bodies, with a steady report (no run in progress, no failures to count). */
function steady(e: Envelope): boolean {
  if (e.body !== 'appendEntries' && e.body !== 'appendEntriesResponse' && e.body !== 'core') return false;
  const rep = e.body === 'appendEntriesResponse' ? e.appendEntriesResponse.report : null;
  return !rep || (rep.run === null && rep.failures.length === 0);
}

function agree(e: Envelope): Uint8Array {
  const bytes = fast.encode(e);
  expect(hex(bytes)).toBe(hex(generic.encode(e)));
  expect(fast.decode(bytes)).toEqual(generic.decode(bytes));
  return bytes;
}

function randomEnvelope(r: () => number): Envelope {
  const int = (max: number): number => Math.floor(r() * (max + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length - 1)]!;
  // zero often (a default left out), small, one- to eight-byte varints, and the largest exact value
  const count = (): number => pick([0, 0, 1, int(127), int(16_383), int(2 ** 31), int(2 ** 40), Number.MAX_SAFE_INTEGER]);
  const u32 = (): number => pick([0, 1, int(2 ** 31 - 1), 2 ** 32 - 1]);
  const double = (): number => pick([0, -0, 1.5, r() * 1e6, -r(), Number.MAX_VALUE, Number.NaN, Infinity]);
  const str = (): string => pick(['', 'a', 'n2', 'nœud-é', '节点', 'x'.repeat(int(300)), '🙂'.repeat(int(70))]);
  const bytes = (): Uint8Array => Buffer.from(pick(['', '{"type":"noop"}', 'y'.repeat(int(2000))]));
  const entry = (): LogEntry => ({ term: count(), index: count(), data: bytes(), kind: pick(['normal', 'config', 'noop'] as const) });
  const report = (): NodeReport | null =>
    r() < 0.2 ? null : {
      applied: count(), active: Array.from({ length: int(3) }, str), promoted: Array.from({ length: int(2) }, str), failed: Array.from({ length: int(2) }, str),
      busy: r() < 0.5,
      // a run in progress or failures to count: the generic path writes and reads them
      run: r() < 0.2 ? { transition: count(), results: [{ action: u32(), status: 'ok', exitCode: pick([-1, 0, 7]), reason: str() }] } : null,
      failures: r() < 0.2 ? [{ seq: count(), resource: str(), operation: 'monitor', intervalMs: u32(), status: 'error', exitCode: pick([-1, 1, 7]), reason: str() }] : [],
      witness: r() < 0.5 ? null : { reachable: r() < 0.5, heard: r() < 0.5, lastContactAgeMs: count(), term: count() },
    };
  const header = { clusterId: str(), from: str(), to: str(), term: count(), sentAtMs: count(), features: u32() };
  switch (int(2)) {
    case 0:
      return {
        ...header, body: 'appendEntries',
        appendEntries: {
          prevLogTerm: count(), prevLogIndex: count(), entries: Array.from({ length: pick([0, 0, 1, int(5)]) }, entry), leaderCommit: count(),
          sentAtMs: double(), lease: r() < 0.3 ? null : { atMs: double(), incarnation: u32() }, peerIncluded: r() < 0.5,
          witness: r() < 0.5 ? null : { reachable: r() < 0.5, heard: r() < 0.5, lastContactAgeMs: count(), term: count() },
        },
      };
    case 1:
      return {
        ...header, body: 'appendEntriesResponse',
        appendEntriesResponse: {
          success: r() < 0.5, matchIndex: count(), conflictTerm: count(), conflictIndex: count(), lastLogIndex: count(),
          echoMs: double(), nodeTimeMs: double(), incarnation: u32(), report: report(),
        },
      };
    default:
      return { ...header, body: 'core', core: { kind: str(), data: bytes() } };
  }
}

describe('the envelope codec\'s hand-written path (appendEntries, appendEntriesResponse, core)', () => {
  it('takes every fixture envelope of its bodies, and agrees with the generic codec on all of them', () => {
    let taken = 0;
    for (const e of FIXTURES['tsha.mesh.v1.Envelope'] as Envelope[]) {
      const mine = encodeEnvelope(e);
      if (steady(e)) {
        expect(mine, e.body).not.toBeNull();
        expect(decodeEnvelope(mine!)).toEqual(e.body === 'core' ? { ...e, core: { ...e.core, data: Buffer.from(e.core.data) } } : expect.anything());
        taken++;
      } else {
        expect(mine, e.body).toBeNull();
        expect(decodeEnvelope(generic.encode(e)), e.body).toBeNull(); // what the short path does not write, it leaves to the generic reader too
      }
      agree(e);
    }
    expect(taken).toBe(3);
  });

  it('agrees with the generic codec on 1000 random envelopes (defaults, long strings, 2^53, -0, NaN)', () => {
    const r = rng(20261205);
    for (let i = 0; i < 1000; i++) {
      const e = randomEnvelope(r);
      const bytes = agree(e);
      // and what it decodes is the value that was sent, not only what protobufjs makes of it
      if (steady(e)) expect(decodeEnvelope(bytes), `envelope ${i}`).not.toBeNull();
      else expect(decodeEnvelope(bytes), `envelope ${i}`).toBeNull();
    }
  });

  it('reads a corrupted or truncated envelope exactly as the generic codec does, or leaves it to it', () => {
    const r = rng(7);
    let same = 0;
    let left = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(generic.encode(randomEnvelope(r)));
      const bad = r() < 0.5 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : Buffer.from(bytes);
      if (bad === bytes || bad.length === bytes.length) for (let k = 0; k < 1 + Math.floor(r() * 3); k++) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      let want: unknown;
      try {
        want = generic.decode(bad);
      } catch (e) {
        want = e instanceof ProtoDecodeError ? 'ProtoDecodeError' : e;
      }
      const mine = decodeEnvelope(bad);
      if (mine === null) left++;
      else {
        expect(mine, `corruption ${i}: ${hex(bad)}`).toEqual(want);
        same++;
      }
      let got: unknown;
      try {
        got = fast.decode(bad);
      } catch (e) {
        got = e instanceof ProtoDecodeError ? 'ProtoDecodeError' : e;
      }
      expect(got).toEqual(want);
    }
    // both kinds happen: a corruption of a value decodes here, one of a key or length falls through
    expect(same).toBeGreaterThan(200);
    expect(left).toBeGreaterThan(200);
  });

  it('leaves other bodies, two bodies, unknown fields and values of the wrong type to the generic path and its errors', () => {
    const ae: Envelope = { ...SAMPLE.header, body: 'appendEntries', appendEntries: SAMPLE.appendEntries };
    const hb: Envelope = { ...SAMPLE.header, body: 'heartbeat', heartbeat: SAMPLE.heartbeat };
    expect(encodeEnvelope(hb)).toBeNull();
    expect(() => fast.encode({ ...ae, heartbeat: SAMPLE.heartbeat } as unknown as Envelope)).toThrow(/more than one of heartbeat, appendEntries/);
    expect(() => fast.encode({ ...ae, term: 1.5 })).toThrow(ProtoEncodeError);
    expect(() => fast.encode({ ...ae, appendEntries: { ...SAMPLE.appendEntries, prevLogIndex: 'x' } } as unknown as Envelope)).toThrow(ProtoEncodeError);
    const noKind = { ...ae, appendEntries: { ...SAMPLE.appendEntries, entries: [{ term: 1, index: 1, data: new Uint8Array(0) }] } } as unknown as Envelope;
    expect(encodeEnvelope(noKind)).toBeNull();
    expect(() => fast.encode(noKind)).toThrow(/kind: missing/);
    // protobufjs takes base64 text for bytes: whatever the generic path makes of it, the same here
    const text = { ...SAMPLE.header, body: 'core', core: { kind: 'x', data: 'aGk=' } } as unknown as Envelope;
    expect(encodeEnvelope(text)).toBeNull();
    expect(hex(fast.encode(text))).toBe(hex(generic.encode(text)));
    // a field a later version adds (here: 15, a varint) is skipped by the generic decoder
    const later = Buffer.concat([Buffer.from(generic.encode(ae)), Buffer.from([15 << 3, 42])]);
    expect(decodeEnvelope(later)).toBeNull();
    expect(fast.decode(later)).toEqual(generic.decode(generic.encode(ae)));
    // an entry of unspecified kind is malformed, with the generic decoder's field path
    const zeroKind = generic.type.encode({ clusterId: 'c', appendEntries: { entries: [{ term: 1 }] } }).finish();
    expect(() => fast.decode(zeroKind)).toThrow(/appendEntries\.entries\[0\]\.kind: EntryKind value 0 is unspecified/);
    expect(() => fast.decode(Buffer.from([0xff, 0xff, 0xff]))).toThrow(ProtoDecodeError);
  });

  it('keeps a large payload whole (lengths of several bytes, a grown scratch buffer)', () => {
    const big: Envelope = { ...SAMPLE.header, body: 'core', core: { kind: 'InstallSnapshot', data: encodeJson({ x: 'é'.repeat(100_000) }) } };
    const bytes = agree(big);
    expect(bytes.length).toBeGreaterThan(200_000);
    // and the next small message is not disturbed by what the big one left in the scratch buffer
    agree({ ...SAMPLE.header, body: 'core', core: { kind: 'a', data: Buffer.from('{}') } });
  });
});
