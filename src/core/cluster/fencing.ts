// Fencing: one fence attempt per target at a time, retried until a fence agent confirms it, for
// three reasons: a lost node that ran something (coordination.ts), a transition's fence action
// (a failed stop, on-fail=fence: execution.ts), and the two-node fence race (below). The core
// never lets anyone start a lost node's resources before a confirmed fence (or the lease, drift and
// watchdog bound); the runtime must never report ok for an unconfirmed fence.
//
// Unfencing (Pacemaker's provides=unfencing): fabric fencing (fence_scsi, fence_mpath) cuts a node
// off its storage rather than powering it off, so a node it covers must get its storage back
// (action on) before it runs resources. Like Pacemaker, the coordinator's fencer unfences every
// such node when it joins: at first, and each time it comes back after it was down. Until the
// `unfenced` entry for it is committed the node takes no resources (buildSnapshot's `unfencing`,
// the scheduler's node-eligibility rule).

import type { NodeName } from '../../config/types.js';
import { clusterNow } from './clock.js';
import type { Command } from './commands.js';
import { coordinate } from './coordination.js';
import { peerLost } from './liveness.js';
import type { FenceAttempt, NodeState, Out } from './state.js';
import { hostNodes } from './state.js';

const FENCE_RETRY_MS = 1000;

export function fenceDeviceFor(st: NodeState, target: NodeName): boolean {
  return st.config.fencing.enabled && st.config.fencing.devices.some((d) => d.hosts.includes(target));
}

export function ensureFence(st: NodeState, out: Out, target: NodeName, now: number, delay: number, why: FenceAttempt['why'], reason: string, action: 'off' | 'reboot' = 'off'): void {
  if (!fenceDeviceFor(st, target) || st.fencedConfirmed.has(target)) return;
  let f = st.fencing.get(target);
  if (!f) {
    f = { requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now + delay, inflight: false, why, reason, ...(action === 'reboot' ? { action } : {}) };
    st.fencing.set(target, f);
    out.trace('fence-scheduled', delay > 0 ? `fence-race delay ${delay} ms` : why === 'plan' ? 'fence action of the transition' : 'lost', undefined, target);
  } else if (why === 'plan') {
    // a plan's reason says more than "lost"; the first plan's reason stays (an operator's request
    // is not renamed by the next plan, which fences the same node because it is now unclean)
    if (f.why !== 'plan') f.reason = reason;
    f.why = 'plan';
    if (action === 'reboot') f.action = 'reboot';
  }
  if (!f.inflight && now >= f.notBefore) {
    f.inflight = true;
    out.effects.push({ type: 'fence', target, requestId: f.requestId, action: f.action ?? 'off' });
    if (st.opts.unsafe.skipFenceWait) onFenceResult(st, out, target, f.requestId, true, now);
  }
}

/** Whether `node` must be unfenced before it runs resources: a fabric-fencing device covers it and it has not been unfenced since it joined. */
export function mustUnfence(st: NodeState, node: NodeName): boolean {
  const f = st.config.fencing;
  return f.enabled && st.cluster.unfenced[node] === undefined && f.devices.some((d) => d.unfence && d.hosts.includes(node));
}

/**
 * Coordinator: unfence every joined node that must be (one attempt per node at a time, retried
 * until the devices confirm), and return the `unfenced` entries of those confirmed.
 */
export function unfenceJoined(st: NodeState, out: Out, now: number): Command[] {
  const lead = st.lead!;
  const cmds: Command[] = [];
  for (const n of hostNodes(st)) {
    const u = lead.unfencing.get(n);
    const joined = !st.cluster.down[n] && (n === st.self || !peerLost(st, n, now));
    if (!joined || !mustUnfence(st, n)) {
      if (u && !u.inflight) lead.unfencing.delete(n);
      continue;
    }
    if (u?.confirmedBy !== undefined) {
      cmds.push({ type: 'unfenced', node: n, device: u.confirmedBy, executor: st.self, term: st.term, at: clusterNow(st, now) });
      lead.unfencing.delete(n);
      continue;
    }
    const a = u ?? { requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now, inflight: false };
    if (!u) {
      lead.unfencing.set(n, a);
      out.trace('unfence-scheduled', 'joined: a fabric-fencing device must give it its storage back before it runs resources', undefined, n);
    }
    if (!a.inflight && now >= a.notBefore) {
      a.inflight = true;
      out.effects.push({ type: 'fence', target: n, requestId: a.requestId, action: 'on' });
    }
  }
  return cmds;
}

export function onFenceResult(st: NodeState, out: Out, target: NodeName, requestId: string, ok: boolean, now: number, device = ''): void {
  const u = st.lead?.unfencing.get(target);
  if (u && u.requestId === requestId) {
    u.inflight = false;
    if (ok) {
      u.confirmedBy = device;
      out.trace('unfence-confirmed', `device ${device} ran on`, undefined, target);
    } else {
      st.lead!.unfencing.set(target, { requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now + FENCE_RETRY_MS, inflight: false });
      out.trace('unfence-failed', `retry in ${FENCE_RETRY_MS} ms`, undefined, target);
    }
    coordinate(st, out, now);
    return;
  }
  const f = st.fencing.get(target);
  if (!f || f.requestId !== requestId) return;
  if (!ok) {
    out.trace('fence-failed', `retry in ${FENCE_RETRY_MS} ms`, undefined, target);
    st.fencing.set(target, { ...f, requestId: `${st.self}/${st.incarnation}/${++st.fenceSeq}`, notBefore: now + FENCE_RETRY_MS, inflight: false });
    return;
  }
  st.fencing.delete(target);
  st.fencedConfirmed.set(target, { device, reason: f.reason });
  out.trace('fence-confirmed', 'fence agent confirmed power off', undefined, target);
  if (st.config.quorumMode === 'two_node') st.excluded.add(target);
  if (st.role === 'leader') coordinate(st, out, now);
}

/** two_node: the survivor must fence its peer to keep (or gain) quorum alone — the fence race. */
export function tickTwoNode(st: NodeState, out: Out, now: number): void {
  if (st.isWitness || !st.quorumReady) return; // wait-for-all: never act alone before seeing the peer
  for (const p of hostNodes(st)) {
    if (p === st.self || st.excluded.has(p)) continue;
    if (!peerLost(st, p, now)) {
      if (st.fencing.get(p)?.why === 'lost') st.fencing.delete(p);
      continue;
    }
    const preferred = st.role === 'leader' || (st.leader === null && st.self < p);
    ensureFence(st, out, p, now, preferred ? 0 : st.config.timing.fenceRaceDelayMs, 'lost', `node ${p} is lost: two-node fence race${preferred ? '' : ` (after the ${st.config.timing.fenceRaceDelayMs} ms delay)`}`);
  }
}
