// What the cluster looks like from this node: quorum, each node's state, leases, where each
// resource instance runs and in which role, the transition in progress. The one source for
// `tsha status`, the metrics and the runtime's own checks (is this node quorate, who coordinates),
// so they cannot disagree.
//
// What a node can know: the coordinator hears every member (heartbeat answers); a member hears only
// the coordinator, so for the other members it shows the committed state (online unless recorded
// down); the witness's reachability in the quorum line as unknown, but its own view of the witness
// in witnessViews (witness.ts) with its coordinator's as its heartbeats carry it, where the
// coordinator lists every member's as reported. Where resources run comes from the record (every
// node applies it), this node's own state (fresher for itself) and, on the coordinator, its
// members' reports.

import type { NodeName, QuorumMode, ResourceId } from '../../config/types.js';
import { clusterNow } from './clock.js';
import type { ActiveRole } from './commands.js';
import { buildSnapshot, runsSomething } from './coordination.js';
import { schedule } from '../scheduler/schedule.js';
import { heardRecently, peerLost, restartGrace } from './liveness.js';
import type { WitnessSight } from './messages.js';
import type { NodeState } from './state.js';
import { hostNodes } from './state.js';
import { witnessSight } from './witness.js';

/**
 * A node as `tsha status` shows it: online (heard), offline (recorded down, or lost and running
 * nothing), unclean (lost while it may still run something: it must be fenced), pending (this
 * node cannot tell: it follows no coordinator).
 */
export const NODE_STATUS_STATES = ['online', 'offline', 'unclean', 'pending'] as const;
export type NodeStatusState = (typeof NODE_STATUS_STATES)[number];

export interface CoreNodeStatus {
  name: NodeName;
  state: NodeStatusState;
  standby: boolean;
  maintenance: boolean;
  votes: number;
  /** how long its lease still holds as this node knows it (own: its lease; coordinator: its grant) */
  leaseRemainingMs: number;
  /** an agent restart or crash the coordinator rides out, and for how long more */
  restartGrace: { cause: 'restart' | 'crash'; remainingMs: number } | null;
}

export interface CoreInstanceStatus {
  resource: ResourceId;
  node: NodeName;
  role: ActiveRole | 'starting' | 'stopping';
}

export interface WitnessView {
  node: NodeName;
  /** null: not known here (a member knows only its own view; a member not heard from reports nothing) */
  sight: WitnessSight | null;
  /** how old the report carrying it is (0: this node's own view) */
  reportAgeMs: number;
}

export interface CoreStatus {
  self: NodeName;
  role: NodeState['role'];
  term: number;
  coordinator: NodeName | null;
  commitIndex: number;
  clusterTime: number;
  quorum: {
    quorate: boolean;
    mode: QuorumMode;
    votesHave: number;
    votesNeeded: number;
    votesTotal: number;
    witness: NodeName | null;
    /** null: this node cannot know (only the coordinator hears the witness) */
    witnessReachable: boolean | null;
    /** how each host node sees the witness: this node's own view, on the coordinator its members' reports, on a member its coordinator's */
    witnessViews: WitnessView[];
  };
  lease: { holds: boolean; remainingMs: number };
  nodes: CoreNodeStatus[];
  instances: CoreInstanceStatus[];
  transition: { id: number; outcome: 'running' | 'complete' | 'aborted'; actions: number; done: number; reason: string | null } | null;
}

/** Whether this node sees a quorate partition right now. */
export function isQuorate(st: NodeState, now: number): boolean {
  if (st.isWitness) return st.leader !== null && now - st.lastHeardLeaderAt < st.config.timing.electionTimeoutMs;
  if (st.role === 'leader') return st.leaseHeld || now - (st.lead?.since ?? now) < st.config.timing.electionTimeoutMs;
  return st.leaseHeld && st.leader !== null;
}

export function coordinatorOf(st: NodeState): NodeName | null {
  return st.role === 'leader' ? st.self : st.leader;
}

export function statusOf(st: NodeState, now: number): CoreStatus {
  const c = st.cluster;
  const lead = st.lead;
  const heard = (n: NodeName): boolean => heardRecently(st, n, now);
  const following = st.role !== 'leader' && st.leader !== null && heard(st.leader);
  const votesOf = (n: NodeName): number => st.config.nodes.find((x) => x.name === n)?.votes ?? (st.config.witness?.name === n ? 1 : 0);
  const nodes: CoreNodeStatus[] = hostNodes(st).map((name) => {
    let state: NodeStatusState;
    if (c.down[name]) state = 'offline';
    else if (heard(name)) state = 'online';
    else if (st.role === 'leader') state = peerLost(st, name, now) && !runsSomething(st, name) ? 'offline' : 'unclean';
    else if (following && name !== st.leader) state = 'online';
    else state = 'pending';
    const leaseRemainingMs = name === st.self
      ? Math.max(0, Math.round(st.leaseUntil - now))
      : Math.max(0, Math.round((lead?.grantExpiry.get(name) ?? 0) - now));
    const grace = name === st.self ? null : restartGrace(st, name, now);
    return {
      name, state, standby: c.standby.includes(name), maintenance: c.maintenance.includes(name), votes: votesOf(name),
      leaseRemainingMs, restartGrace: grace && { cause: grace.cause, remainingMs: Math.round(grace.remainingMs) },
    };
  });

  const witness = st.config.witness?.name ?? null;
  const voters = [...c.voters, ...(witness && !c.voters.includes(witness) ? [witness] : [])];
  const votesTotal = voters.reduce((s, n) => s + votesOf(n), 0);
  const witnessReachable = witness === null ? null : st.role === 'leader' || st.isWitness ? heard(witness) || st.isWitness : null;
  const present = (n: NodeName): boolean => (n === witness ? witnessReachable === true : nodes.find((x) => x.name === n)?.state === 'online');
  const votesHave = voters.filter(present).reduce((s, n) => s + votesOf(n), 0);
  const witnessViews = witnessViewsOf(st, now);

  // where each instance runs: the record; this node's own state for itself; the coordinator's
  // reports for its members; a running transition's unfinished starts and stops show as such
  const where = new Map<string, CoreInstanceStatus>();
  const put = (resource: ResourceId, node: NodeName, role: CoreInstanceStatus['role']): void => void where.set(`${resource}\u0000${node}`, { resource, node, role });
  for (const [node, m] of Object.entries(c.active)) if (!c.down[node]) for (const [r, role] of Object.entries(m)) put(r, node, role);
  if (lead) {
    for (const [node, rep] of lead.reports) {
      if (c.down[node] || !heard(node)) continue;
      for (const [k, v] of where) if (v.node === node && !rep.report.active.includes(v.resource)) where.delete(k);
      for (const r of rep.report.active) put(r, node, rep.report.failed.includes(r) ? 'failed' : rep.report.promoted.includes(r) ? 'promoted' : (c.active[node]?.[r] ?? 'started'));
    }
  }
  if (!st.isWitness) {
    for (const [k, v] of where) if (v.node === st.self && !st.local.has(v.resource)) where.delete(k);
    for (const [r, role] of st.local) put(r, st.self, role);
  }
  const tr = c.transition;
  if (tr && tr.outcome === 'running') {
    for (const a of tr.plan.actions) {
      if (a.resource === null || tr.results[a.id] || (a.type !== 'start' && a.type !== 'stop')) continue;
      const cur = where.get(`${a.resource}\u0000${a.node}`);
      if (a.type === 'start' && (!cur || cur.role === 'started')) put(a.resource, a.node, 'starting');
      else if (a.type === 'stop' && cur) put(a.resource, a.node, 'stopping');
    }
  }
  const instances = [...where.values()].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.node < b.node ? -1 : 1));

  return {
    self: st.self,
    role: st.role,
    term: st.term,
    coordinator: coordinatorOf(st),
    commitIndex: st.commitIndex,
    clusterTime: clusterNow(st, now),
    quorum: {
      quorate: isQuorate(st, now), mode: st.config.quorumMode, votesHave,
      votesNeeded: st.config.quorumMode === 'two_node' ? 1 : Math.floor(votesTotal / 2) + 1, votesTotal, witness, witnessReachable, witnessViews,
    },
    lease: { holds: st.leaseHeld, remainingMs: Math.max(0, Math.round(st.leaseUntil - now)) },
    nodes,
    instances,
    transition: tr && {
      id: tr.id, outcome: tr.outcome, actions: tr.plan.actions.length, done: Object.values(tr.results).filter((r) => r.status === 'ok').length, reason: tr.reason,
    },
  };
}

/** Each host node's view of the witness as known here: its own, and the members' last reports on the coordinator. */
function witnessViewsOf(st: NodeState, now: number): WitnessView[] {
  const own = witnessSight(st, now);
  if (own === null) return [];
  const t = st.config.timing;
  return hostNodes(st).filter((n) => !st.cluster.down[n] || n === st.self).map((node): WitnessView => {
    if (node === st.self) return { node, sight: own, reportAgeMs: 0 };
    const cw = st.coordinatorWitness;
    if (!st.lead && cw && cw.from === node && node === st.leader) {
      // a member: its coordinator's view, as its last heartbeat carried it
      const age = Math.max(0, Math.round(now - cw.at));
      if (age >= t.failureTimeoutMs) return { node, sight: null, reportAgeMs: age };
      return { node, sight: { ...cw.sight, lastContactAgeMs: cw.sight.lastContactAgeMs === null ? null : cw.sight.lastContactAgeMs + age }, reportAgeMs: age };
    }
    const rep = st.lead?.reports.get(node);
    const sight = rep?.report.witness;
    if (!rep || !sight || now - rep.at >= t.failureTimeoutMs) return { node, sight: null, reportAgeMs: rep ? Math.round(now - rep.at) : 0 };
    const age = Math.max(0, Math.round(now - rep.at));
    return { node, sight: { ...sight, lastContactAgeMs: sight.lastContactAgeMs === null ? null : sight.lastContactAgeMs + age }, reportAgeMs: age };
  });
}

/**
 * Why each managed resource that should run is stopped, as the scheduler explains it from the
 * committed state ("blocked: node n1 must be fenced but no fence device covers it", "no node can
 * run it: …"). Computed on demand (a status request), not on every step: it runs the scheduler.
 */
export function stoppedReasons(st: NodeState, now: number): Map<ResourceId, string> {
  if (st.isWitness) return new Map();
  const snapshot = { ...buildSnapshot(st, now), quorate: isQuorate(st, now) };
  const plan = schedule(snapshot, st.config, snapshot.now);
  return new Map(plan.stopped.map((s) => [s.resource, s.reason]));
}
