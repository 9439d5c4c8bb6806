// The mesh contract (proto/tsha/mesh/v1/mesh.proto) as TypeScript data: what the runtime hands to
// the transport and receives from it. Field comments live in the .proto file; this file only
// mirrors its shape (rules in src/adapters/grpc/proto.ts), and test/unit/proto-roundtrip.test.ts
// fails if the two drift apart.

export type NodeRole = 'follower' | 'preCandidate' | 'candidate' | 'leader' | 'witness';
export type EntryKind = 'normal' | 'config' | 'noop';
export type FenceAction = 'off' | 'reboot';
export type FenceStatus = 'ok' | 'failed' | 'timeout';

export interface LeaseInfo {
  holder: string;
  seq: number;
  durationMs: number;
  remainingMs: number;
}

export interface Heartbeat {
  role: NodeRole;
  commitIndex: number;
  leaderHint: string;
  lease: LeaseInfo | null;
  reachable: string[];
  lastLogIndex: number;
  lastLogTerm: number;
  seq: number;
  configDigest: string;
  agentVersion: string;
}

export interface HeartbeatResponse {
  seq: number;
  commitIndex: number;
  lastLogIndex: number;
  reachable: string[];
}

export interface LeaseGrant {
  holder: string;
  seq: number;
  durationMs: number;
  commitIndex: number;
}

export interface LeaseAck {
  seq: number;
  granted: boolean;
  remainingMs: number;
}

export interface PreVoteRequest {
  lastLogTerm: number;
  lastLogIndex: number;
}

export interface PreVoteResponse {
  granted: boolean;
  reason: string;
}

export interface VoteRequest {
  lastLogTerm: number;
  lastLogIndex: number;
  transfer: boolean;
}

export interface VoteResponse {
  granted: boolean;
  reason: string;
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
  conflictTerm: number;
  conflictIndex: number;
  lastLogIndex: number;
  echoMs: number;
  nodeTimeMs: number;
  incarnation: number;
  report: NodeReport | null;
}

export interface Member {
  name: string;
  meshAddress: string;
  votes: number;
}

export interface Membership {
  configIndex: number;
  members: Member[];
  witness: string;
}

export interface InstallSnapshot {
  lastIncludedTerm: number;
  lastIncludedIndex: number;
  membership: Membership | null;
  offset: number;
  data: Uint8Array;
  done: boolean;
}

export interface InstallSnapshotResponse {
  lastIncludedIndex: number;
  nextOffset: number;
  success: boolean;
  reason: string;
}

export interface FenceRequest {
  requestId: string;
  target: string;
  action: FenceAction;
  reason: string;
  level: number;
}

export interface FenceResult {
  requestId: string;
  target: string;
  action: FenceAction;
  status: FenceStatus;
  device: string;
  confirmedAtUnixMs: number;
  message: string;
}

export interface WitnessVoteRequest {
  partition: string[];
  lastLogTerm: number;
  lastLogIndex: number;
  runningResources: boolean;
  leaseMs: number;
}

export interface WitnessVoteResponse {
  granted: boolean;
  grantedPartition: string[];
  leaseMs: number;
  reason: string;
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
  /** what the sender's runtime reads (MESH_FEATURES bits); 0 from an agent older than the bits */
  features: number;
}

/** The oneof `body`: exactly one member, named by the `body` discriminant. */
export type EnvelopeBody =
  | { body: 'heartbeat'; heartbeat: Heartbeat }
  | { body: 'heartbeatResponse'; heartbeatResponse: HeartbeatResponse }
  | { body: 'preVoteRequest'; preVoteRequest: PreVoteRequest }
  | { body: 'preVoteResponse'; preVoteResponse: PreVoteResponse }
  | { body: 'voteRequest'; voteRequest: VoteRequest }
  | { body: 'voteResponse'; voteResponse: VoteResponse }
  | { body: 'appendEntries'; appendEntries: AppendEntries }
  | { body: 'appendEntriesResponse'; appendEntriesResponse: AppendEntriesResponse }
  | { body: 'installSnapshot'; installSnapshot: InstallSnapshot }
  | { body: 'installSnapshotResponse'; installSnapshotResponse: InstallSnapshotResponse }
  | { body: 'leaseGrant'; leaseGrant: LeaseGrant }
  | { body: 'leaseAck'; leaseAck: LeaseAck }
  | { body: 'fenceRequest'; fenceRequest: FenceRequest }
  | { body: 'fenceResult'; fenceResult: FenceResult }
  | { body: 'witnessVoteRequest'; witnessVoteRequest: WitnessVoteRequest }
  | { body: 'witnessVoteResponse'; witnessVoteResponse: WitnessVoteResponse }
  | { body: 'core'; core: CoreMessage };

export type Envelope = EnvelopeHeader & EnvelopeBody;
export type EnvelopeBodyKind = EnvelopeBody['body'];

/** Mesh message type names as the .proto declares them, for codec lookups. */
export const MESH_TYPES = {
  envelope: 'tsha.mesh.v1.Envelope',
  deliverAck: 'tsha.mesh.v1.DeliverAck',
} as const;

/** Envelope.features bit: the runtime reads typed appendEntries and appendEntriesResponse bodies. */
export const FEATURE_TYPED_APPEND = 1;

/** The features this build's runtime reads; the transport stamps them on every envelope it sends. */
export const MESH_FEATURES = FEATURE_TYPED_APPEND;

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
