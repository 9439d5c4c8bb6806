// The cluster core of one agent (or of the witness), as one pure state machine:
//
//   step(state, input) → { state, effects }
//
// `state` is owned by the caller and updated in place (as etcd-io/raft does); the same object is
// returned. Nothing here reads a clock, a timer or a random source: time arrives with each input,
// randomness is a seeded generator kept in the state. See types.ts for the effect ordering rules,
// state.ts for how the core is split into modules, and each module for its safety arguments. Each
// one is checked by the simulator in test/sim after every step:
// - Votes and terms (election.ts): at most one vote per term, persisted before it is sent.
// - Leases (leases.ts): a node acts only while it holds a lease granted inside its coordinator's
//   leader lease, and stops (or freezes, or fences itself) a margin before the lease ends.
// - Recovery (coordination.ts): a new coordinator elected at T knows every lease granted by earlier
//   coordinators ended by T + leaseMs × (1 + drift) on its clock; a lost node's resources move only
//   after a fence agent confirmed the node off, or (with a watchdog) after that bound plus watchdogMs.
// - Execution (execution.ts): a node starts a resource only as an action of a committed transition
//   whose predecessors succeeded, while its lease holds; a lease grant is honoured only when the
//   node has applied everything the leader had committed, so a node returning from a fence or an
//   expired lease never acts on a stale transition.

import type { CompiledConfig, NodeName, ResourceId } from '../../config/types.js';
import { schedule } from '../scheduler/schedule.js';
import type { SchedulerInput } from '../scheduler/types.js';
import type { ActiveRole } from './commands.js';
import { observeEntries } from './clock.js';
import { coordinate } from './coordination.js';
import { maintainLocal, onActionResult, onFound, onMonitored } from './execution.js';
import { onFenceResult } from './fencing.js';
import { maintainLease } from './leases.js';
import { gracefulStop, onPeerAgentDown, onPeerAgentListening } from './liveness.js';
import { durable } from './log.js';
import type { Message } from './messages.js';
import { onAppendEntries, onAppendResponse, onInstallSnapshot, applyCommitted, broadcastAppend, propose } from './replication.js';
import { onPreVoteRequest, onPreVoteResponse, onVoteRequest, onVoteResponse, randomElectionTimeout } from './election.js';
import { nextRandom } from './rng.js';
import { tick } from './schedule.js';
import { askWitness } from './witness.js';
import type { NodeOptions, NodeState, Out as OutT } from './state.js';
import { Out, touch } from './state.js';
import { cloneClusterState, initialClusterState } from './state-machine.js';
import type { Durable, Input } from './types.js';

export interface StepResult {
  state: NodeState;
  effects: ReturnType<OutT['finish']>;
}

export function initialDurable(config: CompiledConfig): Durable {
  const voters = config.nodes.map((n) => n.name).sort();
  return { term: 0, votedFor: null, snapshot: { index: 0, term: 0, state: initialClusterState(voters) }, entries: [] };
}

/** The production scheduler, as the core calls it. */
const productionScheduler = (input: SchedulerInput) => schedule(input.snapshot, input.config, input.now);

/**
 * A node starting (first start: durable = null) or restarting from what it persisted. `seed` seeds
 * its generator; `localActive` are resources the runtime found running on this machine (re-adopted),
 * with their roles.
 */
export function startNode(
  config: CompiledConfig,
  self: NodeName,
  durableState: Durable | null,
  now: number,
  seed: number,
  opts: NodeOptions = {},
  localActive: { resource: ResourceId; role: ActiveRole }[] = [],
): NodeState {
  const d = durableState ?? initialDurable(config);
  const [r1, s1] = nextRandom(seed | 0);
  const isWitness = config.witness?.name === self;
  const st: NodeState = {
    self,
    config,
    isWitness,
    opts: { snapshotEvery: opts.snapshotEvery ?? 64, unsafe: opts.unsafe ?? {}, scheduler: opts.scheduler ?? productionScheduler },
    incarnation: Math.floor(r1 * 2 ** 31),
    rng: s1,
    term: d.term,
    votedFor: d.votedFor,
    snapshot: d.snapshot,
    log: [...d.entries],
    role: 'follower',
    leader: null,
    lastKnownLeader: null,
    commitIndex: d.snapshot.index,
    applied: d.snapshot.index,
    cluster: cloneClusterState(d.snapshot.state),
    startedAt: now,
    electionDeadline: 0,
    lastHeardLeaderAt: now,
    votes: new Set(),
    heard: new Map(),
    lead: null,
    fencing: new Map(),
    fencedConfirmed: new Map(),
    graceStart: new Map(),
    agentDownAt: new Map(),
    agentListeningAt: new Map(),
    probedAt: new Map(),
    witnessTerm: 0,
    witnessAskedAt: -Infinity,
    coordinatorWitness: null,
    tickedAt: now,
    tickedAtCommit: d.snapshot.index,
    stopping: false,
    restartProposal: null,
    fenceSeq: 0,
    // cluster time resumes from the last stamp this node persisted (clock.ts)
    clockOffset: d.snapshot.state.clock - now,
    // A restarted agent may keep what it finds running for one lease (it does not feed the
    // watchdog meanwhile), but starts nothing until a quorate leader grants it a lease.
    leaseUntil: localActive.length > 0 ? now + config.timing.leaseMs : now,
    leaseGrace: true,
    leaseHeld: false,
    policyApplied: false,
    local: new Map(localActive.map((r) => [r.resource, r.role])),
    runs: [],
    policyRetryAt: -Infinity,
    events: [],
    eventSeq: 0,
    memo: {},
    excluded: new Set(),
    quorumReady: config.quorumMode !== 'two_node',
  };
  st.electionDeadline = now + randomElectionTimeout(st);
  observeEntries(st, st.log, now);
  return st;
}

/** Whether a message brings the coordinator something to act on at once (an outcome, a failure). */
function newsFor(st: NodeState, msg: Message): boolean {
  return st.role === 'leader' && msg.type === 'AppendEntriesResponse' && msg.report !== null && (msg.report.run !== null || msg.report.failures.length > 0);
}

export function step(st: NodeState, input: Input): StepResult {
  const out = new Out(st, () => durable(st));
  const now = input.now;
  const appliedBefore = st.applied;
  let news = false;
  switch (input.type) {
    case 'tick':
      tick(st, out, now);
      break;
    case 'message':
      st.heard.set(input.from, now);
      st.agentDownAt.delete(input.from);
      st.agentListeningAt.delete(input.from);
      st.lead?.crashGraceRefused.delete(input.from);
      if (st.fencedConfirmed.has(input.from)) st.fencedConfirmed.delete(input.from);
      if (input.from === st.config.witness?.name) st.witnessTerm = input.msg.term;
      dispatch(st, out, input.from, input.msg, now);
      news = newsFor(st, input.msg);
      break;
    case 'command':
      propose(st, out, [input.cmd], now);
      break;
    case 'actionResult':
      onActionResult(st, out, input.transition, input.actionId, input.result, now);
      news = st.role === 'leader';
      break;
    case 'monitored':
      onMonitored(st, out, input.resource, input.intervalMs, input.result, input.running, input.promoted);
      news = st.role === 'leader';
      break;
    case 'found':
      onFound(st, out, input.resource, input.role);
      news = st.role === 'leader';
      break;
    case 'fenceResult':
      onFenceResult(st, out, input.target, input.requestId, input.ok, now, input.device);
      break;
    case 'peerAgentDown':
      onPeerAgentDown(st, out, input.node, Math.min(input.seenAt, now), now);
      break;
    case 'peerAgentListening':
      onPeerAgentListening(st, out, input.node, Math.min(input.seenAt, now), now);
      break;
    case 'gracefulStop':
      gracefulStop(st, out, now);
      break;
    case 'configChanged':
      st.config = input.config;
      touch(st);
      out.trace('config-changed', 'new compiled configuration');
      news = st.role === 'leader';
      break;
  }
  maintainLease(st, out, now);
  maintainLocal(st, out, now);
  askWitness(st, out, now);
  // the coordinator acts on committed entries and reported outcomes at once, not at its next tick
  if (st.role === 'leader' && (news || st.applied > appliedBefore) && input.type !== 'tick') coordinate(st, out, now);
  if (out.commitAdvanced && st.role === 'leader') broadcastAppend(st, out, now);
  return { state: st, effects: out.finish() };
}

function dispatch(st: NodeState, out: Out, from: NodeName, msg: Message, now: number): void {
  switch (msg.type) {
    case 'PreVoteRequest':
      return onPreVoteRequest(st, out, from, msg, now);
    case 'PreVoteResponse':
      return onPreVoteResponse(st, out, from, msg, now);
    case 'VoteRequest':
      return onVoteRequest(st, out, from, msg, now);
    case 'VoteResponse':
      return onVoteResponse(st, out, from, msg, now);
    case 'AppendEntries':
      return onAppendEntries(st, out, from, msg, now);
    case 'InstallSnapshot':
      return onInstallSnapshot(st, out, from, msg, now);
    case 'AppendEntriesResponse':
      return onAppendResponse(st, out, from, msg, now);
    case 'Propose':
      if (st.role === 'leader' && msg.term === st.term) propose(st, out, msg.cmds, now);
      return;
  }
}

export { applyCommitted };
export type { NodeState, NodeOptions } from './state.js';
export { currentVoters, quorumSpec } from './state.js';
export { lastIndex, lastTerm, termAt } from './log.js';
export { nextTickAt, unsettledTickMs } from './schedule.js';
export { heardRecently, restartAnnounced, restartGrace } from './liveness.js';
export { buildSnapshot } from './coordination.js';
export { clusterNow } from './clock.js';
export { statusOf, stoppedReasons, isQuorate, coordinatorOf, NODE_STATUS_STATES, type NodeStatusState, type CoreStatus, type CoreNodeStatus, type CoreInstanceStatus } from './status.js';
