// `tsha fence check` as text: one row per node, level and device (what would fence whom, and
// whether the device answered for the node), then one line per node.
//
//   NODE  LEVEL  DEVICE   AGENT           PLUG  MONITOR  TARGET  RESULT  TIME
//   n1    1      ipmi-n1  fence_ipmilan   n1    ok       on      ok      412 ms
//   n1    2      pdu      fence_apc_snmp  1     ok       on      ok      230 ms

import type { FenceCheckReport, FenceCheckRow } from '../../adapters/fence/index.js';

const TARGET_LABEL: Record<FenceCheckRow['target'], string> = {
  on: 'on', off: 'off', listed: 'listed', notListed: 'NOT LISTED', error: 'ERROR', timeout: 'TIMEOUT', notInstalled: 'NOT INSTALLED', skipped: '-',
};

const MONITOR_LABEL: Record<FenceCheckRow['monitor'], string> = { ok: 'ok', error: 'ERROR', timeout: 'TIMEOUT', notInstalled: 'NOT INSTALLED' };

export function renderFenceCheck(r: FenceCheckReport): string {
  const lines: string[] = [];
  if (!r.fencingEnabled) lines.push('FENCING IS DISABLED (fencing.enabled = false): no node can be fenced', '');
  const header = ['NODE', 'LEVEL', 'DEVICE', 'AGENT', 'PLUG', 'MONITOR', 'TARGET', 'RESULT', 'TIME'];
  const rows = r.rows.map((x) => [
    x.node, String(x.level), x.device, x.agent, x.plug, MONITOR_LABEL[x.monitor], TARGET_LABEL[x.target], x.ok ? 'ok' : 'FAILED', `${x.durationMs} ms`,
  ]);
  if (rows.length > 0) {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const fmt = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    lines.push(fmt(header), ...rows.map(fmt));
    const failed = r.rows.filter((x) => !x.ok);
    if (failed.length > 0) {
      lines.push('', 'Failures:');
      for (const x of failed) lines.push(`  ${x.node} level ${x.level} ${x.device} (plug ${x.plug}): ${x.reason}`);
    }
    lines.push('');
  }
  if (r.checkedFrom) lines.push(`checked from ${r.checkedFrom} (its path to the devices)`);
  for (const n of r.nodes) lines.push(`${n.fenceable ? 'ok    ' : 'CANNOT'} ${n.node}: ${n.reason}`);
  lines.push('', r.ok ? `every node checked can be fenced (${r.nodes.length})` : `cannot fence: ${r.unfenceable.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
