// The mesh envelope's codec (src/adapters/grpc/mesh-envelope.ts) against protobufjs reading
// mesh.proto: for every value, the same bytes; for every byte string, the same TypeScript value, or
// an error where protobufjs would merge or pick among values no writer of the contract produces.
// Random values and random corruptions come from fixed seeds, so a failure replays.
import { describe, expect, it } from 'vitest';
import { codec, ProtoDecodeError, ProtoEncodeError } from '../../src/adapters/grpc/proto.js';
import { envelopeCodec as fast } from '../../src/adapters/grpc/mesh-envelope.js';
import { encodeJson, MESH_TYPES, type Envelope, type LogEntry, type NodeReport } from '../../src/ports/mesh-messages.js';
import { FIXTURES, SAMPLE } from './proto/fixtures.js';
import { rng } from '../support/random-cluster.js';

const generic = codec<Envelope>(MESH_TYPES.envelope);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** a field's key as protobuf writes it (a varint of field number and wire type) */
const key = (field: number, wireType: number): number[] => {
  const out: number[] = [];
  let n = (field << 3) | wireType;
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  return [...out, n];
};

/** the codec and protobufjs agree on `e`: the same bytes, read back to the same value by both */
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
  const s32 = (): number => pick([0, -1, 1, 7, -(2 ** 31), 2 ** 31 - 1]);
  const double = (): number => pick([0, -0, 1.5, r() * 1e6, -r(), Number.MAX_VALUE, Number.NaN, Infinity]);
  const str = (): string => pick(['', 'a', 'n2', 'nœud-é', '节点', 'x'.repeat(int(300)), '🙂'.repeat(int(70))]);
  const bytes = (): Uint8Array => Buffer.from(pick(['', '{"type":"noop"}', 'y'.repeat(int(2000))]));
  const entry = (): LogEntry => ({ term: count(), index: count(), data: bytes(), kind: pick(['normal', 'config', 'noop'] as const) });
  const report = (): NodeReport | null =>
    r() < 0.2 ? null : {
      applied: count(), active: Array.from({ length: int(3) }, str), promoted: Array.from({ length: int(2) }, str), failed: Array.from({ length: int(2) }, str),
      busy: r() < 0.5,
      run: r() < 0.3 ? { transition: count(), results: Array.from({ length: int(2) }, () => ({ action: u32(), status: pick(['ok', 'error', '']), exitCode: s32(), reason: str() })) } : null,
      failures: r() < 0.3 ? Array.from({ length: 1 + int(1) }, () => ({ seq: count(), resource: str(), operation: 'monitor', intervalMs: u32(), status: 'error', exitCode: s32(), reason: str() })) : [],
      witness: r() < 0.5 ? null : { reachable: r() < 0.5, heard: r() < 0.5, lastContactAgeMs: count(), term: count() },
    };
  const header = { clusterId: str(), from: str(), to: str(), term: count(), sentAtMs: count() };
  switch (int(6)) {
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
        appendEntriesResponse: { success: r() < 0.5, matchIndex: count(), echoMs: double(), nodeTimeMs: double(), incarnation: u32(), report: report() },
      };
    case 2:
      return { ...header, body: 'preVoteRequest', preVoteRequest: { lastLogTerm: count(), lastLogIndex: count() } };
    case 3:
      return { ...header, body: 'voteRequest', voteRequest: { lastLogTerm: count(), lastLogIndex: count() } };
    case 4:
      return { ...header, body: 'preVoteResponse', preVoteResponse: { granted: r() < 0.5 } };
    case 5:
      return { ...header, body: 'voteResponse', voteResponse: { granted: r() < 0.5 } };
    default:
      return { ...header, body: 'core', core: { kind: str(), data: bytes() } };
  }
}

const decodeOrError = (decode: (b: Uint8Array) => Envelope, b: Uint8Array): unknown => {
  try {
    return decode(b);
  } catch (e) {
    if (e instanceof ProtoDecodeError) return 'ProtoDecodeError';
    throw e;
  }
};

describe('the mesh envelope codec, held to protobufjs reading mesh.proto', () => {
  it('agrees with protobufjs on every fixture envelope, each body of the contract among them', () => {
    const envelopes = FIXTURES['tsha.mesh.v1.Envelope'] as Envelope[];
    for (const e of envelopes) agree(e);
    const oneof = generic.type.oneofs.body!.oneof;
    expect(new Set(envelopes.map((e) => e.body))).toEqual(new Set(oneof));
  });

  it('agrees with protobufjs on 3000 random envelopes (defaults, long strings, 2^53, -0, NaN, negative exit codes)', () => {
    const r = rng(20261205);
    for (let i = 0; i < 3000; i++) agree(randomEnvelope(r));
  });

  it('reads a corrupted or truncated envelope as protobufjs does, or refuses it with a ProtoDecodeError', () => {
    const r = rng(7);
    const tally = { same: 0, bothRefused: 0, stricter: 0 };
    for (let i = 0; i < 3000; i++) {
      const bytes = Buffer.from(generic.encode(randomEnvelope(r)));
      const bad = r() < 0.5 ? bytes.subarray(0, Math.floor(r() * bytes.length)) : Buffer.from(bytes);
      if (bad === bytes || bad.length === bytes.length) for (let k = 0; k < 1 + Math.floor(r() * 3); k++) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
      const want = decodeOrError((b) => generic.decode(b), bad);
      const got = decodeOrError(fast.decode, bad);
      if (got === 'ProtoDecodeError') {
        // protobufjs may read what this codec refuses (a field given twice, a body it does not
        // know, a number beyond 2^53), never the other way round
        if (want === 'ProtoDecodeError' || (want as Envelope).body === undefined) tally.bothRefused++;
        else tally.stricter++;
      } else {
        expect(got, `corruption ${i}: ${hex(bad)}`).toEqual(want);
        tally.same++;
      }
    }
    // both happen often: a corruption of a value reads back, one of a key or a length is refused
    expect(tally.same).toBeGreaterThan(200);
    expect(tally.bothRefused).toBeGreaterThan(1000);
    expect(tally.stricter).toBeLessThan(tally.same / 10);
  });

  it('refuses values of the wrong type and a second body, naming the field', () => {
    const ae: Envelope = { ...SAMPLE.header, body: 'appendEntries', appendEntries: SAMPLE.appendEntries };
    const vote: Envelope = { ...SAMPLE.header, body: 'voteRequest', voteRequest: SAMPLE.voteRequest };
    expect(() => fast.encode({ ...ae, voteRequest: SAMPLE.voteRequest } as unknown as Envelope)).toThrow(/the header and one body/);
    expect(() => fast.encode({ ...ae, term: 1.5 })).toThrow(new ProtoEncodeError(MESH_TYPES.envelope, 'term', 'expected a non-negative integer up to 2^53, got 1.5'));
    expect(() => fast.encode({ ...ae, appendEntries: { ...SAMPLE.appendEntries, prevLogIndex: 'x' } } as unknown as Envelope)).toThrow(/appendEntries\.prevLogIndex: expected a non-negative integer/);
    const noKind = { ...ae, appendEntries: { ...SAMPLE.appendEntries, entries: [{ term: 1, index: 1, data: new Uint8Array(0) }] } } as unknown as Envelope;
    expect(() => fast.encode(noKind)).toThrow(/appendEntries\.entries\[\]\.kind: expected one of 'normal', 'config', 'noop'/);
    expect(() => fast.encode({ ...vote, voteRequest: { lastLogTerm: -1, lastLogIndex: 0 } })).toThrow(/voteRequest\.lastLogTerm/);
    expect(() => fast.encode({ ...SAMPLE.header, body: 'core', core: { kind: 'x', data: 'aGk=' } } as unknown as Envelope)).toThrow(/core\.data: expected bytes/);
    expect(() => fast.encode({ ...SAMPLE.header, body: 'heartbeat', heartbeat: {} } as unknown as Envelope)).toThrow(/body: no body named "heartbeat"/);
    // a failed encode leaves nothing behind for the next message
    expect(hex(fast.encode(vote))).toBe(hex(generic.encode(vote)));
  });

  it('skips a field a later version adds, and refuses an envelope without a body it reads', () => {
    const ae: Envelope = { ...SAMPLE.header, body: 'appendEntries', appendEntries: SAMPLE.appendEntries };
    // field 8 (a varint), 30 (length-delimited), 31 (fixed32), 9 (fixed64): none of them this contract's
    const extra = Buffer.from([...key(8, 0), 42, ...key(30, 2), 2, 0x61, 0x62, ...key(31, 5), 1, 2, 3, 4, ...key(9, 1), 1, 2, 3, 4, 5, 6, 7, 8]);
    const later = Buffer.concat([Buffer.from(generic.encode(ae)), extra]);
    expect(fast.decode(later)).toEqual(generic.decode(later));
    // a body of a later version (field 26) or a reserved one (20, once LeaseGrant): no body this agent reads
    for (const field of [26, 20]) {
      const unknownBody = Buffer.from([...key(1, 2), 1, 0x63, ...key(field, 2), 0]);
      expect(() => fast.decode(unknownBody)).toThrow(/Envelope\.body: none of the bodies this agent reads/);
    }
    // an entry of unspecified kind is malformed, with its field path
    const zeroKind = generic.type.encode({ clusterId: 'c', appendEntries: { entries: [{ term: 1 }] } }).finish();
    expect(() => fast.decode(zeroKind)).toThrow(/appendEntries\.entries\[0\]\.kind: EntryKind value 0 is unspecified/);
    expect(() => fast.decode(Buffer.from([0xff, 0xff, 0xff]))).toThrow(ProtoDecodeError);
    // two bodies, or one field twice: refused where protobufjs would keep the last
    const two = Buffer.concat([Buffer.from(fast.encode(ae)), Buffer.from([...key(15, 2), 0])]);
    expect(() => fast.decode(two)).toThrow(/body: given twice/);
  });

  it('keeps a large payload whole (lengths of several bytes, a grown scratch buffer)', () => {
    const big: Envelope = { ...SAMPLE.header, body: 'core', core: { kind: 'InstallSnapshot', data: encodeJson({ x: 'é'.repeat(100_000) }) } };
    const bytes = agree(big);
    expect(bytes.length).toBeGreaterThan(200_000);
    // and the next small message is not disturbed by what the big one left in the scratch buffer
    agree({ ...SAMPLE.header, body: 'core', core: { kind: 'a', data: Buffer.from('{}') } });
  });
});
