// Placements of a plan's end state in the same shape as revisedPlacements() reads from
// crm_simulate: primitive (or group member) → [node], clone → sorted ["node" | "node:Promoted"].
import type { Plan, SchedulerInput } from '../../src/core/scheduler/types.js';

export function planPlacements(input: SchedulerInput, plan: Plan): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const cloneOf = new Map<string, string>();
  for (const r of Object.values(input.config.resources)) {
    if (r.type !== 'clone') continue;
    const child = input.config.resources[r.child]!;
    cloneOf.set(child.type === 'group' ? child.members[0]! : child.id, r.id);
  }
  for (const t of plan.target) {
    const base = t.resource.replace(/:\d+$/, '');
    const clone = base !== t.resource ? cloneOf.get(base) : undefined;
    if (base !== t.resource && !clone) continue; // a later member of a cloned group
    if (clone) {
      const l = out.get(clone) ?? [];
      l.push(t.role === 'promoted' ? `${t.node}:Promoted` : t.node);
      out.set(clone, [...new Set(l)].sort());
    } else out.set(t.resource, [...(out.get(t.resource) ?? []), t.node].sort());
  }
  return out;
}
