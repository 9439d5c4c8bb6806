// Public surface of the cluster core: membership, quorum, election, replication, leases, fencing
// decisions and placement for one agent (or the witness). Pure: see node.ts for the safety
// arguments and types.ts for the effect ordering rules the runtime must obey.
export { startNode, step, nextTickAt, restartAnnounced, buildSnapshot, initialDurable, quorumSpec, currentVoters, lastIndex, lastTerm, termAt } from './node.js';
export type { NodeState, NodeOptions, StepResult } from './node.js';
export type { Input, Effect, Durable, Role, UnsafeSwitches } from './types.js';
export type {
  Entry,
  Snapshot,
  Message,
  Envelope,
  PreVoteRequest,
  PreVoteResponse,
  VoteRequest,
  VoteResponse,
  AppendEntries,
  AppendEntriesResponse,
  InstallSnapshot,
  Propose,
  LeaseGrant,
  NodeReport,
} from './messages.js';
export type { Command, OperatorCommand } from './commands.js';
export { defaultPlacer, type Placer } from './placement.js';
export { hasQuorum, quorumIndex, quorumSize, type QuorumSpec, type Voter } from './quorum.js';
export { Rng, nextRandom, type RngState } from './rng.js';
export { applyCommand, initialClusterState, cloneClusterState, failCount, type ClusterState, type Placement, type Release, type FenceRecord } from './state-machine.js';
