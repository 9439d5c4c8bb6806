// The cluster core of one agent (or of the witness): Raft-style election with pre-vote and
// check-quorum, a replicated log committed by quorum with snapshots, node leases, failure
// detection, fencing decisions and placement — as one pure state machine.
//
//   step(state, input) → { state, effects }
//
// `state` is owned by the caller and updated in place (as etcd-io/raft does); the same object is
// returned. Nothing here reads a clock, a timer or a random source: time arrives with each input,
// randomness is a seeded generator kept in the state. See types.ts for the effect ordering rules.
//
// Safety arguments (each one is checked by the simulator in test/sim after every step):
// - Votes: a node grants at most one vote per term, and persists it before answering (§5.2).
//   A node that heard from a leader less than the election timeout ago refuses both pre-votes and
//   votes without adopting the higher term (thesis §4.2.3): that is what makes leader leases sound.
// - Leader lease: a leader whose heartbeat sent at time s was acknowledged by a quorum knows no other
//   leader can be elected before s + electionTimeout × (1 − drift) on its own clock; it grants node
//   leases only inside that window.
// - Node lease: a node's lease is its OWN clock value echoed back by a leader holding its leader
//   lease, plus leaseMs. A delayed grant therefore never extends a lease. A node applies its
//   no-quorum policy a margin before its lease ends, and feeds the watchdog only while it holds the
//   lease (or runs nothing), so when the lease ends plus watchdogMs it surely runs nothing.
// - Recovery: a new coordinator elected at T knows every lease granted by earlier coordinators ended
//   by T + leaseMs × (1 + drift) on its clock; it moves a lost node's resources only after a fence
//   agent confirmed the node off, or (with a watchdog) after that bound plus watchdogMs.
// - A node starts a resource only when the committed state places it there and its lease holds; a
//   lease grant is honoured only when the node has applied everything the leader had committed,
//   so a node returning from a fence or an expired lease never acts on a stale placement.

import type { CompiledConfig, NodeName, ResourceId } from '../../config/types.js';
import { DEFAULT_TIMING, INFINITY } from '../../config/types.js';
import type { ClusterSnapshot, NodeSnapshot } from '../snapshot.js';
import type { Command, OperatorCommand } from './commands.js';
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  InstallSnapshot,
  Message,
  NodeReport,
  PreVoteRequest,
  PreVoteResponse,
  Snapshot,
  VoteRequest,
  VoteResponse,
} from './messages.js';
import { defaultPlacer, type Placer } from './placement.js';
import { hasQuorum, quorumIndexOf, type QuorumSpec } from './quorum.js';
import { nextRandom } from './rng.js';
import { applyCommand, cloneClusterState, initialClusterState, type ClusterState } from './state-machine.js';
import type { Durable, Effect, Input, Role, UnsafeSwitches } from './types.js';

export interface NodeOptions {
  placer?: Placer;
  /** take a snapshot (and compact the log) every this many applied entries */
  snapshotEvery?: number;
  /** test-only: switch off one safeguard (see UnsafeSwitches) */
  unsafe?: UnsafeSwitches;
}

type LocalStatus = 'starting' | 'started' | 'stopping';

interface PeerReport {
  report: NodeReport;
  incarnation: number;
  at: number;
}

interface FenceAttempt {
  requestId: string;
  /** not before this time (fence-race delay, retry backoff) */
  notBefore: number;
  inflight: boolean;
}

export interface NodeState {
  readonly self: NodeName;
  config: CompiledConfig;
  readonly isWitness: boolean;
  readonly opts: Required<Omit<NodeOptions, 'unsafe'>> & { unsafe: UnsafeSwitches };
  /** random per start: lease grants from a previous life are ignored */
  readonly incarnation: number;
  rng: number;

  // durable
  term: number;
  votedFor: NodeName | null;
  snapshot: Snapshot;
  log: Entry[];

  // volatile
  role: Role;
  leader: NodeName | null;
  /** the last leader this node followed (a new leader suspects it at once, others get a grace) */
  lastKnownLeader: NodeName | null;
  commitIndex: number;
  applied: number;
  cluster: ClusterState;
  startedAt: number;
  electionDeadline: number;
  /** when a leader was last heard (startup counts: a restarted node waits before voting) */
  lastHeardLeaderAt: number;
  votes: Set<NodeName>;
  /** failure detector: when each peer was last heard from, on this node's clock */
  heard: Map<NodeName, number>;

  // leader
  leaderSince: number;
  leaderStartIndex: number;
  nextHeartbeatAt: number;
  next: Map<NodeName, number>;
  match: Map<NodeName, number>;
  /** highest own sentAt echoed by each peer this term */
  acked: Map<NodeName, number>;
  /** the latest clock value each peer sent us, to echo back as its lease */
  echoes: Map<NodeName, { at: number; incarnation: number; receivedAt: number }>;
  /** on this clock: when each node's lease granted by us surely ended */
  grantExpiry: Map<NodeName, number>;
  reports: Map<NodeName, PeerReport>;
  fencing: Map<NodeName, FenceAttempt>;
  /** peers a fence agent confirmed powered off since we last heard them */
  fencedConfirmed: Set<NodeName>;
  /** graceful restarts: when this node applied each peer's committed `restarting` entry (own clock) */
  graceStart: Map<NodeName, { index: number; at: number }>;
  /** crash evidence: when a TCP connect to each peer's mesh port was last refused (own clock) */
  agentDownAt: Map<NodeName, number>;
  /** when this node last asked the runtime to probe each silent peer (own clock) */
  probedAt: Map<NodeName, number>;
  /** coordinator: when it last proposed a crash grace for each peer (own clock; crash-loop bound) */
  crashGraceGiven: Map<NodeName, number>;
  /** coordinator: peers refused a crash grace since last heard (the refusal is reported once) */
  crashGraceRefused: Set<NodeName>;
  /** the last tick: when (own clock), and the commit index then (a commit since makes the next one due soon: nextTickAt) */
  tickedAt: number;
  tickedAtCommit: number;
  /** this agent is stopping gracefully: it starts and stops nothing, and does not campaign */
  stopping: boolean;
  fenceSeq: number;

  // lease and resources
  leaseUntil: number;
  /** the startup grace: existing resources may keep running, nothing may start */
  leaseGrace: boolean;
  leaseHeld: boolean;
  policyApplied: boolean;
  local: Map<ResourceId, LocalStatus>;
  localFailures: Record<ResourceId, number>;

  /** derived values cached until the log, the applied state or the configuration change */
  memo: Memo;

  // two_node
  /** peers confirmed fenced: out of the quorum until they are back and caught up */
  excluded: Set<NodeName>;
  /** wait-for-all done: this node has been counted in a leader's quorum since it started */
  quorumReady: boolean;
}

interface Memo {
  voters?: NodeName[];
  hosts?: NodeName[];
  peers?: NodeName[];
  spec?: QuorumSpec;
}

/** Call after any change of log, snapshot, applied state or configuration. */
function touch(st: NodeState) {
  st.memo = {};
}

export interface StepResult {
  state: NodeState;
  effects: Effect[];
}

const MAX_BATCH = 64;
const FENCE_RETRY_MS = 1000;

// ---- construction --------------------------------------------------------------------------------

export function initialDurable(config: CompiledConfig): Durable {
  const voters = config.nodes.map((n) => n.name).sort();
  return { term: 0, votedFor: null, snapshot: { index: 0, term: 0, state: initialClusterState(voters) }, entries: [] };
}

/**
 * A node starting (first start: durable = null) or restarting from what it persisted. `seed` seeds
 * its generator; `localActive` are resources the runtime found running on this machine (re-adopted).
 */
export function startNode(
  config: CompiledConfig,
  self: NodeName,
  durable: Durable | null,
  now: number,
  seed: number,
  opts: NodeOptions = {},
  localActive: ResourceId[] = [],
): NodeState {
  const d = durable ?? initialDurable(config);
  const [r1, s1] = nextRandom(seed | 0);
  const isWitness = config.witness?.name === self;
  const st: NodeState = {
    self,
    config,
    isWitness,
    opts: { placer: opts.placer ?? defaultPlacer, snapshotEvery: opts.snapshotEvery ?? 64, unsafe: opts.unsafe ?? {} },
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
    leaderSince: 0,
    leaderStartIndex: 0,
    nextHeartbeatAt: 0,
    next: new Map(),
    match: new Map(),
    acked: new Map(),
    echoes: new Map(),
    grantExpiry: new Map(),
    reports: new Map(),
    fencing: new Map(),
    fencedConfirmed: new Set(),
    graceStart: new Map(),
    agentDownAt: new Map(),
    probedAt: new Map(),
    crashGraceGiven: new Map(),
    crashGraceRefused: new Set(),
    tickedAt: now,
    tickedAtCommit: d.snapshot.index,
    stopping: false,
    fenceSeq: 0,
    // A restarted agent may keep what it finds running for one lease (it does not feed the
    // watchdog meanwhile), but starts nothing until a quorate leader grants it a lease.
    leaseUntil: localActive.length > 0 ? now + config.timing.leaseMs : now,
    leaseGrace: true,
    leaseHeld: false,
    policyApplied: false,
    local: new Map(localActive.map((r) => [r, 'started' as LocalStatus])),
    localFailures: {},
    memo: {},
    excluded: new Set(),
    quorumReady: config.quorumMode !== 'two_node',
  };
  st.electionDeadline = now + randomElectionTimeout(st);
  return st;
}

// ---- small helpers -------------------------------------------------------------------------------

/** a coordinator grants a peer at most one crash grace per this window (a crash loop is fenced) */
const CRASH_GRACE_WINDOW_MS = 60_000;

function drift(st: NodeState): number {
  return st.config.timing.maxDriftPpm / 1e6;
}

function randomElectionTimeout(st: NodeState): number {
  const [r, s] = nextRandom(st.rng);
  st.rng = s;
  const base = st.config.timing.electionTimeoutMs;
  return base + Math.floor(r * base);
}

export function lastIndex(st: NodeState): number {
  return st.log.length > 0 ? st.log[st.log.length - 1]!.index : st.snapshot.index;
}

export function lastTerm(st: NodeState): number {
  return st.log.length > 0 ? st.log[st.log.length - 1]!.term : st.snapshot.term;
}

/** term of the entry at index i; undefined when compacted away or beyond the log */
export function termAt(st: NodeState, i: number): number | undefined {
  if (i === st.snapshot.index) return st.snapshot.term;
  if (i < st.snapshot.index) return undefined;
  return st.log[i - st.snapshot.index - 1]?.term;
}

function entryAt(st: NodeState, i: number): Entry | undefined {
  return st.log[i - st.snapshot.index - 1];
}

/** Membership takes effect when appended (thesis §4.1): the latest voters entry in the log wins. */
export function currentVoters(st: NodeState): NodeName[] {
  if (st.memo.voters) return st.memo.voters;
  let v = st.snapshot.state.voters;
  for (let i = st.log.length - 1; i >= 0; i--) {
    const c = st.log[i]!.cmd;
    if (c.type === 'voters') {
      v = c.voters;
      break;
    }
  }
  return (st.memo.voters = v);
}

function votesOf(st: NodeState, name: NodeName): number {
  return st.config.nodes.find((n) => n.name === name)?.votes ?? 1;
}

export function quorumSpec(st: NodeState): QuorumSpec {
  if (st.memo.spec) return st.memo.spec;
  const voters = currentVoters(st).map((name) => ({ name, votes: votesOf(st, name) }));
  if (st.config.witness && st.config.quorumMode === 'witness') voters.push({ name: st.config.witness.name, votes: 1 });
  return (st.memo.spec = { mode: st.config.quorumMode, voters, excluded: st.excluded });
}

/** Everybody this node talks to: voters, configured nodes (learners) and the witness. */
function peers(st: NodeState): NodeName[] {
  if (st.memo.peers) return st.memo.peers;
  const s = new Set<NodeName>(hostNodes(st));
  if (st.config.witness) s.add(st.config.witness.name);
  s.delete(st.self);
  return (st.memo.peers = [...s].sort());
}

/** Nodes that may host resources (not the witness), including removed ones still holding some. */
function hostNodes(st: NodeState): NodeName[] {
  if (st.memo.hosts) return st.memo.hosts;
  const s = new Set<NodeName>(currentVoters(st));
  for (const n of st.config.nodes) s.add(n.name);
  for (const p of Object.values(st.cluster.placements)) s.add(p.node);
  for (const r of Object.values(st.cluster.released)) s.add(r.from);
  if (st.config.witness) s.delete(st.config.witness.name);
  return (st.memo.hosts = [...s].sort());
}

function logUpToDate(st: NodeState, lastLogTerm: number, lastLogIndex: number): boolean {
  const myTerm = lastTerm(st);
  return lastLogTerm > myTerm || (lastLogTerm === myTerm && lastLogIndex >= lastIndex(st));
}

function durable(st: NodeState): Durable {
  return { term: st.term, votedFor: st.votedFor, snapshot: st.snapshot, entries: [...st.log] };
}

/** Effects collector: persistence is hoisted to the front (types.ts rule 1). */
class Out {
  persist = false;
  effects: Effect[] = [];
  commitAdvanced = false;
  constructor(private readonly st: NodeState) {}
  send(to: NodeName, msg: Message) {
    this.effects.push({ type: 'send', to, msg });
  }
  trace(event: string, cause: string, from?: string, to?: string) {
    const e: Effect = { type: 'trace', node: this.st.self, term: this.st.term, event, cause };
    if (from !== undefined) e.from = from;
    if (to !== undefined) e.to = to;
    this.effects.push(e);
  }
  finish(): Effect[] {
    if (!this.persist) return this.effects;
    return [{ type: 'persist', durable: durable(this.st) }, ...this.effects];
  }
}

// ---- the step ------------------------------------------------------------------------------------

export function step(st: NodeState, input: Input): StepResult {
  const out = new Out(st);
  const now = input.now;
  switch (input.type) {
    case 'tick':
      tick(st, out, now);
      break;
    case 'message':
      st.heard.set(input.from, now);
      st.agentDownAt.delete(input.from);
      st.crashGraceRefused.delete(input.from);
      if (st.fencedConfirmed.has(input.from)) st.fencedConfirmed.delete(input.from);
      onMessage(st, out, input.from, input.msg, now);
      break;
    case 'command':
      propose(st, out, [input.cmd], now);
      break;
    case 'resourceStarted':
      if (st.local.get(input.resource) === 'starting') st.local.set(input.resource, 'started');
      break;
    case 'resourceStopped':
      st.local.delete(input.resource);
      break;
    case 'resourceFailed':
      st.local.delete(input.resource);
      st.localFailures[input.resource] = (st.localFailures[input.resource] ?? 0) + 1;
      out.trace('resource-failed', input.resource);
      break;
    case 'fenceResult':
      onFenceResult(st, out, input.target, input.requestId, input.ok, now);
      break;
    case 'peerAgentDown':
      onPeerAgentDown(st, out, input.node, Math.min(input.seenAt, now), now);
      break;
    case 'gracefulStop':
      gracefulStop(st, out, now);
      break;
    case 'configChanged':
      st.config = input.config;
      touch(st);
      out.trace('config-changed', 'new compiled configuration');
      break;
  }
  if (out.commitAdvanced && st.role === 'leader') broadcastAppend(st, out, now);
  maintainLease(st, out, now);
  reconcileResources(st, out, now);
  return { state: st, effects: out.finish() };
}

// ---- roles ---------------------------------------------------------------------------------------

function becomeFollower(st: NodeState, out: Out, term: number, leader: NodeName | null, now: number, cause: string) {
  const wasLeader = st.role === 'leader';
  const from = st.role;
  if (term > st.term) {
    st.term = term;
    st.votedFor = null;
    out.persist = true;
  }
  st.role = 'follower';
  st.leader = leader;
  st.votes = new Set();
  st.electionDeadline = now + randomElectionTimeout(st);
  if (wasLeader) out.effects.push({ type: 'lostCoordinator', term: st.term, cause });
  if (from !== 'follower') out.trace('role', cause, from, 'follower');
}

function canCampaign(st: NodeState): boolean {
  if (st.isWitness || st.stopping) return false; // the witness votes and hosts nothing; it never leads
  if (!currentVoters(st).includes(st.self)) return false;
  return true;
}

function startPreVote(st: NodeState, out: Out, now: number) {
  st.role = 'precandidate';
  st.leader = null;
  st.votes = new Set([st.self]);
  st.electionDeadline = now + randomElectionTimeout(st);
  out.trace('role', 'election timeout', 'follower', 'precandidate');
  if (hasQuorum(quorumSpec(st), st.votes)) {
    becomeCandidate(st, out, now);
    return;
  }
  const msg: PreVoteRequest = { type: 'PreVoteRequest', term: st.term + 1, lastLogIndex: lastIndex(st), lastLogTerm: lastTerm(st) };
  for (const p of quorumSpec(st).voters) if (p.name !== st.self) out.send(p.name, msg);
}

function becomeCandidate(st: NodeState, out: Out, now: number) {
  st.term += 1;
  st.votedFor = st.self;
  out.persist = true;
  st.role = 'candidate';
  st.votes = new Set([st.self]);
  st.electionDeadline = now + randomElectionTimeout(st);
  out.trace('role', 'pre-vote won', 'precandidate', 'candidate');
  if (hasQuorum(quorumSpec(st), st.votes)) {
    becomeLeader(st, out, now);
    return;
  }
  const msg: VoteRequest = { type: 'VoteRequest', term: st.term, lastLogIndex: lastIndex(st), lastLogTerm: lastTerm(st) };
  for (const p of quorumSpec(st).voters) if (p.name !== st.self) out.send(p.name, msg);
}

function becomeLeader(st: NodeState, out: Out, now: number) {
  st.role = 'leader';
  st.leader = st.self;
  st.leaderSince = now;
  st.next = new Map();
  st.match = new Map();
  st.acked = new Map();
  st.echoes = new Map();
  st.grantExpiry = new Map();
  st.reports = new Map();
  st.fencing = new Map();
  for (const p of peers(st)) {
    st.next.set(p, lastIndex(st) + 1);
    // followers talked to the old leader, not to us: give them a failure timeout to answer; the
    // old leader itself is judged on when we last heard it
    if (p !== st.lastKnownLeader) st.heard.set(p, Math.max(st.heard.get(p) ?? -Infinity, now));
  }
  if (st.config.quorumMode === 'two_node' && st.votes.size >= 2) st.quorumReady = true;
  out.trace('role', 'won election', 'candidate', 'leader');
  out.effects.push({ type: 'becameCoordinator', term: st.term });
  // A "node down" proposed in an older term and not known committed may have been overtaken:
  // the node may have rebooted and been granted a lease by a later coordinator since. It will be
  // committed with our noop, so follow it with "node up": the node's placements are still taken
  // off it, but nothing moves before the node itself reports it stopped them (or a new fence).
  const stale = new Set<NodeName>();
  for (const e of st.log) {
    if (e.index > st.commitIndex && e.cmd.type === 'nodeDown' && e.term < st.term) stale.add(e.cmd.node);
  }
  const cmds: Command[] = [{ type: 'noop' }];
  for (const n of [...stale].sort()) cmds.push({ type: 'nodeUp', node: n });
  if (stale.size > 0) out.trace('recover', `older-term node-down for ${[...stale].join(',')} neutralised by node-up`);
  appendEntries(st, out, cmds);
  st.leaderStartIndex = lastIndex(st);
  broadcastAppend(st, out, now);
  maybeCommit(st, out, now);
}

// ---- messages ------------------------------------------------------------------------------------

function onMessage(st: NodeState, out: Out, from: NodeName, msg: Message, now: number) {
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

/** Leader stickiness (thesis §4.2.3): recently heard a leader, or am one. */
function heardLeaderRecently(st: NodeState, now: number): boolean {
  if (st.role === 'leader') return true;
  return now - st.lastHeardLeaderAt < st.config.timing.electionTimeoutMs;
}

function onPreVoteRequest(st: NodeState, out: Out, from: NodeName, m: PreVoteRequest, now: number) {
  if (m.term <= st.term) {
    out.send(from, { type: 'PreVoteResponse', term: st.term, granted: false });
    return;
  }
  let granted = !heardLeaderRecently(st, now) && logUpToDate(st, m.lastLogTerm, m.lastLogIndex);
  if (granted && st.role === 'precandidate') {
    // Simultaneous pre-candidates (two nodes alone time out together and would split the vote
    // forever): the lower name wins unless its log is behind. Pre-votes change no durable state,
    // so this tie-break only affects liveness.
    const theirsNewer = m.lastLogTerm > lastTerm(st) || (m.lastLogTerm === lastTerm(st) && m.lastLogIndex > lastIndex(st));
    if (st.self < from && !theirsNewer) granted = false;
    else {
      st.role = 'follower';
      st.votes = new Set();
      st.electionDeadline = now + randomElectionTimeout(st);
      out.trace('role', `yields to pre-candidate ${from}`, 'precandidate', 'follower');
    }
  }
  out.send(from, { type: 'PreVoteResponse', term: granted ? m.term : st.term, granted });
}

function onPreVoteResponse(st: NodeState, out: Out, from: NodeName, m: PreVoteResponse, now: number) {
  if (st.role !== 'precandidate') return;
  if (!m.granted) {
    if (m.term > st.term) becomeFollower(st, out, m.term, null, now, `pre-vote refused by ${from} at a higher term`);
    return;
  }
  if (m.term !== st.term + 1) return;
  st.votes.add(from);
  if (hasQuorum(quorumSpec(st), st.votes)) becomeCandidate(st, out, now);
}

function onVoteRequest(st: NodeState, out: Out, from: NodeName, m: VoteRequest, now: number) {
  if (m.term < st.term) {
    out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
    return;
  }
  if (m.term > st.term) {
    // Leader stickiness: do not even adopt the term while a leader is alive (leader leases rely on it).
    if (heardLeaderRecently(st, now)) {
      out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
      return;
    }
    becomeFollower(st, out, m.term, null, now, `vote request from ${from} at a higher term`);
  }
  const free = st.votedFor === null || st.votedFor === from;
  if (free && logUpToDate(st, m.lastLogTerm, m.lastLogIndex)) {
    st.votedFor = from;
    out.persist = true; // the vote is on disk before the grant leaves (rule 1)
    st.electionDeadline = now + randomElectionTimeout(st);
    out.trace('vote', `granted to ${from}`);
    out.send(from, { type: 'VoteResponse', term: st.term, granted: true });
  } else {
    out.send(from, { type: 'VoteResponse', term: st.term, granted: false });
  }
}

function onVoteResponse(st: NodeState, out: Out, from: NodeName, m: VoteResponse, now: number) {
  if (m.term > st.term) {
    becomeFollower(st, out, m.term, null, now, `vote refused by ${from} at a higher term`);
    return;
  }
  if (st.role !== 'candidate' || !m.granted) return;
  // A grant counts only for the term it answers (Raft §5.2); the unsafe switch drops this check.
  if (m.term !== st.term && !st.opts.unsafe.acceptStaleVotes) return;
  st.votes.add(from);
  if (hasQuorum(quorumSpec(st), st.votes)) becomeLeader(st, out, now);
}

function selfReport(st: NodeState): NodeReport {
  return { applied: st.applied, active: [...st.local.keys()].sort(), failures: { ...st.localFailures } };
}

function respond(st: NodeState, out: Out, to: NodeName, success: boolean, matchIndex: number, echo: number, now: number) {
  const r: AppendEntriesResponse = {
    type: 'AppendEntriesResponse',
    term: st.term,
    success,
    matchIndex,
    echo,
    nodeTime: now,
    incarnation: st.incarnation,
    report: st.isWitness ? null : selfReport(st),
  };
  out.send(to, r);
}

/** Common to AppendEntries and InstallSnapshot: a current leader speaks. */
function acceptLeader(st: NodeState, out: Out, from: NodeName, term: number, now: number): boolean {
  if (term < st.term) return false;
  if (term > st.term || st.role !== 'follower' || st.leader !== from) {
    becomeFollower(st, out, term, from, now, `append from leader ${from}`);
  }
  st.leader = from;
  st.lastKnownLeader = from;
  st.lastHeardLeaderAt = now;
  st.electionDeadline = now + randomElectionTimeout(st);
  return true;
}

function onAppendEntries(st: NodeState, out: Out, from: NodeName, m: AppendEntries, now: number) {
  if (!acceptLeader(st, out, from, m.term, now)) {
    respond(st, out, from, false, 0, m.sentAt, now);
    return;
  }
  let prev = m.prevLogIndex;
  let prevTerm = m.prevLogTerm;
  let entries = m.entries;
  if (prev < st.snapshot.index) {
    // everything up to our snapshot is committed, hence identical: skip it
    entries = entries.filter((e) => e.index > st.snapshot.index);
    if (entries.length === 0 && prev + m.entries.length <= st.snapshot.index) {
      respond(st, out, from, true, st.snapshot.index, m.sentAt, now);
      return;
    }
    prev = st.snapshot.index;
    prevTerm = st.snapshot.term;
  }
  if (prev > lastIndex(st)) {
    respond(st, out, from, false, lastIndex(st), m.sentAt, now);
    return;
  }
  if (termAt(st, prev) !== prevTerm) {
    respond(st, out, from, false, Math.max(st.commitIndex, prev - 1), m.sentAt, now);
    return;
  }
  for (const e of entries) {
    const t = termAt(st, e.index);
    if (t === e.term) continue;
    if (t !== undefined) {
      // conflicting suffix: drop it (never a committed entry, by Log Matching + Leader Completeness)
      st.log = st.log.slice(0, e.index - st.snapshot.index - 1);
    }
    st.log.push(e);
    out.persist = true;
    touch(st);
  }
  const newLast = prev + entries.length;
  const commit = Math.min(m.leaderCommit, newLast);
  if (commit > st.commitIndex) {
    st.commitIndex = commit;
    applyCommitted(st, out, now);
  }
  if (m.peerIncluded) st.quorumReady = true;
  if (m.lease && m.lease.incarnation === st.incarnation && st.commitIndex >= m.leaderCommit && !st.isWitness) {
    renewLease(st, out, m.lease.at + st.config.timing.leaseMs);
  }
  respond(st, out, from, true, newLast, m.sentAt, now);
}

function onInstallSnapshot(st: NodeState, out: Out, from: NodeName, m: InstallSnapshot, now: number) {
  if (!acceptLeader(st, out, from, m.term, now)) {
    respond(st, out, from, false, 0, m.sentAt, now);
    return;
  }
  const snap = m.snapshot;
  if (snap.index > st.commitIndex) {
    if (termAt(st, snap.index) === snap.term) st.log = st.log.filter((e) => e.index > snap.index);
    else st.log = [];
    st.snapshot = snap;
    st.cluster = cloneClusterState(snap.state);
    st.commitIndex = snap.index;
    st.applied = snap.index;
    out.persist = true;
    touch(st);
    out.trace('snapshot-installed', `index ${snap.index} from ${from}`);
  }
  respond(st, out, from, true, Math.max(snap.index, Math.min(st.commitIndex, lastIndex(st))), m.sentAt, now);
}

function onAppendResponse(st: NodeState, out: Out, from: NodeName, m: AppendEntriesResponse, now: number) {
  if (m.term > st.term) {
    becomeFollower(st, out, m.term, null, now, `${from} is at a higher term`);
    return;
  }
  if (st.role !== 'leader' || m.term !== st.term) return;
  st.acked.set(from, Math.max(st.acked.get(from) ?? -Infinity, m.echo));
  const prevEcho = st.echoes.get(from);
  if (!prevEcho || prevEcho.incarnation !== m.incarnation || m.nodeTime > prevEcho.at) {
    st.echoes.set(from, { at: m.nodeTime, incarnation: m.incarnation, receivedAt: now });
  }
  if (m.report) {
    const prev = st.reports.get(from);
    if (!prev || prev.incarnation !== m.incarnation || m.report.applied >= prev.report.applied) {
      st.reports.set(from, { report: m.report, incarnation: m.incarnation, at: now });
    }
  }
  if (m.success) {
    const match = Math.max(st.match.get(from) ?? 0, m.matchIndex);
    st.match.set(from, match);
    st.next.set(from, Math.max(st.next.get(from) ?? 1, match + 1));
    if (st.excluded.has(from) && match >= st.commitIndex) {
      // two_node: the fenced peer is back and caught up; count it in the quorum again
      st.excluded.delete(from);
      out.trace('quorum', `${from} caught up: counted in the quorum again`);
    }
    maybeCommit(st, out, now);
    if ((st.next.get(from) ?? 1) <= lastIndex(st)) sendAppend(st, out, from, now);
  } else {
    st.next.set(from, Math.max(1, Math.min((st.next.get(from) ?? 1) - 1, m.matchIndex + 1)));
    sendAppend(st, out, from, now);
  }
}

// ---- replication ---------------------------------------------------------------------------------

function appendEntries(st: NodeState, out: Out, cmds: Command[]) {
  let i = lastIndex(st);
  for (const cmd of cmds) st.log.push({ index: ++i, term: st.term, cmd });
  out.persist = true;
  touch(st);
}

function propose(st: NodeState, out: Out, cmds: Command[], now: number) {
  if (st.role === 'leader') {
    appendEntries(st, out, cmds);
    maybeCommit(st, out, now);
    broadcastAppend(st, out, now);
  } else if (st.leader !== null) {
    out.send(st.leader, { type: 'Propose', term: st.term, cmds });
  } else {
    out.trace('command-dropped', `no coordinator known for ${cmds.map((c) => c.type).join(',')}`);
  }
}

/** Leader lease: the sentAt acknowledged by a quorum (own clock), or -Infinity. */
function quorumAckedAt(st: NodeState, now: number): number {
  return quorumIndexOf(quorumSpec(st), (name) => (name === st.self ? now : (st.acked.get(name) ?? -Infinity)), -Infinity);
}

function leaderLeaseUntil(st: NodeState, now: number): number {
  const at = quorumAckedAt(st, now);
  return at + st.config.timing.electionTimeoutMs * (1 - drift(st)) - 1;
}

/**
 * No lease for a node that is being fenced, was fenced, or is declared down anywhere in our log
 * (committed or not) without a later nodeUp: whatever it was running must be released first, and a
 * node that rebooted must not act on placements that predate its fencing.
 */
function mayGrantLease(st: NodeState, to: NodeName): boolean {
  if (st.role !== 'leader') return false;
  if (to === st.config.witness?.name) return false;
  // Until our first entry commits, our commit index may lag what is really committed (we may have
  // restarted): a node caught up to it could still act on placements that were since replaced.
  if (st.commitIndex < st.leaderStartIndex) return false;
  if (st.fencing.get(to)?.inflight || st.fencedConfirmed.has(to)) return false;
  for (let i = st.log.length - 1; i >= 0; i--) {
    const c = st.log[i]!.cmd;
    if (c.type === 'nodeDown' && c.node === to) return false;
    if (c.type === 'nodeUp' && c.node === to) return true;
  }
  return !st.snapshot.state.down[to];
}

function sendAppend(st: NodeState, out: Out, to: NodeName, now: number, leaseUntil = leaderLeaseUntil(st, now)) {
  const next = st.next.get(to) ?? lastIndex(st) + 1;
  if (next <= st.snapshot.index) {
    const m: InstallSnapshot = { type: 'InstallSnapshot', term: st.term, snapshot: st.snapshot, sentAt: now };
    out.send(to, m);
    return;
  }
  const prev = next - 1;
  const entries = st.log.slice(next - st.snapshot.index - 1, next - st.snapshot.index - 1 + MAX_BATCH);
  let lease: AppendEntries['lease'] = null;
  const echo = st.echoes.get(to);
  if (echo && now < leaseUntil && mayGrantLease(st, to)) {
    lease = { at: echo.at, incarnation: echo.incarnation };
    // on our clock, the lease that this grant extends surely ends by then
    const bound = echo.receivedAt + Math.ceil(st.config.timing.leaseMs * (1 + drift(st))) + 1;
    st.grantExpiry.set(to, Math.max(st.grantExpiry.get(to) ?? 0, bound));
  }
  const m: AppendEntries = {
    type: 'AppendEntries',
    term: st.term,
    prevLogIndex: prev,
    prevLogTerm: termAt(st, prev) ?? 0,
    entries,
    leaderCommit: st.commitIndex,
    sentAt: now,
    lease,
    peerIncluded: st.config.quorumMode === 'two_node' && !st.excluded.has(to),
  };
  out.send(to, m);
}

function broadcastAppend(st: NodeState, out: Out, now: number) {
  const leaseUntil = leaderLeaseUntil(st, now);
  for (const p of peers(st)) sendAppend(st, out, p, now, leaseUntil);
  st.nextHeartbeatAt = now + st.config.timing.heartbeatIntervalMs;
  out.commitAdvanced = false;
}

function maybeCommit(st: NodeState, out: Out, now: number) {
  if (st.role !== 'leader') return;
  const last = lastIndex(st);
  const n = quorumIndexOf(quorumSpec(st), (name) => (name === st.self ? last : (st.match.get(name) ?? 0)), 0);
  // only entries of the current term are committed by counting (Raft §5.4.2)
  if (n > st.commitIndex && termAt(st, n) === st.term) {
    st.commitIndex = n;
    out.commitAdvanced = true;
    applyCommitted(st, out, now);
  }
}

function applyCommitted(st: NodeState, out: Out, now: number) {
  while (st.applied < st.commitIndex) {
    const i = st.applied + 1;
    const e = entryAt(st, i);
    if (!e) break;
    applyCommand(st.cluster, e.cmd, i);
    st.applied = i;
    if (e.cmd.type === 'restarting' && e.cmd.node !== st.self) {
      // the grace runs from when THIS node learned it was committed, on its own clock
      st.graceStart.set(e.cmd.node, { index: i, at: now });
      out.trace('restart-grace', `agent restarting, grace ${e.cmd.graceMs} ms`, undefined, e.cmd.node);
    }
    touch(st);
    if (e.cmd.type === 'voters' && st.role === 'leader' && !e.cmd.voters.includes(st.self)) {
      out.trace('membership', 'removed from the voters: stepping down');
      st.role = 'follower';
      st.leader = null;
      out.effects.push({ type: 'lostCoordinator', term: st.term, cause: 'removed from the voters' });
    }
  }
  if (st.applied - st.snapshot.index >= st.opts.snapshotEvery) {
    const t = termAt(st, st.applied) ?? st.snapshot.term;
    st.snapshot = { index: st.applied, term: t, state: cloneClusterState(st.cluster) };
    st.log = st.log.filter((e) => e.index > st.applied);
    out.persist = true;
    touch(st);
  }
}

// ---- ticks: elections, heartbeats, failure detection, coordination ------------------------------

function tick(st: NodeState, out: Out, now: number) {
  st.tickedAt = now;
  st.tickedAtCommit = st.commitIndex;
  if (st.role === 'leader') {
    const t = st.config.timing;
    // check-quorum: without a quorum's acknowledgements within the leader lease, step down
    if (now - st.leaderSince > t.electionTimeoutMs && now >= leaderLeaseUntil(st, now)) {
      becomeFollower(st, out, st.term, null, now, 'check-quorum: lost contact with a quorum');
    } else {
      if (now >= st.nextHeartbeatAt) broadcastAppend(st, out, now);
      coordinate(st, out, now);
    }
  } else if (now >= st.electionDeadline && canCampaign(st)) {
    if (st.role === 'candidate' || st.role === 'precandidate') st.role = 'follower';
    startPreVote(st, out, now);
  }
  if (st.config.quorumMode === 'two_node') tickTwoNode(st, out, now);
  probeSilentPeers(st, out, now);
}

/** The tick pace while anything is unsettled (nextTickAt): half a heartbeat, at least 10 ms. */
export function unsettledTickMs(timing: CompiledConfig['timing']): number {
  return Math.max(10, Math.floor(timing.heartbeatIntervalMs / 2));
}

/**
 * When this node next needs a `tick` input, on its own clock. The agent arms its one timer for it
 * and the simulator schedules ticks by it, so what the simulator verifies is the schedule the
 * agent runs.
 *
 * Half a heartbeat after the last tick while anything is unsettled (the pace every timer-driven
 * rule was designed for, and the simulator's before this schedule):
 * a peer silent for more than 1.5 heartbeats, no coordinator, an election, a fence in progress, a
 * proposal not yet committed or a commit the coordinator has not acted on. In a steady cluster
 * ticks decide nothing but a few deadlines, and only those are scheduled: the coordinator's next
 * heartbeat, a follower's election deadline and the point where its coordinator has been silent
 * long enough to count as unsettled, and the lease's no-quorum margin and end. Messages step the
 * core in between as always. Every silence-driven rule (probe after more than 2 heartbeats,
 * failure after failureTimeoutMs, election) needs more than 2 heartbeats of silence; the
 * half-heartbeat pace resumes after 1.5 on a coordinator and 2.5 on a follower, so the first tick
 * that can act on each rule comes as with fixed ticks (a silent coordinator is probed at 2.5
 * heartbeats either way). An idle member then wakes only for its coordinator's heartbeats instead
 * of every half heartbeat as well. Why 2.5 and not 1.5 on a follower: its deadline moves with
 * every heartbeat, and a runtime timer moved later still wakes the process at the old deadline
 * (Node never moves its libuv timer later), so the deadline's distance sets how often an idle
 * member wakes for nothing: after every heartbeat at 1.5, after every second one at 2.5.
 */
export function nextTickAt(st: NodeState, now: number): number {
  const hb = st.config.timing.heartbeatIntervalMs;
  // anchored at the last tick: messages stepping the core in between do not postpone it
  const fine = Math.max(now, st.tickedAt + unsettledTickMs(st.config.timing));
  const quiet = Math.floor((hb * 3) / 2);
  const followerQuiet = Math.floor((hb * 5) / 2);
  if (st.stopping || st.fencing.size > 0) return fine;
  let next: number;
  if (st.role === 'leader') {
    if (st.commitIndex < st.leaderStartIndex || lastIndex(st) > st.commitIndex || st.commitIndex > st.tickedAtCommit) return fine;
    for (const p of peers(st)) {
      if (st.cluster.down[p] || st.excluded.has(p)) continue;
      const h = st.heard.get(p);
      if (h === undefined || now - h >= quiet) return fine;
    }
    if (st.nextHeartbeatAt <= now) return now; // due: a message step ran just before its timer
    next = st.nextHeartbeatAt;
  } else if (st.role === 'follower' && st.leader !== null && now - st.lastHeardLeaderAt < followerQuiet) {
    next = st.lastHeardLeaderAt + followerQuiet;
    // a deadline already past that a tick did not act on (no campaign allowed yet) is no reason to
    // tick at once again; it is looked at with the next tick
    if (st.electionDeadline > now) next = Math.min(next, st.electionDeadline);
  } else {
    return fine;
  }
  if (!st.isWitness) {
    for (const d of [st.leaseUntil - policyMargin(st), st.leaseUntil]) if (d > now) next = Math.min(next, d);
  }
  return next > now ? next : fine;
}

function peerLost(st: NodeState, p: NodeName, now: number): boolean {
  if (p === st.self || inRestartGrace(st, p, now)) return false;
  const since = Math.max(st.heard.get(p) ?? st.startedAt, st.startedAt);
  return now - since >= st.config.timing.failureTimeoutMs;
}

/** two_node: the survivor must fence its peer to keep (or gain) quorum alone — the fence race. */
function tickTwoNode(st: NodeState, out: Out, now: number) {
  if (st.isWitness || !st.quorumReady) return; // wait-for-all: never act alone before seeing the peer
  for (const p of hostNodes(st)) {
    if (p === st.self || st.excluded.has(p)) continue;
    if (!peerLost(st, p, now)) {
      st.fencing.delete(p);
      continue;
    }
    const preferred = st.role === 'leader' || (st.leader === null && st.self < p);
    ensureFence(st, out, p, now, preferred ? 0 : st.config.timing.fenceRaceDelayMs);
  }
}

// ---- graceful agent restart ------------------------------------------------------------------------
//
// The agent announces `restarting` before it exits (SIGTERM); once committed, the coordinator
// treats the silent node as alive for the grace: no fence, no nodeDown, no move. Safety does not
// depend on it: the node gets no lease while silent (no echo, no grant), so nothing new starts
// there, and nothing it holds starts elsewhere before a fence confirmation or lease + drift +
// watchdog, exactly as without the grace — the grace only delays that recovery.

function gracefulStop(st: NodeState, out: Out, now: number) {
  if (st.stopping) return;
  st.stopping = true;
  const graceMs = restartGraceMs(st);
  if (st.isWitness || graceMs === 0) {
    out.trace('graceful-stop', 'no restart grace (witness, or restartGraceMs 0)');
    return;
  }
  out.trace('graceful-stop', `announcing a restart, grace ${graceMs} ms`);
  propose(st, out, [{ type: 'restarting', node: st.self, incarnation: st.incarnation, graceMs }], now);
}

function restartGraceMs(st: NodeState): number {
  return st.config.timing.restartGraceMs ?? DEFAULT_TIMING.restartGraceMs;
}

/** Whether this incarnation's `restarting` entry is committed and applied here (the runtime may exit). */
export function restartAnnounced(st: NodeState): boolean {
  return st.cluster.restarting?.[st.self]?.incarnation === st.incarnation;
}

/** The coordinator heard from a new incarnation of p since p announced its restart. */
function restartedSince(st: NodeState, p: NodeName): boolean {
  const rec = st.cluster.restarting?.[p];
  const rep = st.reports.get(p);
  return rec !== undefined && rep !== undefined && rep.incarnation !== rec.incarnation;
}

/**
 * A committed, unexpired restart grace for p: measured from when this node applied it, bounded by
 * the configured restartGraceMs, stretched by the drift bound (waiting longer is the safe side: the
 * grace only ever delays recovery). Ends as soon as p's next incarnation is heard.
 */
function inRestartGrace(st: NodeState, p: NodeName, now: number): boolean {
  return restartGrace(st, p, now) !== null;
}

/** p's unexpired restart grace as this node counts it (see inRestartGrace), for status displays. */
export function restartGrace(st: NodeState, p: NodeName, now: number): { cause: 'restart' | 'crash'; remainingMs: number } | null {
  // two_node: the survivor has no quorum without its peer anyway; keep the fence race as it was
  if (st.config.quorumMode === 'two_node') return null;
  const rec = st.cluster.restarting?.[p];
  if (!rec || st.cluster.down[p]) return null;
  const g = st.graceStart.get(p);
  if (!g || g.index !== rec.index || restartedSince(st, p)) return null;
  const bound = Math.min(rec.graceMs, rec.cause === 'crash' ? crashGraceMs(st) : restartGraceMs(st));
  const remainingMs = g.at + Math.ceil(bound * (1 + drift(st))) - now;
  return remainingMs > 0 ? { cause: rec.cause === 'crash' ? 'crash' : 'restart', remainingMs } : null;
}

// ---- agent crash on a live host (peerAgentDown evidence) -------------------------------------------
//
// A silent peer is probed (probePeer effect → a plain TCP connect by the runtime) from two heartbeats
// of silence on, once per heartbeat: by the coordinator, any member; by a member, only the coordinator
// it last followed (members do not hear each other). A refused connect (RST from the peer's kernel) proves the host
// and the path are up and only the agent is gone; a powered-off host, a kernel panic or a cut link
// never answer, so they are handled exactly as before. On fresh evidence the coordinator proposes a
// `restarting` entry on the peer's behalf (cause 'crash', graceMs = timing.crashGraceMs) instead of
// fencing it; from then on the graceful-restart rules apply unchanged: no lease for the silent node,
// nothing it held starts elsewhere before a fence confirmation or the lease bound — the grace only
// delays recovery. It is given once per record (an expired crash grace, or a graceful one, is not
// renewed: the node is then fenced), and at most once per CRASH_GRACE_WINDOW_MS per node (a crash
// loop whose agent keeps coming back briefly is fenced the second time).

function crashGraceMs(st: NodeState): number {
  return st.config.timing.crashGraceMs ?? DEFAULT_TIMING.crashGraceMs;
}

/** Whether crash evidence is worth gathering at all here. */
function crashGraceEnabled(st: NodeState): boolean {
  return crashGraceMs(st) > 0 && st.config.quorumMode !== 'two_node' && !st.isWitness && !st.stopping;
}

function probeSilentPeers(st: NodeState, out: Out, now: number) {
  if (!crashGraceEnabled(st)) return;
  const hb = st.config.timing.heartbeatIntervalMs;
  for (const p of hostNodes(st)) {
    // Only peers whose silence means something: the coordinator hears every member (each answers
    // its heartbeats); a member hears only the coordinator it follows (or followed, until another
    // one speaks, so that the next coordinator already holds evidence about a crashed one). Members
    // do not talk to each other: probing them would open a connection every heartbeat, forever.
    if (st.role !== 'leader' && p !== st.lastKnownLeader) continue;
    // only peers heard since this start: at a cold start the peers' agents are still coming up
    const heard = st.heard.get(p);
    if (p === st.self || st.cluster.down[p] || heard === undefined) continue;
    const since = Math.max(heard, st.startedAt);
    if (now - since <= 2 * hb) {
      st.probedAt.delete(p);
      continue;
    }
    const last = st.probedAt.get(p);
    if (last !== undefined && now - last < hb) continue;
    st.probedAt.set(p, now);
    out.effects.push({ type: 'probePeer', target: p });
  }
}

function onPeerAgentDown(st: NodeState, out: Out, p: NodeName, seenAt: number, now: number) {
  if (p === st.self || !hostNodes(st).includes(p)) return;
  // the refusal must postdate the last message heard from p (a reordered stale result proves nothing)
  if (seenAt < (st.heard.get(p) ?? -Infinity)) return;
  const first = !st.agentDownAt.has(p);
  st.agentDownAt.set(p, Math.max(seenAt, st.agentDownAt.get(p) ?? -Infinity));
  if (first) out.trace('agent-down-evidence', 'mesh port refused the connection: host up, agent gone', undefined, p);
  if (st.role === 'leader') coordinate(st, out, now);
}

/** Fresh "host alive, agent gone" evidence for p: seen within the failure timeout, after p went silent. */
function agentDownEvidence(st: NodeState, p: NodeName, now: number): boolean {
  const at = st.agentDownAt.get(p);
  if (at === undefined) return false;
  return now - at <= st.config.timing.failureTimeoutMs && at >= (st.heard.get(p) ?? -Infinity);
}

/** An uncommitted crash grace for p in our log: do not fence while it is on its way. */
function crashGracePending(st: NodeState, p: NodeName): boolean {
  for (let i = st.log.length - 1; i >= 0 && st.log[i]!.index > st.commitIndex; i--) {
    const c = st.log[i]!.cmd;
    if (c.type === 'restarting' && c.node === p) return true;
  }
  return false;
}

/**
 * Coordinator, p lost and holding resources: a crash grace instead of a fence? 'propose' (fresh
 * evidence, none given yet), 'wait' (one is being committed), or 'no' (the normal loss handling).
 */
function crashGraceFor(st: NodeState, out: Out, p: NodeName, now: number): 'propose' | 'wait' | 'no' {
  if (!crashGraceEnabled(st)) return 'no';
  if (crashGracePending(st, p)) return 'wait';
  if (!agentDownEvidence(st, p, now)) return 'no';
  let refuse: string | null = null;
  if (st.fencing.get(p)?.inflight) refuse = 'a fence is already in flight';
  else if (st.cluster.restarting?.[p]) refuse = `its ${st.cluster.restarting[p]!.cause === 'crash' ? 'crash' : 'restart'} grace expired without the agent back`;
  else {
    const given = st.crashGraceGiven.get(p);
    if (given !== undefined && now - given < CRASH_GRACE_WINDOW_MS) refuse = `a crash grace was already given ${Math.round(now - given)} ms ago (crash loop)`;
  }
  if (refuse !== null) {
    if (!st.crashGraceRefused.has(p)) {
      st.crashGraceRefused.add(p);
      out.effects.push({ type: 'crashGraceDecision', node: p, decision: 'fence', cause: refuse });
      out.trace('crash-grace', `refused: ${refuse}`, undefined, p);
    }
    return 'no';
  }
  return 'propose';
}

function fenceDeviceFor(st: NodeState, target: NodeName): boolean {
  return st.config.fencing.enabled && st.config.fencing.devices.some((d) => d.hosts.includes(target));
}

function ensureFence(st: NodeState, out: Out, target: NodeName, now: number, delay: number) {
  if (!fenceDeviceFor(st, target) || st.fencedConfirmed.has(target)) return;
  let f = st.fencing.get(target);
  if (!f) {
    f = { requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now + delay, inflight: false };
    st.fencing.set(target, f);
    out.trace('fence-scheduled', delay > 0 ? `fence-race delay ${delay} ms` : 'lost', undefined, target);
  }
  if (!f.inflight && now >= f.notBefore) {
    f.inflight = true;
    out.effects.push({ type: 'fence', target, requestId: f.requestId });
    if (st.opts.unsafe.skipFenceWait) onFenceResult(st, out, target, f.requestId, true, now);
  }
}

function onFenceResult(st: NodeState, out: Out, target: NodeName, requestId: string, ok: boolean, now: number) {
  const f = st.fencing.get(target);
  if (!f || f.requestId !== requestId) return;
  if (!ok) {
    out.trace('fence-failed', `retry in ${FENCE_RETRY_MS} ms`, undefined, target);
    st.fencing.set(target, { requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now + FENCE_RETRY_MS, inflight: false });
    return;
  }
  st.fencing.delete(target);
  st.fencedConfirmed.add(target);
  out.trace('fence-confirmed', 'fence agent confirmed power off', undefined, target);
  if (st.config.quorumMode === 'two_node') st.excluded.add(target);
  if (st.role === 'leader') coordinate(st, out, now);
}

function isOnline(st: NodeState, n: NodeName, now: number): boolean {
  if (st.cluster.down[n]) return false;
  if (n === st.self) return now < st.leaseUntil && !st.leaseGrace;
  if (peerLost(st, n, now)) return false;
  const rep = st.reports.get(n);
  return rep !== undefined && (st.grantExpiry.get(n) ?? 0) > now;
}

function reportOf(st: NodeState, n: NodeName): NodeReport | undefined {
  return n === st.self ? selfReport(st) : st.reports.get(n)?.report;
}

/** The coordinator's job: recover lost nodes, membership, placement. */
function coordinate(st: NodeState, out: Out, now: number) {
  if (st.role !== 'leader' || st.commitIndex < st.leaderStartIndex) return;
  const t = st.config.timing;
  const cmds: Command[] = [];
  const pending = lastIndex(st) > st.commitIndex;

  // 1. lost nodes holding resources: fence, or wait out their lease + drift + watchdog
  for (const p of hostNodes(st)) {
    if (p === st.self || st.cluster.down[p]) continue;
    if (!peerLost(st, p, now)) {
      if (st.config.quorumMode !== 'two_node') st.fencing.delete(p);
      continue;
    }
    const holds =
      Object.values(st.cluster.placements).some((pl) => pl.node === p) ||
      Object.keys(st.cluster.released).some((r) => st.cluster.released[r]!.from === p && !released(st, r));
    if (!holds && st.config.quorumMode !== 'two_node') continue;
    if (st.fencedConfirmed.has(p)) {
      if (!pending) cmds.push({ type: 'nodeDown', node: p, cause: 'fenced', term: st.term });
      continue;
    }
    const grace = crashGraceFor(st, out, p, now);
    if (grace === 'wait') continue;
    if (grace === 'propose') {
      const graceMs = crashGraceMs(st);
      const incarnation = st.reports.get(p)?.incarnation ?? st.echoes.get(p)?.incarnation ?? -1;
      cmds.push({ type: 'restarting', node: p, incarnation, graceMs, cause: 'crash' });
      st.crashGraceGiven.set(p, now);
      st.fencing.delete(p);
      out.effects.push({ type: 'crashGraceDecision', node: p, decision: 'grace', cause: `agent down, host up: grace ${graceMs} ms` });
      continue;
    }
    if (fenceDeviceFor(st, p)) {
      if (st.config.quorumMode !== 'two_node') ensureFence(st, out, p, now, 0);
      continue;
    }
    if (st.config.fencing.watchdog && st.config.noQuorumPolicy !== 'freeze') {
      const rho = drift(st);
      const leaseEnd = Math.max(st.leaderSince + Math.ceil(t.leaseMs * (1 + rho)) + 1, st.grantExpiry.get(p) ?? 0);
      const safeAt = st.opts.unsafe.startBeforeLeaseExpiry ? now : leaseEnd + Math.ceil(t.watchdogMs * (1 + rho)) + 1;
      if (now >= safeAt && !pending) cmds.push({ type: 'nodeDown', node: p, cause: 'lease-expired', term: st.term });
    }
  }
  if (cmds.length > 0) {
    out.trace('recover', cmds.map((c) => (c.type === 'nodeDown' ? `${c.node} ${c.cause}` : c.type === 'restarting' ? `${c.node} crash grace ${c.graceMs} ms` : c.type)).join(', '));
    propose(st, out, cmds, now);
    return;
  }
  if (pending) return;

  // 2. down nodes that came back, and agents back from a graceful restart
  for (const p of Object.keys(st.cluster.down).sort()) {
    if (p === st.self ? st.local.size === 0 : !peerLost(st, p, now) && st.reports.has(p)) cmds.push({ type: 'nodeUp', node: p });
  }
  for (const p of Object.keys(st.cluster.restarting ?? {}).sort()) {
    if (!st.cluster.down[p] && restartedSince(st, p)) cmds.push({ type: 'nodeUp', node: p });
  }
  // failures reported by members
  for (const n of hostNodes(st)) {
    const rep = reportOf(st, n);
    if (!rep) continue;
    for (const [r, c] of Object.entries(rep.failures)) {
      const known = st.cluster.failures.find((f) => f.resource === r && f.node === n)?.count ?? 0;
      if (c > known) cmds.push({ type: 'failure', resource: r, node: n, count: c, at: now });
    }
  }
  if (cmds.length > 0) {
    propose(st, out, cmds, now);
    return;
  }

  // 3. membership from configuration: one node at a time
  const m = membershipChange(st, now);
  if (m) {
    out.trace('membership', `voters → ${m.voters.join(',')}`);
    propose(st, out, [m], now);
    return;
  }

  // 4. placement
  const current = new Map<ResourceId, NodeName>();
  for (const [r, p] of Object.entries(st.cluster.placements)) current.set(r, p.node);
  const desired = st.opts.placer(buildSnapshot(st, now), st.config, current);
  for (const [r, want] of desired) {
    const cur = current.get(r);
    if (cur === want) continue;
    if (cur !== undefined) {
      // Move away only from a holder this coordinator hears from: one it has no report from yet (a
      // fresh coordinator, or the holder's agent restarting) keeps its resources until it reports
      // (stickiness then keeps them) or is lost (recovered through fencing or lease expiry, never bypassed).
      if (!peerLost(st, cur, now) && (cur === st.self || isOnline(st, cur, now))) {
        cmds.push({ type: 'assign', resource: r, node: null });
      }
      continue;
    }
    if (want !== null && released(st, r)) cmds.push({ type: 'assign', resource: r, node: want });
  }
  if (cmds.length > 0) {
    out.trace('place', cmds.map((c) => (c.type === 'assign' ? `${c.resource}→${c.node ?? 'stop'}` : c.type)).join(', '));
    propose(st, out, cmds, now);
  }
}

/** Whether nobody can still be running resource r: its last holder confirmed the stop or is down. */
function released(st: NodeState, r: ResourceId): boolean {
  for (const n of hostNodes(st)) {
    if (st.cluster.down[n]) continue; // powered off or reset: its last report is history
    const rep = reportOf(st, n);
    if (rep && rep.active.includes(r)) return false;
  }
  const rel = st.cluster.released[r];
  if (!rel) return true;
  const down = st.cluster.down[rel.from];
  if (down && down.index >= rel.index) return true;
  const rep = reportOf(st, rel.from);
  return rep !== undefined && rep.applied >= rel.index && !rep.active.includes(r);
}

function membershipChange(st: NodeState, now: number): Extract<Command, { type: 'voters' }> | null {
  const cur = currentVoters(st);
  const want = st.config.nodes.map((n) => n.name).sort();
  for (const n of want) {
    if (cur.includes(n)) continue;
    // add a node only once it is reachable and caught up, so the new quorum can make progress
    if (!peerLost(st, n, now) && (st.match.get(n) ?? 0) >= st.commitIndex) return { type: 'voters', voters: [...cur, n].sort() };
  }
  for (const n of cur) {
    if (!want.includes(n)) return { type: 'voters', voters: cur.filter((x) => x !== n) };
  }
  return null;
}

/** The ClusterSnapshot (src/core/snapshot.ts) the placer / scheduler reads. */
export function buildSnapshot(st: NodeState, now: number): ClusterSnapshot {
  const nodes: NodeSnapshot[] = hostNodes(st).map((name) => {
    const down = st.cluster.down[name];
    const state: NodeSnapshot['state'] = down ? 'offline' : isOnline(st, name, now) ? 'online' : 'unclean';
    return {
      name,
      state,
      // a node removed from the configuration takes nothing new (it is drained, then leaves)
      standby: st.cluster.standby.includes(name) || !st.config.nodes.some((n) => n.name === name),
      maintenance: false,
      attributes: st.config.nodes.find((n) => n.name === name)?.attributes ?? {},
      leaseExpiredAt: down ? null : (st.grantExpiry.get(name) ?? null),
    };
  });
  const observations: ClusterSnapshot['observations'] = [];
  for (const n of hostNodes(st)) {
    const rep = reportOf(st, n);
    if (!rep) continue;
    for (const r of rep.active) observations.push({ resource: r, node: n, role: 'started' });
  }
  return {
    now,
    quorate: st.role === 'leader' && now < leaderLeaseUntil(st, now),
    nodes,
    observations,
    failures: st.cluster.failures.map((f) => ({ resource: f.resource, node: f.node, operation: 'start', count: f.count, lastFailureAt: f.at })),
    bans: st.cluster.bans.map((b) => ({ resource: b.resource, node: b.node, score: -INFINITY })),
    fenced: Object.values(st.cluster.down).filter((d) => d.cause === 'fenced').map((d) => d.node),
  };
}

// ---- leases and resources -----------------------------------------------------------------------

function renewLease(st: NodeState, out: Out, until: number) {
  if (until > st.leaseUntil || st.leaseGrace) {
    st.leaseUntil = Math.max(until, st.leaseGrace ? 0 : st.leaseUntil);
    st.leaseGrace = false;
    st.policyApplied = false;
  }
  void out;
}

function policyMargin(st: NodeState): number {
  return Math.floor(st.config.timing.leaseMs / 4);
}

function maintainLease(st: NodeState, out: Out, now: number) {
  if (st.isWitness) return;
  if (st.role === 'leader' && mayGrantLease(st, st.self)) {
    const base = quorumAckedAt(st, now);
    if (now < base + st.config.timing.electionTimeoutMs * (1 - drift(st)) - 1) renewLease(st, out, base + st.config.timing.leaseMs);
  }
  const holds = now < st.leaseUntil && !st.leaseGrace;
  if (holds !== st.leaseHeld) {
    st.leaseHeld = holds;
    out.effects.push({ type: 'lease', holds, until: st.leaseUntil });
    out.trace('lease', holds ? 'renewed by a quorate coordinator' : 'expired', holds ? 'lost' : 'held', holds ? 'held' : 'lost');
  }
  const policy = st.config.noQuorumPolicy;
  if (st.local.size > 0 && !st.policyApplied && now >= st.leaseUntil - policyMargin(st)) {
    st.policyApplied = true;
    out.effects.push({ type: 'applyNoQuorumPolicy', policy, cause: 'lease about to end without renewal' });
    out.trace('no-quorum-policy', `lease ends at ${st.leaseUntil}`, undefined, policy);
    if (policy === 'fence') out.effects.push({ type: 'selfFence', cause: 'no quorum: lease about to end' });
  }
  if (st.config.fencing.watchdog) {
    const feed = (holds && now < st.leaseUntil) || st.local.size === 0 || policy === 'freeze';
    if (feed) out.effects.push({ type: 'feedWatchdog' });
  }
}

/** Drive the local active set toward the committed placement, within the lease. */
function reconcileResources(st: NodeState, out: Out, now: number) {
  // a gracefully stopping agent leaves its resources running for its next incarnation to re-adopt
  if (st.isWitness || st.stopping) return;
  const wanted = new Set<ResourceId>();
  for (const [r, p] of Object.entries(st.cluster.placements)) if (p.node === st.self) wanted.add(r);
  const policy = st.config.noQuorumPolicy;
  const mayKeep = (now < st.leaseUntil - policyMargin(st)) || policy === 'freeze';
  for (const [r, s] of st.local) {
    if (s === 'stopping') continue;
    if ((!wanted.has(r) && !st.leaseGrace) || (!mayKeep && policy === 'stop')) { // in the startup grace the applied state may be stale: keep re-adopted resources until a lease (or its lack) decides
      st.local.set(r, 'stopping');
      out.effects.push({ type: 'stopResource', resource: r });
    }
  }
  const mayStart = !st.stopping && !st.leaseGrace && now < st.leaseUntil - policyMargin(st) && !st.cluster.down[st.self];
  if (!mayStart) return;
  for (const r of wanted) {
    if (st.local.has(r)) continue;
    const res = st.config.resources[r];
    const threshold = res && res.type === 'primitive' ? res.meta.migrationThreshold : 0;
    if (threshold > 0 && (st.localFailures[r] ?? 0) >= threshold) continue;
    st.local.set(r, 'starting');
    out.effects.push({ type: 'startResource', resource: r });
  }
}

export type { OperatorCommand };
