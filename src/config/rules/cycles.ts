// Cycles of order constraints and of mandatory colocations.

import { INFINITY } from '../types.js';
import { joinPath } from '../issues.js';
import { type Edge, findCycles } from '../cycles.js';
import { type Model, declared, known, valid } from './model.js';

/**
 * Order cycles. Start and promote are "up" actions, stop and demote "down"; a symmetric order
 * also implies the reverse order of the opposite actions. A cycle among up actions (or among down
 * actions) can never be satisfied. Orders that mix an up and a down action (stop A then start B)
 * are not part of the check.
 *
 * A group or clone is two points, "id:begin" and "id:end", around what it contains: a group's
 * members are ordered by their list between them (reversed for stops), a clone's child sits
 * between them. An order before a group reaches its begin, an order after it leaves from its end,
 * so "vip after frontend" with vip inside frontend is the cycle it is.
 */
export function checkOrderCycles(m: Model): void {
  const up: Edge[] = [];
  const down: Edge[] = [];
  const isUp = (a: string) => a === 'start' || a === 'promote';
  const composite = (id: string) => m.groupIds.has(id) || m.cloneIds.has(id);
  const begin = (id: string) => (composite(id) ? `${id}:begin` : id);
  const end = (id: string) => (composite(id) ? `${id}:end` : id);
  const chain = (graph: Edge[], ids: string[], source: string) => {
    for (let i = 0; i + 1 < ids.length; i++) graph.push({ from: end(ids[i]!), to: begin(ids[i + 1]!), source });
  };
  for (const [section, id, r] of declared(m)) {
    r.order.forEach((o, i) => {
      if ((o.after === null) === (o.before === null)) return;
      const first = o.after ?? id;
      const then = o.after !== null ? id : o.before!;
      if (first === then || !known(m, first) || !known(m, then)) return;
      const source = `${joinPath(section, id)}.order[${i}]`;
      const thenAction = o.thenAction ?? o.firstAction;
      if (isUp(o.firstAction) !== isUp(thenAction)) return;
      chain(isUp(o.firstAction) ? up : down, [first, then], source);
      if (o.symmetric) chain(isUp(o.firstAction) ? down : up, [then, first], source);
    });
  }
  if (valid(m.s.groups)) {
    for (const [id, g] of Object.entries(m.s.groups)) {
      const source = `${joinPath('groups', id)}.members`;
      up.push({ from: begin(id), to: begin(g.members[0]!), source }, { from: end(g.members.at(-1)!), to: end(id), source });
      chain(up, g.members, source);
      const reversed = [...g.members].reverse();
      down.push({ from: begin(id), to: begin(reversed[0]!), source }, { from: end(reversed.at(-1)!), to: end(id), source });
      chain(down, reversed, source);
    }
  }
  if (valid(m.s.clones)) {
    for (const [id, c] of Object.entries(m.s.clones)) {
      if (!known(m, c.child) || m.cloneIds.has(c.child)) continue;
      const source = joinPath(joinPath('clones', id), 'child');
      for (const graph of [up, down]) graph.push({ from: begin(id), to: begin(c.child), source }, { from: end(c.child), to: end(id), source });
    }
  }
  // Name each group or clone once, and leave out what it contains unless a constraint of the
  // cycle names it: "dns → frontend → dns", not "dns → frontend:begin → vip → web → frontend:end → dns".
  const readable = (cycle: ReturnType<typeof findCycles>[number]) => {
    const named = new Set<string>();
    cycle.sources.forEach((source, i) => {
      if (!isContainment(source)) named.add(cycle.nodes[i]!).add(cycle.nodes[i + 1]!);
    });
    const strip = (n: string) => n.replace(/:(begin|end)$/, '');
    const inCycle = new Set(cycle.nodes.map(strip));
    const insideAnother = (id: string): boolean => {
      for (let o = m.owner.get(id); o; o = m.owner.get(o.id)) if (inCycle.has(o.id)) return true;
      return false;
    };
    const names = cycle.nodes.filter((n) => named.has(n) || !insideAnother(strip(n))).map(strip);
    return { ...cycle, nodes: names.filter((n, i) => i === 0 || n !== names[i - 1]) };
  };
  reportCycles(m, [...findCycles(up), ...findCycles(down)].map(readable), 'order constraints form a cycle');
}

/**
 * Mandatory (+INFINITY) colocations must not form a cycle: placement would have no starting point.
 * A group goes where its first member goes and every later member follows the one before it, so
 * a first member colocated with its own group is a cycle too.
 */
export function checkColocationCycles(m: Model): void {
  const edges: Edge[] = [];
  for (const [section, id, r] of declared(m)) {
    r.colocation.forEach((c, i) => {
      if (c.score === INFINITY && c.with !== id && known(m, c.with)) edges.push({ from: id, to: c.with, source: `${joinPath(section, id)}.colocation[${i}]` });
    });
  }
  if (valid(m.s.groups)) {
    for (const [id, g] of Object.entries(m.s.groups)) {
      const source = `${joinPath('groups', id)}.members`;
      edges.push({ from: id, to: g.members[0]!, source });
      for (let i = 0; i + 1 < g.members.length; i++) edges.push({ from: g.members[i + 1]!, to: g.members[i]!, source });
    }
  }
  reportCycles(m, findCycles(edges), 'mandatory colocation constraints form a cycle');
}

/** Edges a group's member list or a clone's child implies, as opposed to constraints the user wrote. */
const isContainment = (source: string) => source.endsWith('.members') || source.endsWith('.child');

function reportCycles(m: Model, cycles: ReturnType<typeof findCycles>, what: string): void {
  const seen = new Set<string>();
  for (const cycle of cycles) {
    const key = [...new Set(cycle.nodes)].sort().join('\u0000');
    if (seen.has(key)) continue;
    seen.add(key);
    const sources = [...new Set(cycle.sources)];
    // Anchor the message at a constraint the user wrote (not a group's implied order), the same one every run.
    const anchor = [...sources].sort().find((s) => !isContainment(s)) ?? sources[0]!;
    m.ctx.error(anchor, `${what}: ${cycle.nodes.join(' → ')} (from ${sources.join(', ')})`);
  }
}
