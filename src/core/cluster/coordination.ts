// The coordinator's job (Pacemaker's DC): recover lost nodes, readmit nodes that came back, count
// failures, follow the configured membership, and drive the cluster through transitions: the
// scheduler's plans, computed from the committed cluster state and the configuration, committed
// for every node to carry out its own actions (execution.ts), followed to their end.
//
// Like Pacemaker's transition engine, one transition at a time:
//   1. when no transition runs and every node it hears is settled (it has applied the last
//      transition's end, has nothing in flight, and its report agrees with the record), the
//      coordinator schedules; a plan with actions is committed as the next transition;
//   2. while it runs, the coordinator commits the outcomes its nodes report (another node's action
//      may wait for one) and ends it: complete when every action succeeded; aborted when one failed,
//      a node with actions left is lost, the cluster's input changed (a failure, a node, an
//      operator command), the configuration was reloaded, or it made no progress for too long;
//   3. after an abort caused by a failed action, the next transition waits a back-off (1 s,
//      doubling up to 30 s) unless a lost node needs recovering: a start that fails everywhere is
//      bounded by the nodes it may run on, not retried in a tight loop.
// The coordinator proposes one batch at a time and waits for it to commit before it decides again.

import type { NodeName, ResourceId } from '../../config/types.js';
import { INFINITY } from '../../config/types.js';
import { uncleanReason } from '../scheduler/fencing.js';
import type { ActionStatus } from '../scheduler/types.js';
import type { ClusterSnapshot, NodeSnapshot, ResourceObservation } from '../snapshot.js';
import { clusterNow } from './clock.js';
import type { ActiveRole, Command, CommittedResult } from './commands.js';
import { ownerOf, roleAfter, selfReport } from './execution.js';
import { ensureFence, fenceDeviceFor, mustUnfence, unfenceJoined } from './fencing.js';
import { leaderLeaseUntil } from './leases.js';
import { crashGraceFor, crashGraceMs, inRestartGrace, peerLost, restartedSince } from './liveness.js';
import { lastIndex } from './log.js';
import type { NodeReport } from './messages.js';
import { propose } from './replication.js';
import type { NodeState, Out } from './state.js';
import { clonedBase, currentVoters, drift, hostNodes, inPromotable } from './state.js';
import type { TransitionRecord } from './state-machine.js';

const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

export function reportOf(st: NodeState, n: NodeName): NodeReport | undefined {
  return n === st.self ? selfReport(st) : st.lead?.reports.get(n)?.report;
}

/** The roles a report says, as the record keeps them (a running copy of a promotable clone is unpromoted). */
function reportedRoles(st: NodeState, rep: NodeReport): Record<ResourceId, ActiveRole> {
  const out: Record<ResourceId, ActiveRole> = {};
  for (const r of rep.active) {
    out[r] = rep.failed.includes(r) ? 'failed' : rep.promoted.includes(r) ? 'promoted' : inPromotable(st, r) ? 'unpromoted' : 'started';
  }
  return out;
}

/** Whether a report says what the record says (without building the report's roles: it runs at every heartbeat). */
function matchesRecord(st: NodeState, rep: NodeReport, record: Record<ResourceId, ActiveRole> | undefined): boolean {
  let n = 0;
  for (const _ in record) n++;
  if (rep.active.length !== n) return false;
  for (const r of rep.active) {
    const want = rep.failed.includes(r) ? 'failed' : rep.promoted.includes(r) ? 'promoted' : inPromotable(st, r) ? 'unpromoted' : 'started';
    if (record?.[r] !== want) return false;
  }
  return true;
}

/** Whether node n may run anything: by the record (which counts a transition's starts from when it is committed), or by its last report. */
export function runsSomething(st: NodeState, n: NodeName): boolean {
  if (Object.keys(st.cluster.active[n] ?? {}).length > 0) return true;
  return (st.lead?.reports.get(n)?.report.active.length ?? 0) > 0;
}

/** On this clock: when the lease a lost node might still hold surely ended. */
function lostLeaseEnd(st: NodeState, p: NodeName): number {
  const lead = st.lead!;
  const t = st.config.timing;
  return Math.max(lead.since + Math.ceil(t.leaseMs * (1 + drift(st))) + 1, lead.grantExpiry.get(p) ?? 0);
}

/** The coordinator's job, on every tick and whenever something it waits for arrived. */
export function coordinate(st: NodeState, out: Out, now: number): void {
  const lead = st.lead;
  if (st.role !== 'leader' || !lead || st.commitIndex < lead.startIndex) return;
  const pending = lastIndex(st) > st.commitIndex;
  if (recoverLostNodes(st, out, now, pending)) return;
  if (pending) return;
  const cmds = readmitAndCount(st, now);
  if (cmds.length > 0) {
    propose(st, out, cmds, now);
    return;
  }
  const m = membershipChange(st, now);
  if (m) {
    out.trace('membership', `voters → ${m.voters.join(',')}`);
    propose(st, out, [m], now);
    return;
  }
  const unfenced = unfenceJoined(st, out, now);
  if (unfenced.length > 0) {
    propose(st, out, unfenced, now);
    return;
  }
  driveTransitions(st, out, now);
}

/** 1. Lost nodes that may run something: fence them, or wait out their lease, drift and watchdog. */
function recoverLostNodes(st: NodeState, out: Out, now: number, pending: boolean): boolean {
  const lead = st.lead!;
  const t = st.config.timing;
  const cmds: Command[] = [];
  for (const p of hostNodes(st)) {
    if (p === st.self) continue;
    if (st.cluster.down[p]) {
      // a fenced node was reset: a crash after it rejoins is a new incident, not the crash loop of
      // the agent that had its grace before the fence
      lead.crashGraceGiven.delete(p);
      continue;
    }
    if (st.fencedConfirmed.has(p)) {
      const { device, reason } = st.fencedConfirmed.get(p)!;
      if (!pending) cmds.push({ type: 'nodeDown', node: p, cause: 'fenced', term: st.term, at: clusterNow(st, now), executor: st.self, ...(device ? { device } : {}), ...(reason ? { reason } : {}) });
      continue;
    }
    if (!peerLost(st, p, now)) {
      if (st.config.quorumMode !== 'two_node' && st.fencing.get(p)?.why === 'lost') st.fencing.delete(p);
      continue;
    }
    if (!runsSomething(st, p) && st.config.quorumMode !== 'two_node') continue;
    const grace = crashGraceFor(st, out, p, now);
    if (grace === 'wait') continue;
    if (grace === 'propose') {
      const graceMs = crashGraceMs(st);
      const incarnation = lead.reports.get(p)?.incarnation ?? lead.echoes.get(p)?.incarnation ?? -1;
      cmds.push({ type: 'restarting', node: p, incarnation, graceMs, cause: 'crash' });
      lead.crashGraceGiven.set(p, now);
      st.fencing.delete(p);
      out.effects.push({ type: 'crashGraceDecision', node: p, decision: 'grace', cause: `agent down, host up: grace ${graceMs} ms` });
      continue;
    }
    if (fenceDeviceFor(st, p)) {
      if (st.config.quorumMode !== 'two_node') ensureFence(st, out, p, now, 0, 'lost', uncleanReason(p));
      continue;
    }
    if (st.config.fencing.watchdog && st.config.noQuorumPolicy !== 'freeze') {
      const rho = drift(st);
      const safeAt = st.opts.unsafe.startBeforeLeaseExpiry ? now : lostLeaseEnd(st, p) + Math.ceil(t.watchdogMs * (1 + rho)) + 1;
      if (now >= safeAt && !pending) cmds.push({ type: 'nodeDown', node: p, cause: 'lease-expired', term: st.term, at: clusterNow(st, now) });
    }
  }
  if (cmds.length === 0) return false;
  out.trace('recover', cmds.map((c) => (c.type === 'nodeDown' ? `${c.node} ${c.cause}` : c.type === 'restarting' ? `${c.node} crash grace ${c.graceMs} ms` : c.type)).join(', '));
  propose(st, out, cmds, now);
  return true;
}

/** 2. Nodes back from down or from a restart; failures members saw; reports that differ from the record. */
function readmitAndCount(st: NodeState, now: number): Command[] {
  const lead = st.lead!;
  const cmds: Command[] = [];
  for (const [p, down] of Object.entries(st.cluster.down).sort(([a], [b]) => (a < b ? -1 : 1))) {
    // back: it reported after it applied its own node-down (a report from before proves nothing)
    if (p === st.self ? st.local.size === 0 : !peerLost(st, p, now) && (lead.reports.get(p)?.report.applied ?? -1) >= down.index) cmds.push({ type: 'nodeUp', node: p });
  }
  for (const p of Object.keys(st.cluster.restarting).sort()) {
    if (!st.cluster.down[p] && restartedSince(st, p)) cmds.push({ type: 'nodeUp', node: p });
  }
  const at = clusterNow(st, now);
  for (const n of hostNodes(st)) {
    if (st.cluster.down[n]) continue;
    const rep = reportOf(st, n);
    if (!rep) continue;
    const incarnation = n === st.self ? st.incarnation : lead.reports.get(n)!.incarnation;
    const ack = st.cluster.failureAck[n];
    for (const ev of rep.failures) {
      if (ack && ack.incarnation === incarnation && ev.seq <= ack.seq) continue;
      cmds.push({
        type: 'failure', node: n, resource: ev.resource, operation: ev.operation, intervalMs: ev.intervalMs, status: ev.status,
        exitCode: ev.exitCode, reason: ev.reason, seq: ev.seq, incarnation, at,
      });
    }
  }
  if (cmds.length > 0) return cmds;
  // reconcile the record with what settled nodes report (only between transitions: during one,
  // the record follows the committed outcomes)
  const t = st.cluster.transition;
  if (t && t.outcome === 'running') return cmds;
  for (const n of hostNodes(st)) {
    if (st.cluster.down[n] || (n !== st.self && (peerLost(st, n, now) || inRestartGrace(st, n, now)))) continue;
    const rep = reportOf(st, n);
    if (!rep || !quiet(st, rep) || matchesRecord(st, rep, st.cluster.active[n])) continue;
    cmds.push({ type: 'observed', node: n, active: numberInstances(st, n, reportedRoles(st, rep), cmds) });
  }
  return cmds;
}

/**
 * The instance numbers a node's report gets in the record. A copy a node found running at its
 * start is reported by the clone child's own id (it does not know its number); a number it reports
 * may be stale (adopted from an older record). Each copy keeps its number when no other node holds
 * that number, else takes the number the record already gives this node for that clone (the copy
 * it held before it restarted), else the lowest number free. So no number is ever held on two
 * nodes, which the scheduler would read as one copy active twice. The node adopts the numbers when
 * it applies the entry (execution.ts).
 */
function numberInstances(st: NodeState, n: NodeName, roles: Record<ResourceId, ActiveRole>, proposed: Command[]): Record<ResourceId, ActiveRole> {
  if (!Object.keys(roles).some((r) => clonedBase(st, r) !== null)) return roles;
  const elsewhere = new Set<ResourceId>();
  for (const [node, m] of Object.entries(st.cluster.active)) if (node !== n) for (const r of Object.keys(m)) elsewhere.add(r);
  for (const c of proposed) if (c.type === 'observed') for (const r of Object.keys(c.active)) elsewhere.add(r);
  const out: Record<ResourceId, ActiveRole> = {};
  const unnumbered: [ResourceId, ActiveRole][] = [];
  for (const [r, role] of Object.entries(roles).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const base = clonedBase(st, r);
    if (base === null || (r !== base && !elsewhere.has(r))) out[r] = role;
    else unnumbered.push([base, role]);
  }
  const free = (id: ResourceId): boolean => !elsewhere.has(id) && !(id in out);
  for (const [base, role] of unnumbered) {
    let id = Object.keys(st.cluster.active[n] ?? {}).sort().find((r) => r !== base && clonedBase(st, r) === base && free(r));
    for (let k = 0; id === undefined; k++) if (free(`${base}:${k}`)) id = `${base}:${k}`;
    out[id] = role;
  }
  return out;
}

/** A report from a node with nothing left to do: it applied the last transition's end, runs nothing, counted its failures. */
function quiet(st: NodeState, rep: NodeReport): boolean {
  const t = st.cluster.transition;
  const after = t ? (t.endIndex ?? Infinity) : 0;
  return !rep.busy && rep.run === null && rep.failures.length === 0 && rep.applied >= after;
}

function membershipChange(st: NodeState, now: number): Extract<Command, { type: 'voters' }> | null {
  const cur = currentVoters(st);
  const want = st.config.nodes.map((n) => n.name).sort();
  for (const n of want) {
    if (cur.includes(n)) continue;
    // add a node only once it is reachable and caught up, so the new quorum can make progress
    if (!peerLost(st, n, now) && (st.lead!.match.get(n) ?? 0) >= st.commitIndex) return { type: 'voters', voters: [...cur, n].sort() };
  }
  for (const n of cur) {
    if (!want.includes(n)) return { type: 'voters', voters: cur.filter((x) => x !== n) };
  }
  return null;
}

// ---- transitions ---------------------------------------------------------------------------------

function driveTransitions(st: NodeState, out: Out, now: number): void {
  const t = st.cluster.transition;
  if (t && t.outcome === 'running') follow(st, out, t, now);
  else plan(st, out, now);
}

/** The role an outcome leaves, as the record keeps it. */
function committedResult(st: NodeState, t: TransitionRecord, r: NonNullable<NodeReport['run']>['results'][number]): CommittedResult {
  const a = t.plan.actions[r.action]!;
  const role = roleAfter(st, a, { status: r.status });
  return {
    action: r.action, status: r.status,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(role !== undefined ? { role } : {}),
  };
}

function follow(st: NodeState, out: Out, t: TransitionRecord, now: number): void {
  const lead = st.lead!;
  // outcomes reported and not yet committed
  const fresh: CommittedResult[] = [];
  for (const n of [st.self, ...hostNodes(st).filter((x) => x !== st.self)]) {
    const run = reportOf(st, n)?.run;
    if (!run || run.transition !== t.id) continue;
    for (const r of run.results) {
      const a = t.plan.actions[r.action];
      if (!a || t.results[r.action] || ownerOf(t, a) !== n || fresh.some((f) => f.action === r.action)) continue;
      fresh.push(committedResult(st, t, r));
    }
  }
  if (fresh.length > 0) {
    lead.progressAt = now;
    fresh.sort((x, y) => x.action - y.action);
    propose(st, out, [{ type: 'results', transition: t.id, results: fresh, at: clusterNow(st, now) }], now);
    return;
  }
  const end = (outcome: 'complete' | 'aborted', reason: string | null, failed = false): void => {
    if (outcome === 'complete') lead.failedInARow = 0;
    if (failed) {
      lead.failedInARow++;
      lead.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (lead.failedInARow - 1));
    }
    lead.plannedWith = null;
    out.trace('transition-end', `${t.id} ${outcome}${reason ? `: ${reason}` : ''}`);
    propose(st, out, [{ type: 'transitionEnd', transition: t.id, outcome, reason }], now);
  };
  const failed = Object.values(t.results).find((r) => r.status !== 'ok');
  if (failed) {
    const a = t.plan.actions[failed.action]!;
    end('aborted', `${a.key} failed: ${failed.status}${failed.reason ? ` (${failed.reason})` : ''}`, true);
    return;
  }
  if (t.plan.actions.every((a) => t.results[a.id]?.status === 'ok')) {
    end('complete', null);
    return;
  }
  if (t.term !== st.term) {
    end('aborted', `planned by the coordinator of term ${t.term}`);
    return;
  }
  if (st.cluster.inputs !== t.inputs) {
    end('aborted', 'the cluster changed');
    return;
  }
  if (lead.plannedWith !== null && lead.plannedWith !== st.config) {
    end('aborted', 'the configuration was reloaded');
    return;
  }
  for (const a of t.plan.actions) {
    if (t.results[a.id]) continue;
    const n = ownerOf(t, a);
    if (n !== st.self && (st.cluster.down[n] || peerLost(st, n, now))) {
      end('aborted', `${n}, which has actions left, is lost`);
      return;
    }
    // a node runs every transition it applied until the transition ends there (execution.ts); one
    // that applied it and runs none lost it (its agent restarted, faster than it could be missed):
    // its outcomes will never come
    const rep = reportOf(st, n);
    if (rep && rep.applied >= t.id && !rep.busy && rep.run?.transition !== t.id) {
      end('aborted', `${n}, which has actions left, does not run them (its agent restarted)`);
      return;
    }
  }
  // Every node times out its own actions; this only ends a transition that cannot go on (a node
  // that never gets its lease back, say) after the longest action it waits for, and a margin.
  const longest = Math.max(0, ...t.plan.actions.filter((a) => !t.results[a.id]).map((a) => a.timeoutMs + Math.max(0, (a.notBefore ?? 0) - clusterNow(st, now))));
  if (now - lead.progressAt > longest + 2 * st.config.timing.leaseMs) end('aborted', `no progress for ${Math.round(now - lead.progressAt)} ms`);
}

/** Between transitions: schedule once everything is settled, and commit a plan that has actions. */
function plan(st: NodeState, out: Out, now: number): void {
  const lead = st.lead!;
  // an unchanged cluster is not scheduled again (and its snapshot not even built: this runs at every heartbeat)
  const key = schedulingKey(st, now);
  const prev = lead.scheduled;
  if (prev && prev.key === key && prev.config === st.config && (prev.recheckAt === null || clusterNow(st, now) < prev.recheckAt)) return;
  const snapshot = buildSnapshot(st, now);
  if (!snapshot.quorate) return;
  for (const n of snapshot.nodes) {
    // a node in its restart grace is silent (what it runs stays as recorded); any other online
    // node, in maintenance or not, must have settled: its report may lag (a failure not counted yet)
    if (n.state !== 'online' || (n.name !== st.self && inRestartGrace(st, n.name, now))) continue;
    const rep = reportOf(st, n.name);
    if (!rep || !quiet(st, rep)) return;
  }
  const lost = snapshot.nodes.some((n) => n.state === 'unclean');
  if (now < lead.retryAt && !lost) return;
  const input = { snapshot, config: st.config, now: snapshot.now };
  const p = st.opts.scheduler(input);
  out.effects.push({ type: 'scheduled', input, actions: p.actions.length });
  const banEnds = st.cluster.bans.map((b) => b.until).filter((u): u is number => u !== null && u > snapshot.now);
  const recheckAt = [p.recheckAt, ...banEnds].reduce<number | null>((m, x) => (x === null ? m : m === null || x < m ? x : m), null);
  lead.scheduled = { key, config: st.config, recheckAt };
  const expiredBans = st.cluster.bans.filter((b) => b.until !== null && b.until <= snapshot.now);
  if (p.expiredFailures.length > 0 || expiredBans.length > 0) {
    // forget what expired first; the next round schedules without it
    lead.scheduled = null;
    propose(st, out, [
      ...p.expiredFailures.map((e): Command => ({ type: 'cleanup', resource: e.resource, node: e.node, operation: e.operation, expired: true })),
      ...expiredBans.map((b): Command => ({ type: 'ban', resource: b.resource, node: b.node, on: false })),
    ], now);
    return;
  }
  // multiple-active=stop_only: hold the resource stopped first (its target role, as `tsha resource
  // disable` sets it); the next round stops every copy, and no later round starts it again
  const hold = p.keepStopped.filter((k) => st.cluster.overrides[k.resource]?.targetRole !== 'stopped');
  if (hold.length > 0) {
    lead.scheduled = null;
    for (const k of hold) out.trace('multiple-active', k.reason);
    propose(st, out, hold.map((k): Command => ({ type: 'override', resource: k.resource, targetRole: 'stopped' })), now);
    return;
  }
  if (p.actions.length === 0) return;
  lead.plannedWith = st.config;
  lead.progressAt = now;
  out.trace('transition', `${p.actions.length} actions: ${p.actions.filter((a) => a.type !== 'monitor').slice(0, 8).map((a) => a.key).join(', ')}${p.actions.length > 8 ? ', …' : ''}`);
  propose(st, out, [{
    type: 'transition', term: st.term, coordinator: st.self, plan: { actions: p.actions, edges: p.edges, target: p.target },
    inputs: st.cluster.inputs, at: snapshot.now,
  }], now);
}

/**
 * What the scheduler's answer depends on besides time: the record's input version, the last
 * transition, and how each node is (as buildSnapshot sees it: down, lost, in its restart grace).
 */
function schedulingKey(st: NodeState, now: number): string {
  const t = st.cluster.transition;
  let k = `${st.cluster.inputs}/${t ? `${t.id}${t.outcome[0]}` : '-'}/`;
  for (const n of hostNodes(st)) {
    const state = st.cluster.down[n] ? 'd' : n !== st.self && peerLost(st, n, now) ? (runsSomething(st, n) ? 'u' : 'o') : n !== st.self && inRestartGrace(st, n, now) ? 'g' : 'n';
    k += `${n}:${state},`;
  }
  return k;
}

// ---- the scheduler's input -------------------------------------------------------------------------

/**
 * The ClusterSnapshot (src/core/snapshot.ts) the scheduler reads, built from the committed cluster
 * state. A lost node that may run something is unclean (fenced before anything of it moves); one
 * that runs nothing is offline. A node in its restart grace is in maintenance for the scheduler:
 * what it runs stays, nothing new goes there. The record counts a transition's starts as running
 * from when it is committed; where a lost or restarting node may run more than the record says,
 * its last report counts too.
 */
export function buildSnapshot(st: NodeState, now: number): ClusterSnapshot {
  const lead = st.lead;
  const c = st.cluster;
  const cnow = clusterNow(st, now);
  const nodes: NodeSnapshot[] = [];
  const observations: ResourceObservation[] = [];
  for (const name of hostNodes(st)) {
    const down = c.down[name];
    const grace = name !== st.self && inRestartGrace(st, name, now);
    let state: NodeSnapshot['state'] = 'online';
    if (down) state = 'offline';
    else if (name !== st.self && peerLost(st, name, now)) state = runsSomething(st, name) ? 'unclean' : 'offline';
    const cfg = st.config.nodes.find((n) => n.name === name);
    nodes.push({
      name,
      state,
      // a node removed from the configuration takes nothing new (it is drained, then leaves)
      standby: c.standby.includes(name) || cfg === undefined,
      maintenance: c.maintenance.includes(name) || grace,
      attributes: cfg?.attributes ?? {},
      leaseExpiredAt: state === 'unclean' && lead ? lostLeaseEnd(st, name) + st.clockOffset : null,
      // not unfenced since it joined: it takes nothing (what it already runs, when unfencing was
      // configured while it ran it, stays until it is unfenced a moment later)
      ...(state === 'online' && mustUnfence(st, name) && !runsSomething(st, name) ? { unfencing: true } : {}),
    });
    if (state === 'offline') continue;
    const roles = new Map<ResourceId, ActiveRole>(Object.entries(c.active[name] ?? {}));
    if (state === 'unclean' || grace) {
      const rep = lead?.reports.get(name)?.report;
      if (rep) for (const [r, role] of Object.entries(reportedRoles(st, rep))) if (!roles.has(r)) roles.set(r, role);
    }
    for (const [resource, role] of [...roles].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) observations.push({ resource, node: name, role });
  }
  const fenceRequests = Object.entries(c.fenceRequests)
    .filter(([n]) => !c.down[n])
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([node, r]) => ({ node, action: r.action, by: r.by }));
  return {
    now: cnow,
    quorate: st.role === 'leader' && now < leaderLeaseUntil(st, now),
    nodes,
    observations,
    failures: c.failures.map((f) => ({
      resource: f.resource, node: f.node, operation: f.operation, count: f.count, lastFailureAt: f.at,
      ...(f.hard ? { hard: true } : {}), ...(f.fatal ? { fatal: true } : {}),
    })),
    bans: c.bans.filter((b) => b.until === null || b.until > cnow).map((b) => ({ resource: b.resource, node: b.node, score: Math.max(-INFINITY, Math.min(INFINITY, b.score)) })),
    overrides: Object.entries(c.overrides).sort(([a], [b]) => (a < b ? -1 : 1)).map(([resource, o]) => ({ resource, ...o })),
    fenced: Object.values(c.down).filter((d) => d.cause === 'fenced').map((d) => d.node).sort(),
    fenceRequests,
  };
}

export type { ActionStatus };
