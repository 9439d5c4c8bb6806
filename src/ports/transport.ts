// The mesh transport port: how the runtime sends the core's `send` effects to peers and feeds
// received messages back to the core. Production: src/adapters/grpc/mesh-transport.ts (gRPC over
// the WireGuard mesh). The simulator plugs in its own in-memory network instead.
//
// Delivery is best-effort and unordered by design: the protocol (Raft-style terms, indexes and
// sequence numbers) already tolerates loss, duplication and reordering, while a message delivered
// late (after being queued behind a stalled peer) could act on stale beliefs. So the transport
// drops instead of queueing: every message has a deadline of about one heartbeat interval to be
// flushed into the connection, a peer with too many unflushed messages gets no more until some
// are, and a receiver drops messages that arrive later than that deadline.

import type { Envelope, EnvelopeBody } from './mesh-messages.js';

export type { Envelope, EnvelopeBody } from './mesh-messages.js';

/**
 * What the runtime hands to `send`: the term and the body. The transport stamps the header
 * (cluster id, its own name as `from`, the peer as `to`, its monotonic send time), so a message
 * can never leave with another node's identity.
 */
export type OutboundMessage = { term: number } & EnvelopeBody;

/** Why an inbound call was dropped. Each is counted and logged (rate-limited), never thrown. */
export type InboundDropReason =
  /** the source address is not the mesh address of a configured member or the witness */
  | 'notMember'
  /** envelope.clusterId is not ours */
  | 'wrongCluster'
  /** envelope.from is not the member whose address the call came from */
  | 'spoofedSender'
  /** envelope.to is not this node */
  | 'wrongRecipient'
  /** bytes that do not decode into a valid Envelope */
  | 'malformed'
  /** mutual TLS: the client certificate does not name envelope.from */
  | 'badCertificate'
  /** the receiving runtime's handler threw (a bug; logged at error) */
  | 'handlerError'
  /** arrived later than the deadline compared with the freshest message of its stream (the reader stalled) */
  | 'stale';

export const INBOUND_DROP_REASONS: readonly InboundDropReason[] = [
  'notMember', 'wrongCluster', 'spoofedSender', 'wrongRecipient', 'malformed', 'badCertificate', 'handlerError', 'stale',
];

/** Why a send did not reach the peer's runtime. */
export type SendFailureReason =
  /** `to` is not a configured peer */
  | 'unknownPeer'
  /** too many unflushed messages to this peer: dropped rather than queued */
  | 'backpressure'
  /** not flushed into the connection within the deadline (the stream is replaced) */
  | 'deadline'
  /** no connection to the peer (down, restarting, unreachable; reconnect runs in the background) */
  | 'unavailable'
  /** the peer refused it (admission or malformed) and ended the stream; the peer counted why */
  | 'rejected'
  /** the message does not fit the contract (a bug; logged at error) */
  | 'encode'
  /** the transport is not started or is stopping */
  | 'stopped'
  /** any other gRPC failure */
  | 'error';

export const SEND_FAILURE_REASONS: readonly SendFailureReason[] = [
  'unknownPeer', 'backpressure', 'deadline', 'unavailable', 'rejected', 'encode', 'stopped', 'error',
];

export type SendOutcome = { ok: true } | { ok: false; reason: SendFailureReason; detail: string };

/**
 * Counters the transport reports to (prom-client metrics are wired to this by the runtime later;
 * the transport also keeps its own tally, see `stats()`).
 */
export interface TransportCounters {
  received(from: string, body: Envelope['body']): void;
  dropped(reason: InboundDropReason, source: string): void;
  sent(to: string, body: Envelope['body']): void;
  sendFailed(to: string, reason: SendFailureReason): void;
}

export interface PeerStats {
  /** gRPC connectivity state of the channel to this peer */
  connectivity: 'idle' | 'connecting' | 'ready' | 'transientFailure' | 'shutdown';
  inFlight: number;
  sent: number;
  failed: number;
  received: number;
  /** connection attempts abandoned because they hung (a cut link drops SYNs) and restarted */
  connectRestarts: number;
  /** ready connections replaced because the peer stayed silent while we sent to it (a dead connection) */
  silentRestarts: number;
  /** streams opened to this peer (one carries every message; a new one after a failure or deadline) */
  streams: number;
}

export interface TransportStats {
  received: number;
  sent: number;
  dropped: Record<InboundDropReason, number>;
  sendFailed: Record<SendFailureReason, number>;
  peers: Record<string, PeerStats>;
}

export type MessageHandler = (envelope: Envelope) => void;

export interface Transport {
  /** binds the server and prepares clients; resolves with the bound port (useful with port 0) */
  start(): Promise<{ port: number }>;
  /** closes the server and every client; in-flight sends resolve with reason 'stopped' */
  stop(): Promise<void>;
  /**
   * Sends one message to one peer. Never throws and never waits longer than the deadline; ok means
   * flushed into the connection to the peer, not yet handled there. The outcome is informational
   * (the protocol does not rely on it) and already counted.
   */
  send(to: string, message: OutboundMessage): Promise<SendOutcome>;
  /** the one handler admitted messages are passed to (synchronously, in arrival order per call) */
  onMessage(handler: MessageHandler): void;
  stats(): TransportStats;
}
