// Text for a plan, in crm_simulate's shape: a transition summary (what changes, per resource),
// then the actions in order with the actions each waits for, then what stays stopped and why.

import type { ClusterSnapshot } from '../../core/snapshot.js';
import type { Plan, PlanAction } from '../../core/scheduler/types.js';

function describe(a: PlanAction): string {
  switch (a.type) {
    case 'fence': return a.method === 'watchdog' ? `fence ${a.node} (watchdog, not before ${a.notBefore})` : `fence ${a.node} (${(a.devices ?? []).join(', ')})`;
    case 'monitor': return `monitor ${a.resource} on ${a.node} every ${a.intervalMs} ms`;
    case 'storage_blocklist': return `blocklist ${a.target}'s storage client for ${a.resource} (on ${a.node})`;
    case 'storage_break_lock': return `break ${a.target}'s storage lock for ${a.resource} (on ${a.node})`;
    case 'storage_outdate_peer': return `outdate ${a.target}'s disk for ${a.resource} (on ${a.node})`;
    default: return `${a.type} ${a.resource} on ${a.node}`;
  }
}

/** One line per primitive that changes: Start, Stop, Move, Migrate, Recover, Restart, Promote, Demote. */
export function transitionSummary(plan: Plan, before: ClusterSnapshot): string[] {
  const lost = new Set([
    ...before.nodes.filter((n) => n.state !== 'online').map((n) => n.name),
    ...plan.actions.filter((a) => a.type === 'fence').map((a) => a.node),
  ]);
  const now = new Map<string, { node: string; role: string }[]>();
  for (const o of before.observations) {
    if (o.role === 'stopped') continue;
    const l = now.get(o.resource) ?? [];
    l.push({ node: o.node, role: o.role });
    now.set(o.resource, l);
  }
  const target = new Map(plan.target.map((t) => [t.resource, t]));
  const acts = new Map<string, Set<string>>();
  for (const a of plan.actions) {
    if (a.resource === null || a.type === 'monitor' || a.type.startsWith('storage_')) continue;
    const s = acts.get(a.resource) ?? new Set();
    s.add(a.type);
    acts.set(a.resource, s);
  }
  const lines: string[] = [];
  for (const a of plan.actions) if (a.type === 'fence') lines.push(`  * Fence      ${a.node}: ${a.reason}`);
  const ids = [...new Set([...acts.keys(), ...[...now.keys()].filter((r) => !target.has(r) && acts.has(r))])].sort();
  for (const id of ids) {
    const types = acts.get(id)!;
    const cur = now.get(id) ?? [];
    const t = target.get(id);
    const from = cur.map((c) => c.node).join(' ');
    let verb: string, detail: string;
    if (types.has('migrate_to')) { verb = 'Migrate'; detail = `( ${from} -> ${t?.node} )`; }
    else if (!t) { verb = 'Stop'; detail = `( ${from} )`; }
    else if (cur.length === 0 || cur.every((c) => lost.has(c.node))) {
      verb = cur.length === 0 ? 'Start' : 'Recover';
      detail = cur.length === 0 ? `( ${t.node} )` : `( ${from} -> ${t.node} )`;
      if (t.role === 'promoted') detail = `( ${cur.length === 0 ? '' : `${from} -> `}Stopped -> Promoted ${t.node} )`;
    } else if (cur.some((c) => c.node !== t.node)) {
      verb = cur.some((c) => c.role === 'failed') ? 'Recover' : 'Move';
      detail = `( ${from} -> ${t.node} )`;
    } else if (types.has('stop') && types.has('start')) {
      verb = cur.some((c) => c.role === 'failed') ? 'Recover' : 'Restart';
      detail = `( ${t.node} )`;
    } else if (types.has('promote')) { verb = 'Promote'; detail = `( Unpromoted -> Promoted ${t.node} )`; }
    else if (types.has('demote')) { verb = 'Demote'; detail = `( Promoted -> Unpromoted ${t.node} )`; }
    else { verb = 'Change'; detail = `( ${t.node} )`; }
    lines.push(`  * ${verb.padEnd(10)} ${id.padEnd(12)} ${detail}`);
  }
  return lines;
}

export function renderPlanText(plan: Plan, before: ClusterSnapshot): string {
  const out: string[] = [];
  out.push('Transition Summary:');
  const summary = transitionSummary(plan, before);
  out.push(...(summary.length > 0 ? summary : ['  * (no changes)']));
  out.push('');
  out.push(`Plan (${plan.actions.length} actions, ${plan.edges.length} edges):`);
  const preds = new Map<number, number[]>();
  for (const e of plan.edges) {
    const l = preds.get(e.after) ?? [];
    l.push(e.before);
    preds.set(e.after, l);
  }
  for (const a of plan.actions) {
    const p = preds.get(a.id);
    out.push(`  [${a.id}] ${describe(a)}${p ? `  after ${p.join(',')}` : ''}`);
  }
  if (plan.stopped.length > 0) {
    out.push('');
    out.push('Left stopped:');
    for (const s of plan.stopped) out.push(`  * ${s.resource}: ${s.reason}`);
  }
  if (plan.notes.length > 0) {
    out.push('');
    out.push('Notes:');
    for (const n of plan.notes) out.push(`  * ${n}`);
  }
  if (plan.recheckAt !== null) {
    out.push('');
    out.push(`Recheck at: ${plan.recheckAt} (in ${plan.recheckAt - plan.now} ms)`);
  }
  if (plan.expiredFailures.length > 0) {
    out.push('');
    out.push('Expired failures (cleared):');
    for (const f of plan.expiredFailures) out.push(`  * ${f.resource}_${f.operation} on ${f.node}`);
  }
  if (plan.keepStopped.length > 0) {
    out.push('');
    out.push('Kept stopped (target role set to stopped):');
    for (const k of plan.keepStopped) out.push(`  * ${k.reason}`);
  }
  return out.join('\n') + '\n';
}
