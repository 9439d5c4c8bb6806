// The state of one node's cluster core, and what every module of the core shares: the effects
// collector, the memo of derived values, and the small derivations (voters, peers, hosts, quorum
// spec) the modules all read.
//
// The core is split as etcd-io/raft splits raft.go, log, tracker and quorum:
//   log.ts          the replicated log and its compaction into snapshots
//   election.ts     pre-vote, vote, roles
//   replication.ts  AppendEntries both ways, commit, apply
//   leases.ts       leader lease, node leases, the no-quorum margin, the watchdog
//   liveness.ts     failure detection, probes, restart and crash graces
//   fencing.ts      fence attempts and their results, the two-node fence race
//   clock.ts        cluster time
//   coordination.ts the coordinator's job: recover lost nodes, readmit, failures, membership,
//                   transitions (the scheduler's plans) and their ends
//   execution.ts    every node's own actions of the committed transition, behind its lease
//   schedule.ts     ticks and when the next one is due
//   status.ts       what `tsha status`, the metrics and the runtime read
//   node.ts         startNode and step: the public entry points

import type { CompiledConfig, NodeName, ResourceId } from '../../config/types.js';
import type { RunState } from '../scheduler/executor.js';
import type { Plan, SchedulerInput } from '../scheduler/types.js';
import type { ActiveRole } from './commands.js';
import type { Entry, FailureEvent, Message, NodeReport, RunReport, Snapshot, WitnessSight } from './messages.js';
import type { QuorumSpec } from './quorum.js';
import type { ClusterState } from './state-machine.js';
import type { Durable, Effect, Role, UnsafeSwitches } from './types.js';
import { primitiveOf } from '../../config/types.js';

/** The scheduler the coordinator plans with: src/core/scheduler's `schedule` (tests may wrap it). */
export type Scheduler = (input: SchedulerInput) => Plan;

export interface NodeOptions {
  /** take a snapshot (and compact the log) every this many applied entries */
  snapshotEvery?: number;
  /** test-only: switch off one safeguard (see UnsafeSwitches) */
  unsafe?: UnsafeSwitches;
  /** the scheduler (default: the production one) */
  scheduler?: Scheduler;
}

export interface PeerReport {
  report: NodeReport;
  incarnation: number;
  at: number;
}

export interface FenceAttempt {
  requestId: string;
  /** not before this time (fence-race delay, retry backoff) */
  notBefore: number;
  inflight: boolean;
  /** off, unless a transition's fence action asks for a reboot (an operator's `tsha fence --action reboot`) */
  action?: 'reboot';
  /** 'lost': the node went silent (cancelled when it is heard again); 'plan': a transition's fence action */
  why: 'lost' | 'plan';
  /** why, in words, for the fence history: the plan action's reason, or that the node is lost */
  reason: string;
}

/** One of this node's runs of a transition (id 0: its own no-quorum stop). */
export interface SliceRun {
  transition: number;
  exec: RunState;
  /** outcomes of this node's own actions, reported until the transition ended here */
  results: RunReport['results'];
  /** the transition's end was applied here (or it is the local run) */
  ended: boolean;
}

/** What only the coordinator keeps; created when it becomes coordinator, dropped when it steps down. */
export interface LeaderState {
  since: number;
  /** the index of its first entry (the noop): until it commits, its commit index may lag */
  startIndex: number;
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
  /** when it last proposed a crash grace for each peer (own clock; crash-loop bound) */
  crashGraceGiven: Map<NodeName, number>;
  /** peers refused a crash grace since last heard (the refusal is reported once) */
  crashGraceRefused: Set<NodeName>;
  /** the last scheduling: what it was computed from, so an unchanged cluster is not scheduled again */
  scheduled: { key: string; config: CompiledConfig; recheckAt: number | null } | null;
  /** the configuration the running transition was planned with (a reload aborts it) */
  plannedWith: CompiledConfig | null;
  /** back-off after transitions that failed: no new one before this time (own clock) */
  retryAt: number;
  /** transitions in a row that ended with a failed action */
  failedInARow: number;
  /** when the running transition last made progress (own clock) */
  progressAt: number;
  /** unfencing of joined nodes (fencing.ts): the attempt per node, and the device(s) once it succeeded */
  unfencing: Map<NodeName, UnfenceAttempt>;
}

export interface UnfenceAttempt {
  requestId: string;
  notBefore: number;
  inflight: boolean;
  /** set when the devices ran `on` successfully: the `unfenced` entry is proposed */
  confirmedBy?: string;
}

export interface NodeState {
  readonly self: NodeName;
  config: CompiledConfig;
  readonly isWitness: boolean;
  readonly opts: { snapshotEvery: number; unsafe: UnsafeSwitches; scheduler: Scheduler };
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
  /** the coordinator's own state, while this node is the coordinator */
  lead: LeaderState | null;
  fencing: Map<NodeName, FenceAttempt>;
  /** peers a fence agent confirmed powered off since we last heard them: the device(s) that did it, and why */
  fencedConfirmed: Map<NodeName, { device: string; reason: string }>;
  /** graceful restarts: when this node applied each peer's committed `restarting` entry (own clock) */
  graceStart: Map<NodeName, { index: number; at: number }>;
  /** crash evidence: when a TCP connect to each peer's mesh port was last refused (own clock) */
  agentDownAt: Map<NodeName, number>;
  /**
   * restart evidence: when a connect to each peer's mesh port was first accepted again after it had
   * been refused (a new agent process listens: it opens the port only after re-adopting what runs
   * there), on this node's clock; void once a later refusal is seen
   */
  agentListeningAt: Map<NodeName, number>;
  /** when this node last asked the runtime to probe each silent peer (own clock) */
  probedAt: Map<NodeName, number>;
  /** the witness: the term of its last message (0: none yet), and when this member last asked it (witness.ts) */
  witnessTerm: number;
  witnessAskedAt: number;
  /** a member: its coordinator's view of the witness, as its last AppendEntries carried it, and when (own clock) */
  coordinatorWitness: { from: NodeName; sight: WitnessSight; at: number } | null;
  /** the last tick: when (own clock), and the commit index then (a commit since makes the next one due soon: nextTickAt) */
  tickedAt: number;
  tickedAtCommit: number;
  /** this agent is stopping gracefully: it starts and stops nothing, and does not campaign */
  stopping: boolean;
  /** while stopping: the coordinator this node's `restarting` entry was last proposed to, and when (own clock) */
  restartProposal: { to: NodeName | null; at: number } | null;
  fenceSeq: number;
  /** cluster time = this node's clock + clockOffset (clock.ts) */
  clockOffset: number;

  // lease and resources
  leaseUntil: number;
  /** the startup grace: existing resources may keep running, nothing may start */
  leaseGrace: boolean;
  leaseHeld: boolean;
  policyApplied: boolean;
  /** what runs here, by resource instance, in which role (anything not surely stopped) */
  local: Map<ResourceId, ActiveRole>;
  /** this node's runs of transitions: the current one, and superseded ones with actions in flight */
  runs: SliceRun[];
  /** the no-quorum stop is not tried again before this time (own clock) */
  policyRetryAt: number;
  /** failures seen outside transitions, not yet counted by the cluster */
  events: FailureEvent[];
  eventSeq: number;

  /** derived values cached until the log, the applied state or the configuration change */
  memo: Memo;

  // two_node
  /** peers confirmed fenced: out of the quorum until they are back and caught up */
  excluded: Set<NodeName>;
  /** wait-for-all done: this node has been counted in a leader's quorum since it started */
  quorumReady: boolean;
}

interface Memo {
  /** config ids (primitives) inside a promotable clone */
  promotable?: Set<ResourceId>;
  /** config ids (primitives) a clone runs copies of */
  cloned?: Set<ResourceId>;
  voters?: NodeName[];
  hosts?: NodeName[];
  peers?: NodeName[];
  spec?: QuorumSpec;
}

/** Call after any change of log, snapshot, applied state or configuration. */
export function touch(st: NodeState): void {
  st.memo = {};
}

/** The config primitives clones run copies of, and those of them in a promotable clone (memoized). */
function cloneChildren(st: NodeState): { cloned: Set<ResourceId>; promotable: Set<ResourceId> } {
  if (st.memo.cloned && st.memo.promotable) return { cloned: st.memo.cloned, promotable: st.memo.promotable };
  const cloned = new Set<ResourceId>();
  const promotable = new Set<ResourceId>();
  for (const r of Object.values(st.config.resources)) {
    if (r.type !== 'clone') continue;
    const child = st.config.resources[r.child];
    for (const id of child?.type === 'group' ? [r.child, ...child.members] : [r.child]) {
      cloned.add(id);
      if (r.promotable) promotable.add(id);
    }
  }
  st.memo.cloned = cloned;
  st.memo.promotable = promotable;
  return { cloned, promotable };
}

/**
 * The clone child's own id when `resource` names a copy of it ("drbd", "drbd:1" → "drbd"), null for
 * a resource outside clones. Copies of an anonymous clone are numbered only so each has a name.
 */
export function clonedBase(st: NodeState, resource: ResourceId): ResourceId | null {
  const base = primitiveOf(resource);
  return cloneChildren(st).cloned.has(base) ? base : null;
}

/** Whether a resource (instance) runs in a promotable clone: a running copy of it is unpromoted, not started. */
export function inPromotable(st: NodeState, resource: ResourceId): boolean {
  const { promotable } = cloneChildren(st);
  return promotable.has(resource) || promotable.has(primitiveOf(resource));
}

export function drift(st: NodeState): number {
  return st.config.timing.maxDriftPpm / 1e6;
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
export function peers(st: NodeState): NodeName[] {
  if (st.memo.peers) return st.memo.peers;
  const s = new Set<NodeName>(hostNodes(st));
  if (st.config.witness) s.add(st.config.witness.name);
  s.delete(st.self);
  return (st.memo.peers = [...s].sort());
}

/** Nodes that may host resources (not the witness), including removed ones still running some. */
export function hostNodes(st: NodeState): NodeName[] {
  if (st.memo.hosts) return st.memo.hosts;
  const s = new Set<NodeName>(currentVoters(st));
  for (const n of st.config.nodes) s.add(n.name);
  for (const n of Object.keys(st.cluster.active)) s.add(n);
  if (st.config.witness) s.delete(st.config.witness.name);
  return (st.memo.hosts = [...s].sort());
}

/** Effects collector: persistence is hoisted to the front (types.ts rule 1). */
export class Out {
  persist = false;
  effects: Effect[] = [];
  commitAdvanced = false;
  constructor(private readonly st: NodeState, private readonly durable: () => Durable) {}
  send(to: NodeName, msg: Message): void {
    this.effects.push({ type: 'send', to, msg });
  }
  trace(event: string, cause: string, from?: string, to?: string): void {
    const e: Effect = { type: 'trace', node: this.st.self, term: this.st.term, event, cause };
    if (from !== undefined) e.from = from;
    if (to !== undefined) e.to = to;
    this.effects.push(e);
  }
  finish(): Effect[] {
    if (!this.persist) return this.effects;
    return [{ type: 'persist', durable: this.durable() }, ...this.effects];
  }
}
