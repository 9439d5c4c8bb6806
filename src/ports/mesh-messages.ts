// The mesh contract (proto/tsha/mesh/v1/mesh.proto) as TypeScript data: what the runtime hands to
// the transport and receives from it. Field comments live in the .proto file; this file only
// mirrors its shape (rules in src/adapters/grpc/proto.ts), and test/unit/proto-roundtrip.test.ts
// fails if the two drift apart.

export type EntryKind = 'normal' | 'config' | 'noop';

export interface PreVoteRequest {
  lastLogTerm: number;
  lastLogIndex: number;
}

export interface PreVoteResponse {
  granted: boolean;
}

export interface VoteRequest {
  lastLogTerm: number;
  lastLogIndex: number;
}

export interface VoteResponse {
  granted: boolean;
}

export interface LogEntry {
  term: number;
  index: number;
  /** JSON of the core's entry (see encodeJson / decodeJson) */
  data: Uint8Array;
  kind: EntryKind;
}

export interface NodeLease {
  atMs: number;
  incarnation: number;
}

export interface AppendEntries {
  prevLogTerm: number;
  prevLogIndex: number;
  entries: LogEntry[];
  leaderCommit: number;
  sentAtMs: number;
  lease: NodeLease | null;
  peerIncluded: boolean;
  witness: WitnessSight | null;
}

export interface ActionOutcome {
  action: number;
  status: string;
  /** -1: none */
  exitCode: number;
  reason: string;
}

export interface RunReport {
  transition: number;
  results: ActionOutcome[];
}

export interface FailureEvent {
  seq: number;
  resource: string;
  operation: string;
  intervalMs: number;
  status: string;
  exitCode: number;
  reason: string;
}

export interface NodeReport {
  applied: number;
  active: string[];
  promoted: string[];
  failed: string[];
  busy: boolean;
  run: RunReport | null;
  failures: FailureEvent[];
  witness: WitnessSight | null;
}

export interface WitnessSight {
  reachable: boolean;
  heard: boolean;
  lastContactAgeMs: number;
  term: number;
}

export interface AppendEntriesResponse {
  success: boolean;
  matchIndex: number;
  echoMs: number;
  nodeTimeMs: number;
  incarnation: number;
  report: NodeReport | null;
}

export interface CoreMessage {
  kind: string;
  data: Uint8Array;
}

export interface EnvelopeHeader {
  clusterId: string;
  from: string;
  to: string;
  term: number;
  sentAtMs: number;
}

/** The oneof `body`: exactly one member, named by the `body` discriminant. */
export type EnvelopeBody =
  | { body: 'preVoteRequest'; preVoteRequest: PreVoteRequest }
  | { body: 'preVoteResponse'; preVoteResponse: PreVoteResponse }
  | { body: 'voteRequest'; voteRequest: VoteRequest }
  | { body: 'voteResponse'; voteResponse: VoteResponse }
  | { body: 'appendEntries'; appendEntries: AppendEntries }
  | { body: 'appendEntriesResponse'; appendEntriesResponse: AppendEntriesResponse }
  | { body: 'core'; core: CoreMessage };

export type Envelope = EnvelopeHeader & EnvelopeBody;
export type EnvelopeBodyKind = EnvelopeBody['body'];

/** Mesh message type names as the .proto declares them, for codec lookups. */
export const MESH_TYPES = {
  envelope: 'tsha.mesh.v1.Envelope',
  deliverAck: 'tsha.mesh.v1.DeliverAck',
} as const;

/** Opaque JSON payloads (log entry data, snapshot data, CoreMessage.data) as the runtime writes them. */
export function encodeJson(value: unknown): Uint8Array {
  return utf8Encoder.encode(JSON.stringify(value));
}

export function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(utf8Decoder.decode(bytes));
}

// one of each for every message (a decode without { stream: true } keeps no state between calls)
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
