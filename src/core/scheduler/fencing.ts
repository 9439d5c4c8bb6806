// Stage: schedule fencing (Pacemaker's schedule_fencing). A node that is lost without confirmation
// (unclean), or that must be shot because of a failure policy (on-fail=fence, a failed stop), is
// fenced in the plan; the resources it may still run are recovered only after the fence action
// completes. With watchdog-only fencing the "fence" is waiting out the node's lease plus its
// watchdog timeout: after that the node has surely reset itself (DESIGN.md: one active copy).

import type { WNode, WorkingSet } from './working-set.js';
import { actionKey } from './working-set.js';

const DEFAULT_FENCE_TIMEOUT_MS = 60_000;

/** Devices for a node: its fence levels in index order, else every device that lists the node. */
/** Why a node that was lost while it may run resources is fenced (the plan's and the coordinator's words alike). */
export function uncleanReason(node: string): string {
  return `node ${node} is unclean (lost without confirmation)`;
}

export function fenceDevicesFor(ws: WorkingSet, node: string): { devices: string[]; timeoutMs: number } {
  const { fencing } = ws.config;
  const levels = fencing.levels.filter((l) => l.node === node).sort((a, b) => a.index - b.index);
  const byId = new Map(fencing.devices.map((d) => [d.id, d]));
  let devices: string[];
  if (levels.length > 0) devices = levels.flatMap((l) => l.devices).filter((d) => byId.has(d));
  else devices = fencing.devices.filter((d) => d.hosts.includes(node)).map((d) => d.id);
  devices = [...new Set(devices)];
  const timeoutMs = devices.reduce((sum, d) => sum + (byId.get(d)?.timeoutMs ?? 0), 0) || DEFAULT_FENCE_TIMEOUT_MS;
  return { devices, timeoutMs };
}

/**
 * Decide how node `n` is made safe; marks it lost. `online` says whether the node is still a member
 * (on-fail=fence): watchdog fencing cannot shoot a live member, only a device can.
 * Returns false when the node cannot be fenced (its resources are then blocked).
 */
export function requestFencing(ws: WorkingSet, n: WNode, reason: string, online: boolean): boolean {
  n.lost = true;
  n.canHost = false;
  const { fencing, timing } = ws.config;
  if (!ws.quorate) {
    n.blockedReason = `node ${n.name} must be fenced but the partition has no quorum`;
    return false;
  }
  if (!fencing.enabled) {
    if (online) {
      n.blockedReason = `node ${n.name} must be fenced (${reason}) but fencing is disabled`;
      return false;
    }
    n.assumedDown = true;
    ws.notes.push(`fencing is disabled: node ${n.name} is assumed down without confirmation (unsafe)`);
    return true;
  }
  const { devices, timeoutMs } = fenceDevicesFor(ws, n.name);
  if (devices.length > 0) {
    n.fence = { method: 'device', devices, timeoutMs, reason };
    return true;
  }
  if (fencing.watchdog && !online) {
    const lease = ws.snapshot.nodes.find((s) => s.name === n.name)?.leaseExpiredAt ?? null;
    if (lease === null || lease === undefined) {
      n.blockedReason = `node ${n.name} is lost and its lease expiry is unknown: waiting before recovery`;
      return false;
    }
    const notBefore = lease + timing.watchdogMs;
    n.fence = {
      method: 'watchdog', devices: [], notBefore,
      timeoutMs: Math.max(0, notBefore - ws.now) + DEFAULT_FENCE_TIMEOUT_MS, reason,
    };
    return true;
  }
  n.blockedReason = `node ${n.name} must be fenced (${reason}) but no fence device covers it`;
  return false;
}

/** Emit the fence actions decided during unpacking. */
export function scheduleFencing(ws: WorkingSet): void {
  for (const n of ws.nodes) {
    if (n.lost && !n.fence && !n.assumedDown && n.blockedReason !== null) ws.notes.push(n.blockedReason);
    if (!n.fence) continue;
    const key = actionKey('fence', null, n.name);
    ws.actions.set(key, {
      id: -1, key, type: 'fence', resource: null, node: n.name, timeoutMs: n.fence.timeoutMs,
      method: n.fence.method,
      ...(n.fence.method === 'device' ? { devices: n.fence.devices } : { notBefore: n.fence.notBefore! }),
      ...(n.fence.action === 'reboot' ? { fenceAction: 'reboot' as const } : {}),
      reason: n.fence.reason,
    });
  }
}
