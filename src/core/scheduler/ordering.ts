// Stage 7: apply orderings (Pacemaker's apply_orderings). Turns the rules that keep one active
// copy, group order, promotable role changes, user order constraints and fencing into edges
// between the plan's actions. An edge "a → b" means b may begin only after a succeeded.

import type { OrderAction } from '../../config/types.js';
import type { PlanActionType } from './types.js';
import type { WPrim, WorkingSet } from './working-set.js';
import { actionKey, interleaved, primsFor } from './working-set.js';

/** The plan's actions of one primitive, by type (an index built once per schedule). */
type ActionIndex = Map<WPrim, Map<PlanActionType, string[]>>;

function buildIndex(ws: WorkingSet): ActionIndex {
  const idx: ActionIndex = new Map();
  for (const a of ws.actions.values()) {
    if (a.resource === null) continue;
    const p = ws.prims.get(a.resource);
    if (!p) continue;
    let m = idx.get(p);
    if (!m) idx.set(p, (m = new Map()));
    const l = m.get(a.type);
    if (l) l.push(a.key);
    else m.set(a.type, [a.key]);
  }
  return idx;
}

const INVERSE: Record<OrderAction, OrderAction> = { start: 'stop', stop: 'start', promote: 'demote', demote: 'promote' };

export function applyOrderings(ws: WorkingSet): void {
  const idx = buildIndex(ws);
  const edge = (a: string, b: string) => { if (a !== b) ws.edges.push([a, b]); };
  const of = (p: WPrim, t: PlanActionType) => idx.get(p)?.get(t) ?? [];
  const nodeOfKey = (k: string) => ws.actions.get(k)!.node;

  for (const m of idx.values()) {
    const starts = m.get('start') ?? [];
    const stops = m.get('stop') ?? [];
    const demotes = m.get('demote') ?? [];
    const promotes = m.get('promote') ?? [];
    // One active copy: every stop of a primitive precedes its start (move, restart, recovery).
    for (const s of stops) for (const t of starts) edge(s, t);
    for (const d of demotes) for (const s of stops) if (nodeOfKey(d) === nodeOfKey(s)) edge(d, s);
    for (const s of starts) for (const pr of promotes) if (nodeOfKey(s) === nodeOfKey(pr)) edge(s, pr);
    for (const d of demotes) for (const pr of promotes) edge(d, pr);
    for (const mt of m.get('migrate_to') ?? []) for (const mf of m.get('migrate_from') ?? []) edge(mt, mf);
    // Monitors begin once the resource reached its role on that node.
    for (const mon of m.get('monitor') ?? []) {
      const n = nodeOfKey(mon);
      for (const t of ['start', 'promote', 'demote', 'migrate_from'] as const) {
        for (const k of m.get(t) ?? []) if (nodeOfKey(k) === n) edge(k, mon);
      }
    }
  }

  for (const unit of ws.units) {
    // Groups: members start in order and stop in reverse.
    for (const chain of unit.instances) {
      for (let i = 0; i + 1 < chain.length; i++) {
        const a = chain[i]!, b = chain[i + 1]!;
        for (const x of of(a, 'start')) for (const y of of(b, 'start')) edge(x, y);
        for (const x of of(a, 'migrate_from')) for (const y of of(b, 'start')) edge(x, y);
        for (const x of of(b, 'stop')) for (const y of of(a, 'stop')) edge(x, y);
        for (const x of of(b, 'stop')) for (const y of of(a, 'migrate_to')) edge(x, y);
        for (const x of of(a, 'promote')) for (const y of of(b, 'promote')) edge(x, y);
        for (const x of of(b, 'demote')) for (const y of of(a, 'demote')) edge(x, y);
      }
    }
    // Promotable clones: one primary. Every demote precedes every promote of the clone, and so
    // does the stop of a copy that is promoted or failed (a failed copy may still be primary).
    if (unit.clone?.promotable) {
      const releases: string[] = [];
      const promotes: string[] = [];
      for (const chain of unit.instances) {
        for (const p of chain) {
          releases.push(...of(p, 'demote'));
          for (const c of p.active) {
            if (c.role !== 'promoted' && c.role !== 'failed') continue;
            const k = actionKey('stop', p.id, ws.nodes[c.node]!.name);
            if (ws.actions.has(k)) releases.push(k);
          }
          promotes.push(...of(p, 'promote'));
        }
      }
      for (const d of releases) for (const pr of promotes) edge(d, pr);
    }
  }

  // User order constraints (and their reverse when symmetric).
  for (const o of ws.config.constraints.order) {
    const first = primsFor(ws, o.first);
    const then = primsFor(ws, o.then);
    // A stop also ends a promoted role (a failed primary is stopped without a demote), so
    // "demote" endpoints include stops; "start" endpoints include live-migration arrivals.
    const actionsOf = (p: WPrim, t: OrderAction): string[] =>
      t === 'start' ? [...of(p, 'start'), ...of(p, 'migrate_from')] : t === 'demote' ? [...of(p, 'demote'), ...of(p, 'stop')] : of(p, t);
    // Interleaved clones: an instance waits only for the other clone's actions on its node.
    const perNode = interleaved(ws, o.first, o.then);
    const link = (fs: WPrim[], fa: OrderAction, ts: WPrim[], ta: OrderAction) => {
      const before = fs.flatMap((p) => actionsOf(p, fa));
      if (before.length === 0) return;
      const after = ts.flatMap((p) => actionsOf(p, ta));
      for (const a of before) for (const b of after) if (!perNode || nodeOfKey(a) === nodeOfKey(b)) edge(a, b);
    };
    link(first, o.firstAction, then, o.thenAction);
    if (o.symmetric) link(then, INVERSE[o.thenAction], first, INVERSE[o.firstAction]);
  }

  // Fencing: nothing that was on a lost node is started, promoted or taken over elsewhere
  // before that node's fence completed.
  for (const unit of ws.units) {
    const lostNodes = new Set<number>();
    for (const chain of unit.instances) for (const p of chain) for (const c of p.onLost) lostNodes.add(c.node);
    if (lostNodes.size === 0) continue;
    const fences = [...lostNodes].map((n) => ws.nodes[n]!).filter((n) => n.fence !== null).map((n) => actionKey('fence', null, n.name));
    if (fences.length === 0) continue;
    for (const chain of unit.instances) {
      for (const p of chain) {
        for (const t of ['start', 'promote', 'migrate_from'] as const) {
          for (const k of of(p, t)) for (const f of fences) edge(f, k);
        }
      }
    }
  }
}
