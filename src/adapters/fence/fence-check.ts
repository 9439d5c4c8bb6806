// The fencing preflight of `tsha fence check` (like Pacemaker's `stonith_admin --list` and
// `--query` before a fence is needed): for every node, every fence level and every device of it,
// ask the agent without touching any power:
//   monitor          the device answers (BMC or PDU reachable, login works); once per device
//   status <plug>    the device knows the node's plug (exit 0 = on, 2 = off: both answer for it)
//   list             when status fails: the plug is among the device's outlets
// A node can be fenced when one of its levels has every device answering for it. Nothing here
// powers anything off: off, reboot and on are never sent.

import type { FenceDevice, FencingConfig, NodeName } from '../../config/types.js';
import type { FenceCheckNode, FenceCheckReport, FenceCheckRow } from '../../ports/fencer.js';
import { levelsFor, parsePlugList, plugFor, runFenceAgentAction, type FenceAgentOptions, type FenceAgentRun } from './fence-agent.js';

export type { FenceCheckNode, FenceCheckReport, FenceCheckRow };

type Probe = Omit<FenceAgentRun, 'stdout'> & { stdout: string };

/** Check every node of `nodes` (configuration order) against `fencing`; never throws, never fences. */
export async function checkFencing(fencing: FencingConfig, nodes: NodeName[], opts: FenceAgentOptions = {}, checkedFrom = ''): Promise<FenceCheckReport> {
  const plan = nodes.map((node) => ({ node, levels: levelsFor(fencing, node) }));
  // every device once, in parallel with the others; each device's questions one after another
  // (BMCs and PDUs often take one session at a time)
  const wanted = new Map<string, { device: FenceDevice; nodes: NodeName[] }>();
  for (const { node, levels } of plan) {
    for (const d of levels.flat()) {
      const w = wanted.get(d.id) ?? { device: d, nodes: [] };
      if (!w.nodes.includes(node)) w.nodes.push(node);
      wanted.set(d.id, w);
    }
  }
  const monitors = new Map<string, Probe>();
  const targets = new Map<string, { target: FenceCheckRow['target']; reason: string; durationMs: number }>();
  const key = (device: string, node: NodeName): string => `${device}\0${node}`;
  await Promise.all([...wanted.values()].map(async ({ device, nodes: its }) => {
    const mon = await runFenceAgentAction(device, null, 'monitor', 0, opts);
    monitors.set(device.id, mon);
    for (const node of its) {
      if (mon.status !== 'ok') {
        targets.set(key(device.id, node), { target: 'skipped', reason: `device not reachable: ${mon.reason}`, durationMs: 0 });
        continue;
      }
      targets.set(key(device.id, node), await probePlug(device, node, opts));
    }
  }));

  const rows: FenceCheckRow[] = [];
  const result: FenceCheckNode[] = [];
  for (const { node, levels } of plan) {
    let first = 0;
    levels.forEach((devices, i) => {
      let all = devices.length > 0;
      for (const d of devices) {
        const mon = monitors.get(d.id)!;
        const t = targets.get(key(d.id, node))!;
        const ok = mon.status === 'ok' && (t.target === 'on' || t.target === 'off' || t.target === 'listed');
        all &&= ok;
        rows.push({
          node, level: i + 1, device: d.id, agent: d.agent, plug: plugFor(d, node), monitor: mon.status, target: t.target, ok,
          reason: t.reason, durationMs: mon.durationMs + t.durationMs,
        });
      }
      if (all && first === 0) first = i + 1;
    });
    let reason: string;
    if (!fencing.enabled) reason = 'fencing is disabled (fencing.enabled = false)';
    else if (first > 0) reason = `level ${first} answers for it`;
    else if (levels.length === 0) reason = fencing.watchdog ? 'no fence device: watchdog self-fencing only (a live node cannot be fenced on request)' : 'no fence device lists it in hosts';
    else reason = 'no level has every device answering for it';
    const fenceable = fencing.enabled && (first > 0 || (levels.length === 0 && fencing.watchdog));
    result.push({ node, fenceable, level: first, reason });
  }
  const unfenceable = result.filter((n) => !n.fenceable).map((n) => n.node);
  return { ok: unfenceable.length === 0, fencingEnabled: fencing.enabled, watchdog: fencing.watchdog, nodes: result, rows, unfenceable, checkedFrom };
}

/** status for the plug (0 on, 2 off); when status fails, whether `list` names the plug. */
async function probePlug(device: FenceDevice, node: NodeName, opts: FenceAgentOptions): Promise<{ target: FenceCheckRow['target']; reason: string; durationMs: number }> {
  const st = await runFenceAgentAction(device, node, 'status', 0, opts, [0, 2]);
  if (st.status === 'ok') return { target: st.exitCode === 2 ? 'off' : 'on', reason: st.reason, durationMs: st.durationMs };
  if (st.status === 'timeout' || st.status === 'notInstalled') return { target: st.status, reason: st.reason, durationMs: st.durationMs };
  const plug = plugFor(device, node);
  const ls = await runFenceAgentAction(device, null, 'list', 0, opts);
  const durationMs = st.durationMs + ls.durationMs;
  if (ls.status !== 'ok') return { target: 'error', reason: `status: ${st.reason}; list: ${ls.reason}`, durationMs };
  return parsePlugList(ls.stdout).includes(plug)
    ? { target: 'listed', reason: `status failed (${st.reason}), but list names plug ${plug}`, durationMs }
    : { target: 'notListed', reason: `status failed (${st.reason}), and list does not name plug ${plug}`, durationMs };
}
