// Public surface of the cluster core: membership, quorum, election, replication, leases, fencing
// decisions, coordination (transitions) and every node's execution of them, for one agent (or the
// witness). Pure: see node.ts for the safety arguments and types.ts for the effect ordering rules
// the runtime must obey.
export {
  startNode, step, nextTickAt, restartAnnounced, restartGrace, buildSnapshot, initialDurable, quorumSpec, currentVoters, lastIndex, lastTerm,
  termAt, clusterNow, statusOf, isQuorate, coordinatorOf,
} from './node.js';
export type { CoreStatus, CoreNodeStatus, CoreInstanceStatus } from './status.js';
export type { NodeState, NodeOptions, StepResult } from './node.js';
export type { Input, Effect, Durable, Role, UnsafeSwitches } from './types.js';
export type {
  Entry, Snapshot, Message, PreVoteRequest, PreVoteResponse, VoteRequest, VoteResponse, AppendEntries, AppendEntriesResponse,
  InstallSnapshot, Propose, LeaseGrant, NodeReport, RunReport, FailureEvent,
} from './messages.js';
export { checkCommand, isActionStatus, type Command, type OperatorCommand, type LocalCommand, type OutdateOutcome, type ActiveRole } from './commands.js';
export { checkClusterState } from './state-check.js';
export { hasQuorum, quorumIndex, quorumSize, type QuorumSpec, type Voter } from './quorum.js';
export { Rng, nextRandom, type RngState } from './rng.js';
export { applyCommand, initialClusterState, cloneClusterState, failCount, type ClusterState, type FenceRecord, type TransitionRecord } from './state-machine.js';
