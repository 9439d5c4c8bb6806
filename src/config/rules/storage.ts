// Storage across resources: one RBD image or DRBD resource is held by one resource (one writer),
// and a stateful resource that no storage resource comes before is protected by fencing alone.

import { joinPath } from '../issues.js';
import type { RawPrimitive } from '../options.js';
import { type Model, declared, valid } from './model.js';

function storageKey(s: NonNullable<RawPrimitive['storage']>): string {
  return s.type === 'rbd' ? `Ceph RBD image ${s.pool ?? '?'}/${s.image ?? '?'}` : `DRBD resource ${s.resource ?? '?'}${s.volume !== null ? ` volume ${s.volume}` : ''}`;
}

/** Two resources that hold the same image (or DRBD resource) could write to it from two nodes. */
export function checkSharedStorage(m: Model): void {
  if (!valid(m.s.resources)) return;
  const holders = new Map<string, string>();
  for (const [id, r] of Object.entries(m.s.resources)) {
    if (!r.storage) continue;
    const key = storageKey(r.storage);
    const first = holders.get(key);
    if (first === undefined) holders.set(key, id);
    else {
      m.ctx.error(
        joinPath(joinPath('resources', id), 'storage'),
        `${key} is also held by resources.${first}: one resource holds it (one writer); order the resources that use it after that one`,
      );
    }
  }
}

/**
 * Fencing off: a lost node may still run and write. A resource that holds Ceph RBD storage is safe
 * all the same, because its takeover blocklists the lost node's client before anything starts
 * elsewhere (Ceph refuses that client's writes from then on), and so is a stateful resource that
 * starts after one (an earlier group member, or an order constraint, directly or through others).
 * DRBD storage, or a stateful resource with no RBD storage before it, is refused: nothing would
 * keep the lost node from writing.
 */
export function checkStatefulWithoutFencing(m: Model): void {
  if (!valid(m.s.resources) || m.fencingEnabled !== false) return;
  const resources = m.s.resources;
  const before = startsAfter(m);
  for (const [id, r] of Object.entries(resources)) {
    const path = joinPath('resources', id);
    if (r.storage?.type === 'rbd') {
      m.ctx.warn(joinPath(path, 'storage'), 'fencing is disabled: only the RBD image is protected from the lost node (its Ceph client is blocklisted); anything else it writes is not');
      continue;
    }
    if (r.storage) {
      m.ctx.error(joinPath(path, 'storage'), 'holds DRBD storage but fencing is disabled (fencing.enabled = false): refused, a lost node could still write to its disk while it is promoted elsewhere');
      continue;
    }
    if (!r.stateful) continue;
    const rbd = before(id).find((p) => resources[p]?.storage?.type === 'rbd');
    if (rbd === undefined) {
      m.ctx.error(
        joinPath(path, 'stateful'),
        'is stateful but fencing is disabled (fencing.enabled = false): refused, a lost node could still write to it while it starts elsewhere; enable fencing, or keep its data on Ceph RBD storage held by a resource it starts after',
      );
    }
  }
}

/** The primitives a resource starts after, directly or through others (start/promote orders, earlier group members, what its group or clone starts after). */
function startsAfter(m: Model): (id: string) => string[] {
  const after = new Map<string, Set<string>>();
  const add = (then: string, first: string) => {
    const s = after.get(then) ?? new Set<string>();
    s.add(first);
    after.set(then, s);
  };
  for (const [, id, r] of declared(m)) {
    for (const o of r.order) {
      if (o.firstAction !== 'start' && o.firstAction !== 'promote') continue;
      if (o.after !== null) add(id, o.after);
      else if (o.before !== null) add(o.before, id);
    }
  }
  if (valid(m.s.groups)) {
    for (const g of Object.values(m.s.groups)) g.members.forEach((mem, i) => i > 0 && add(mem, g.members[i - 1]!));
  }
  // what a group or clone starts after, what it contains starts after too
  for (const [id, o] of m.owner) add(id, `^${o.id}`);
  const primitives = (id: string, seen: Set<string>): string[] => {
    if (seen.has(id)) return [];
    seen.add(id);
    if (valid(m.s.groups) && Object.hasOwn(m.s.groups, id)) return m.s.groups[id]!.members.flatMap((x) => primitives(x, seen));
    if (valid(m.s.clones) && Object.hasOwn(m.s.clones, id)) return primitives(m.s.clones[id]!.child, seen);
    return [id];
  };
  return (id) => {
    const found: string[] = [];
    const seen = new Set<string>([id]);
    const todo = [id];
    while (todo.length > 0) {
      for (const edge of after.get(todo.pop()!) ?? []) {
        const container = edge.startsWith('^');
        const x = container ? edge.slice(1) : edge;
        if (seen.has(edge)) continue;
        seen.add(edge);
        if (!container) found.push(...primitives(x, new Set()));
        todo.push(x);
      }
    }
    return found;
  };
}
