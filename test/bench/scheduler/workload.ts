// Deterministic workload for the scheduler benchmark: one neutral description of a
// cluster (nodes, resources, constraints, what currently runs where, which node was lost) from
// which both tsha's inputs (CompiledConfig + ClusterSnapshot, see tsha-input.ts) and Pacemaker's
// CIB (see cib.ts) are rendered, so that the two schedulers face the same problem by construction.
//
// Shape, for R resources (primitives) on N nodes:
// - 60 % standalone primitives, 30 % in groups of 3 to 5 members, 10 % cloned (one primitive per
//   clone; a fifth of the clones run on every node, the others on min(N, 3) nodes);
// - location constraints on about 15 % of the groups and standalone primitives: prefer a node
//   (score 10..50), ban a node (-INFINITY), prefer a rack by rule (25), require ssd=yes by rule
//   (ssd ne yes: -INFINITY);
// - colocations on about 8 % of the standalone primitives, with an earlier primitive or a group:
//   mandatory together (INFINITY), scored together (500) or scored apart (-500);
// - orders on about 8 % of the standalone primitives, after an earlier primitive or a group:
//   start-then-start, mandatory (70 %) or optional, symmetric;
// - resource stickiness 100 everywhere, larger than every preference score, so the current
//   placement is stable unless something forces a move;
// - about 10 % of the unconstrained standalone primitives are not running yet (both schedulers
//   must start them); everything else runs, placed by a greedy pass that honours every mandatory
//   rule and the scored colocations;
// - variant 'node-lost': the last node is lost without a clean leave (Pacemaker: node_state not in
//   the membership, expected member; tsha: state 'unclean') while its resources were running there.

import { INFINITY } from '../../../src/config/types.js';
import { Rng } from '../../../src/core/cluster/rng.js';

export type Variant = 'steady' | 'node-lost';

export interface WorkloadSpec {
  nodes: number;
  resources: number;
  seed: number;
  variant: Variant;
}

export interface WorkloadNode {
  name: string;
  /** every node defines every attribute, so rule semantics for undefined attributes never matter */
  attributes: { rack: string; ssd: 'yes' | 'no' };
}

export interface WorkloadGroup {
  id: string;
  members: string[];
}

export interface WorkloadClone {
  id: string;
  child: string;
  max: number;
}

export interface WorkloadLocation {
  id: string;
  resource: string;
  node: string | null;
  rule: { attribute: 'rack' | 'ssd'; op: 'eq' | 'ne'; value: string } | null;
  score: number;
}

export interface WorkloadColocation {
  id: string;
  resource: string;
  with: string;
  score: number;
}

export interface WorkloadOrder {
  id: string;
  first: string;
  then: string;
  kind: 'mandatory' | 'optional';
}

/** A primitive instance running on a node. Clone instances carry their instance number. */
export interface Running {
  primitive: string;
  instance: number | null;
  node: string;
}

export interface Workload {
  spec: WorkloadSpec;
  nodes: WorkloadNode[];
  /** every primitive id, in creation order */
  primitives: string[];
  standalone: string[];
  groups: WorkloadGroup[];
  clones: WorkloadClone[];
  location: WorkloadLocation[];
  colocation: WorkloadColocation[];
  order: WorkloadOrder[];
  /** what ran before the event (on every node, including the lost one) */
  running: Running[];
  /** the node lost without a clean leave, or null in the steady variant */
  lostNode: string | null;
  stickiness: number;
  monitorIntervalMs: number;
  opTimeoutMs: number;
}

/** The core's mulberry32 generator as a stream; the seed fixes everything. */
export function seededRandom(seed: number): () => number {
  const g = new Rng(seed | 0);
  return () => g.next();
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function generateWorkload(spec: WorkloadSpec): Workload {
  const { nodes: nodeCount, resources: resourceCount, seed, variant } = spec;
  if (!Number.isInteger(nodeCount) || nodeCount < 2) throw new Error(`nodes: need an integer ≥ 2, got ${nodeCount}`);
  if (!Number.isInteger(resourceCount) || resourceCount < 10) {
    throw new Error(`resources: need an integer ≥ 10, got ${resourceCount}`);
  }
  const rnd = seededRandom(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => {
    const x = xs[Math.floor(rnd() * xs.length)];
    if (x === undefined) throw new Error('pick from an empty list');
    return x;
  };

  const nodes: WorkloadNode[] = [];
  for (let i = 1; i <= nodeCount; i++) {
    nodes.push({ name: `n${i}`, attributes: { rack: `rack${(i - 1) % 4}`, ssd: i % 2 === 1 ? 'yes' : 'no' } });
  }
  const nodeNames = nodes.map((n) => n.name);
  const ssdNodes = new Set(nodes.filter((n) => n.attributes.ssd === 'yes').map((n) => n.name));
  const rackOf = new Map(nodes.map((n) => [n.name, n.attributes.rack]));

  const width = String(resourceCount).length;
  const primitives: string[] = [];
  for (let i = 1; i <= resourceCount; i++) primitives.push(`rsc${pad(i, width)}`);

  const cloneCount = Math.round(resourceCount * 0.1);
  const groupedCount = Math.round(resourceCount * 0.3);
  let next = 0;

  const clones: WorkloadClone[] = [];
  for (let c = 0; c < cloneCount; c++) {
    const child = primitives[next++]!;
    const max = c % 5 === 0 ? nodeCount : Math.min(nodeCount, 3);
    clones.push({ id: `cln${pad(c + 1, width)}`, child, max });
  }

  const groups: WorkloadGroup[] = [];
  let grouped = 0;
  while (grouped < groupedCount) {
    const size = Math.min(int(3, 5), groupedCount - grouped);
    const members = primitives.slice(next, next + size);
    next += size;
    grouped += size;
    if (size < 3 && groups.length > 0) groups[groups.length - 1]!.members.push(...members);
    else groups.push({ id: `grp${pad(groups.length + 1, width)}`, members });
  }
  const standalone = primitives.slice(next);

  // Constraints. Colocations and orders point backwards (to a group or an earlier standalone
  // primitive), so the dependency graph is acyclic and a greedy placement in order satisfies it.
  const colocation: WorkloadColocation[] = [];
  const order: WorkloadOrder[] = [];
  const location: WorkloadLocation[] = [];
  const referenced = new Set<string>();
  // A colocation dependent gets no location constraint: Pacemaker feeds a dependent's bans back
  // into its primary's scores ("influence"), which would make the greedy placement below unstable.
  const dependent = new Set<string>();
  const targetsFor = (index: number): string[] => [...groups.map((g) => g.id), ...standalone.slice(0, index)];

  standalone.forEach((rsc, index) => {
    if (index < 2) return;
    if (rnd() < 0.08) {
      const target = pick(targetsFor(index));
      const r = rnd();
      const score = r < 0.4 ? INFINITY : r < 0.8 ? 500 : -500;
      colocation.push({ id: `col-${rsc}-${target}`, resource: rsc, with: target, score });
      referenced.add(rsc).add(target);
      dependent.add(rsc);
    }
    if (rnd() < 0.08) {
      const first = pick(targetsFor(index));
      order.push({ id: `ord-${first}-${rsc}`, first, then: rsc, kind: rnd() < 0.7 ? 'mandatory' : 'optional' });
      referenced.add(rsc).add(first);
    }
  });

  const locatable = [...groups.map((g) => g.id), ...standalone].filter((id) => !dependent.has(id));
  for (const rsc of locatable) {
    if (rnd() >= 0.15) continue;
    const r = rnd();
    if (r < 0.5) {
      const node = pick(nodeNames);
      location.push({ id: `loc-${rsc}-prefer-${node}`, resource: rsc, node, rule: null, score: int(10, 50) });
    } else if (r < 0.75) {
      const node = pick(nodeNames);
      location.push({ id: `loc-${rsc}-ban-${node}`, resource: rsc, node, rule: null, score: -INFINITY });
    } else if (r < 0.9) {
      const rack = rackOf.get(pick(nodeNames))!;
      location.push({
        id: `loc-${rsc}-rack`, resource: rsc, node: null, rule: { attribute: 'rack', op: 'eq', value: rack }, score: 25,
      });
    } else {
      location.push({
        id: `loc-${rsc}-ssd`, resource: rsc, node: null, rule: { attribute: 'ssd', op: 'ne', value: 'yes' }, score: -INFINITY,
      });
    }
  }

  // Current placement: a greedy pass that honours bans, ssd requirements and colocations, and
  // otherwise balances the number of running primitives per node.
  const load = new Map(nodeNames.map((n) => [n, 0]));
  const placedOn = new Map<string, string>(); // group or standalone primitive → node
  const running: Running[] = [];
  const locationsOf = new Map<string, WorkloadLocation[]>();
  for (const l of location) locationsOf.set(l.resource, [...(locationsOf.get(l.resource) ?? []), l]);
  const allowed = (rsc: string, node: string): boolean =>
    (locationsOf.get(rsc) ?? []).every((l) => {
      if (l.score !== -INFINITY) return true;
      if (l.node !== null) return l.node !== node;
      return ssdNodes.has(node);
    });
  const preferred = (rsc: string, candidates: string[]): string => {
    for (const l of locationsOf.get(rsc) ?? []) {
      if (l.score <= 0) continue;
      const hit = candidates.find((n) => (l.node !== null ? n === l.node : rackOf.get(n) === l.rule?.value));
      if (hit !== undefined) return hit;
    }
    return candidates.reduce((best, n) => (load.get(n)! < load.get(best)! ? n : best));
  };
  const place = (rsc: string, node: string, members: string[]): void => {
    placedOn.set(rsc, node);
    for (const m of members) running.push({ primitive: m, instance: null, node });
    load.set(node, load.get(node)! + members.length);
  };

  for (const g of groups) place(g.id, preferred(g.id, nodeNames.filter((n) => allowed(g.id, n))), g.members);

  const colocationOf = new Map(colocation.map((c) => [c.resource, c]));
  const notRunning = new Set<string>();
  for (const rsc of standalone) {
    if (!referenced.has(rsc) && !locationsOf.has(rsc) && rnd() < 0.1) {
      notRunning.add(rsc);
      continue;
    }
    let candidates = nodeNames.filter((n) => allowed(rsc, n));
    const col = colocationOf.get(rsc);
    const targetNode = col === undefined ? undefined : placedOn.get(col.with);
    if (col !== undefined && targetNode !== undefined) {
      if (col.score > 0 && candidates.includes(targetNode)) candidates = [targetNode];
      else if (col.score < 0 && candidates.length > 1) candidates = candidates.filter((n) => n !== targetNode);
    }
    place(rsc, preferred(rsc, candidates), [rsc]);
  }

  clones.forEach((c, index) => {
    for (let i = 0; i < c.max; i++) {
      const node = nodeNames[(index + i) % nodeCount]!;
      running.push({ primitive: c.child, instance: i, node });
      load.set(node, load.get(node)! + 1);
    }
  });

  return {
    spec,
    nodes,
    primitives,
    standalone,
    groups,
    clones,
    location,
    colocation,
    order,
    running,
    lostNode: variant === 'node-lost' ? nodeNames[nodeCount - 1]! : null,
    stickiness: 100,
    monitorIntervalMs: 10_000,
    opTimeoutMs: 20_000,
  };
}

/** Counts a reader can check the two renderings against. */
export function describeWorkload(w: Workload): Record<string, number> {
  return {
    nodes: w.nodes.length,
    primitives: w.primitives.length,
    standalone: w.standalone.length,
    groups: w.groups.length,
    groupMembers: w.groups.reduce((s, g) => s + g.members.length, 0),
    clones: w.clones.length,
    cloneInstances: w.clones.reduce((s, c) => s + c.max, 0),
    location: w.location.length,
    colocation: w.colocation.length,
    order: w.order.length,
    runningInstances: w.running.length,
    runningOnLostNode: w.lostNode === null ? 0 : w.running.filter((r) => r.node === w.lostNode).length,
  };
}
