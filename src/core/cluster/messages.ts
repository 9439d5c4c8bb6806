// Messages exchanged between agents (and the witness). Plain objects; the runtime maps each one to
// the gRPC Envelope's oneof body of the same name (proto/). Log entry commands are opaque bytes on
// the wire: the runtime JSON-encodes `Entry.cmd`.
//
// Every message carries the sender's term. Time values are the SENDER's monotonic clock and are
// only ever compared with the same clock (echoed back), never across nodes.

import type { ResourceId } from '../../config/types.js';
import type { ClusterState } from './state-machine.js';
import type { Command } from './commands.js';
import type { ActionStatus } from '../scheduler/types.js';

export interface Entry {
  index: number;
  term: number;
  cmd: Command;
}

export interface Snapshot {
  /** last log index the snapshot covers */
  index: number;
  term: number;
  state: ClusterState;
}

/** Pre-vote (Raft thesis §9.6): asks "would you vote for me at term `term`?" without changing terms. */
export interface PreVoteRequest {
  type: 'PreVoteRequest';
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
}
export interface PreVoteResponse {
  type: 'PreVoteResponse';
  /** the term asked about when granted; the responder's term when refused for staleness */
  term: number;
  granted: boolean;
}
export interface VoteRequest {
  type: 'VoteRequest';
  term: number;
  lastLogIndex: number;
  lastLogTerm: number;
}
export interface VoteResponse {
  type: 'VoteResponse';
  term: number;
  granted: boolean;
}

/** A node lease grant: the follower's own clock value it sent, echoed back by a quorate leader. */
export interface LeaseGrant {
  at: number;
  incarnation: number;
}

export interface AppendEntries {
  type: 'AppendEntries';
  term: number;
  prevLogIndex: number;
  prevLogTerm: number;
  entries: Entry[];
  leaderCommit: number;
  /** leader's clock when sent; echoed in the response (leader lease / check-quorum) */
  sentAt: number;
  /** present only while the leader holds its leader lease and the receiver may run resources */
  lease: LeaseGrant | null;
  /** two_node: the leader counts the receiver in its quorum again (ends its wait-for-all) */
  peerIncluded: boolean;
  /** the leader's own view of the witness (witness quorum mode; not sent to the witness) */
  witness?: WitnessSight | null;
}

/** A failure a node saw outside any transition (a recurring monitor), until the cluster counted it. */
export interface FailureEvent {
  /** per incarnation of the node's agent, from 1 */
  seq: number;
  resource: ResourceId;
  operation: string;
  intervalMs: number;
  status: ActionStatus;
  exitCode: number;
  reason: string;
}

/** A node's progress on a transition: its own actions' outcomes, until the transition ended. */
export interface RunReport {
  transition: number;
  /** outcomes of this node's actions of the transition */
  results: { action: number; status: ActionStatus; exitCode?: number; reason?: string }[];
}

/** What a node reports about itself with every response: the coordinator's observations. */
export interface NodeReport {
  /** index up to which the node applied committed entries */
  applied: number;
  /** resources active on this node: starting, started, stopping or failed (anything not surely stopped) */
  active: ResourceId[];
  /** those of `active` in the promoted role */
  promoted: ResourceId[];
  /** those of `active` found failed */
  failed: ResourceId[];
  /** an action of this node is in flight (of any transition, or of its own no-quorum stop) */
  busy: boolean;
  /** the transition this node runs, until it applied its end */
  run: RunReport | null;
  /** failures not yet counted by the cluster */
  failures: FailureEvent[];
  /** how this node sees the witness (witness quorum mode only) */
  witness?: WitnessSight | null;
}

/** The witness as one node sees it. */
export interface WitnessSight {
  /** heard within the failure timeout */
  reachable: boolean;
  /** how long ago it was last heard (this node's clock), null: never since this agent started */
  lastContactAgeMs: number | null;
  /** the term of the witness's last message, 0 when never heard */
  term: number;
}

export interface AppendEntriesResponse {
  type: 'AppendEntriesResponse';
  term: number;
  success: boolean;
  /** on success: highest index known to match the leader; on failure: a hint for nextIndex − 1 */
  matchIndex: number;
  /** the leader's sentAt being answered */
  echo: number;
  /** the responder's clock when it answered: the leader echoes it back as a lease grant */
  nodeTime: number;
  incarnation: number;
  report: NodeReport | null;
}

export interface InstallSnapshot {
  type: 'InstallSnapshot';
  term: number;
  snapshot: Snapshot;
  sentAt: number;
}

/** A local command forwarded by a follower to the coordinator. */
export interface Propose {
  type: 'Propose';
  term: number;
  cmds: Command[];
}

export type Message =
  | PreVoteRequest
  | PreVoteResponse
  | VoteRequest
  | VoteResponse
  | AppendEntries
  | AppendEntriesResponse
  | InstallSnapshot
  | Propose;
