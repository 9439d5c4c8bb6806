// Property tests over random inputs (test/support/random-cluster.ts). The invariants are the
// scheduler's safety rules (DESIGN.md "one active copy"):
//   - a primitive is never placed twice, and running the plan never leaves two copies;
//   - a mandatory colocation or a -INFINITY ban is never violated in the plan's end state;
//   - the same input gives the same plan, whatever the key order of its objects;
//   - every start after a node loss is ordered after that node's fence;
//   - a running then of a mandatory order restarts after its first starts (Pacemaker's implies-then).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schedule } from '../../../src/core/scheduler/index.js';
import { simulate } from '../../../src/core/scheduler/simulate.js';
import type { Plan, SchedulerInput } from '../../../src/core/scheduler/types.js';
import { INF } from '../../support/cluster-builder.js';
import { randomInput, rng } from '../../support/random-cluster.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

function primsOfResource(input: SchedulerInput, id: string, plan: Plan): string[] {
  const r = input.config.resources[id];
  const instanceOf = (base: string) => plan.target.map((t) => t.resource).filter((x) => x === base || x.startsWith(`${base}:`));
  if (!r) return [];
  if (r.type === 'primitive') return instanceOf(id);
  if (r.type === 'group') return r.members.flatMap(instanceOf);
  const child = input.config.resources[r.child]!;
  return child.type === 'group' ? child.members.flatMap(instanceOf) : instanceOf(r.child);
}

/** Transitive predecessors of an action id. */
function ancestors(plan: Plan, id: number): Set<number> {
  const preds = new Map<number, number[]>();
  for (const e of plan.edges) preds.set(e.after, [...(preds.get(e.after) ?? []), e.before]);
  const seen = new Set<number>();
  const stack = [id];
  while (stack.length > 0) for (const p of preds.get(stack.pop()!) ?? []) if (!seen.has(p)) { seen.add(p); stack.push(p); }
  return seen;
}

function shuffleKeys<T>(v: T, r: () => number): T {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, r)) as T;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [keys[i], keys[j]] = [keys[j]!, keys[i]!]; }
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = shuffleKeys((v as Record<string, unknown>)[k], r);
    return out as T;
  }
  return v;
}

describe('scheduler properties', () => {
  it('a primitive is never placed twice, and running the plan leaves at most one copy', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      const sim = simulate(input);
      // a blocked resource is left as it is, each of its copies too (multiple-active=block, or
      // on-fail=fence without a fence to run): only those may be in the end state twice
      const blocked = new Set(sim.plan.notes.filter((n) => n.includes('blocked')).map((n) => n.split(':')[0]!));
      const isBlocked = (res: string): boolean => {
        const base = res.replace(/:\d+$/, '');
        const owners = Object.values(input.config.resources).filter((r) => r.id === base || (r.type === 'group' && r.members.includes(base)) || (r.type === 'clone' && r.child === base));
        return owners.some((o) => blocked.has(o.id));
      };
      const seen = new Set<string>();
      for (const t of sim.plan.target) {
        if (isBlocked(t.resource)) continue;
        expect(seen.has(t.resource), `${t.resource} placed twice (seed ${seed})`).toBe(false);
        seen.add(t.resource);
      }
      if (sim.outcome !== 'complete') return;
      const copies = new Map<string, string[]>();
      for (const o of sim.after.observations) {
        if (o.role === 'stopped') continue;
        const node = sim.after.nodes.find((n) => n.name === o.node);
        if (node?.state !== 'online') continue;
        copies.set(o.resource, [...(copies.get(o.resource) ?? []), o.node]);
      }
      for (const [res, nodes] of copies) {
        if (isBlocked(res)) continue;
        expect(nodes.length, `${res} active on ${nodes.join(', ')} after the plan (seed ${seed})`).toBeLessThanOrEqual(1);
      }
    }), { numRuns: RUNS });
  });

  it('a mandatory colocation or a -INFINITY ban is never violated in the end state', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      const plan = schedule(input.snapshot, input.config, input.now);
      const nodesOf = (id: string, promotedOnly = false) => {
        const prims = new Set(primsOfResource(input, id, plan));
        const r = input.config.resources[id]!;
        // A group is where its first member is; a clone where any instance of its chain's head is.
        const head = r.type === 'group' ? r.members[0]! : r.type === 'clone' ? (() => { const c = input.config.resources[r.child]!; return c.type === 'group' ? c.members[0]! : c.id; })() : id;
        return new Set(plan.target.filter((t) => prims.has(t.resource) && (t.resource === head || t.resource.startsWith(`${head}:`)) && (!promotedOnly || t.role === 'promoted')).map((t) => t.node));
      };
      // Blocked resources (a needed fence cannot happen, on-fail=block) are left where they are.
      const blockedUnits = new Set(plan.notes.filter((n) => n.includes(': blocked: ')).map((n) => n.split(':')[0]!));
      const blocked = new Set([...blockedUnits].flatMap((u) => primsOfResource(input, u, plan)));
      for (const c of input.config.constraints.colocation) {
        if (c.role !== undefined || blockedUnits.has(c.resource)) continue;
        const dep = nodesOf(c.resource);
        const prim = nodesOf(c.with, c.withRole === 'promoted');
        for (const n of dep) {
          if (c.score >= INF) expect(prim.has(n), `${c.id}: ${c.resource} on ${n} without ${c.with} (seed ${seed})`).toBe(true);
          if (c.score <= -INF) expect(prim.has(n), `${c.id}: ${c.resource} on ${n} with ${c.with} (seed ${seed})`).toBe(false);
        }
      }
      const bans = [
        ...input.config.constraints.location.filter((l) => l.score <= -INF && l.node !== null && l.role === undefined).map((l) => ({ resource: l.resource, node: l.node! })),
        ...input.snapshot.bans.filter((b) => b.score <= -INF),
      ];
      for (const b of bans) {
        for (const p of primsOfResource(input, b.resource, plan)) {
          if (blocked.has(p)) continue;
          expect(plan.target.some((t) => t.resource === p && t.node === b.node), `${p} placed on banned ${b.node} (seed ${seed})`).toBe(false);
        }
      }
    }), { numRuns: RUNS });
  });

  it('the same input gives the same plan, whatever the key order', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      const a = JSON.stringify(schedule(input.snapshot, input.config, input.now));
      const b = JSON.stringify(schedule(input.snapshot, input.config, input.now));
      const shuffled = shuffleKeys(input, rng(seed ^ 0x5bd1e995));
      const c = JSON.stringify(schedule(shuffled.snapshot, shuffled.config, shuffled.now));
      expect(b).toBe(a);
      expect(c).toBe(a);
    }), { numRuns: Math.ceil(RUNS / 2) });
  });

  it('every start after a node loss is ordered after that node\'s fence, and the order is topological', () => {
    fc.assert(fc.property(seedArb, fc.boolean(), (seed, exotic) => {
      const input = randomInput(seed, exotic);
      const plan = schedule(input.snapshot, input.config, input.now);
      for (const e of plan.edges) expect(e.before).toBeLessThan(e.after);
      const fences = new Map(plan.actions.filter((a) => a.type === 'fence').map((a) => [a.node, a.id]));
      const onLost = new Map<string, Set<string>>();
      for (const o of input.snapshot.observations) {
        if (!fences.has(o.node) || o.role === 'stopped') continue;
        const s = onLost.get(o.resource) ?? new Set();
        s.add(o.node);
        onLost.set(o.resource, s);
      }
      for (const a of plan.actions) {
        if (a.resource === null || !['start', 'promote', 'migrate_from'].includes(a.type)) continue;
        const lostNodes = onLost.get(a.resource);
        if (!lostNodes) continue;
        const anc = ancestors(plan, a.id);
        for (const n of lostNodes) expect(anc.has(fences.get(n)!), `${a.key} not after fence ${n} (seed ${seed})`).toBe(true);
      }
    }), { numRuns: RUNS });
  });
  it('a running then of a mandatory order restarts after its first starts (also when first is recovered from a lost node)', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      const plan = schedule(input.snapshot, input.config, input.now);
      const byKey = new Map(plan.actions.map((a) => [a.key, a]));
      const online = new Set(input.snapshot.nodes.filter((n) => n.state === 'online').map((n) => n.name));
      for (const o of input.config.constraints.order) {
        if (o.kind !== 'mandatory' || o.firstAction !== 'start' || o.thenAction !== 'start') continue;
        const firstIds = new Set(primsOfResource(input, o.first, plan));
        const firstStarts = plan.actions.filter((a) => a.resource !== null && firstIds.has(a.resource) && (a.type === 'start' || a.type === 'migrate_from'));
        if (firstStarts.length === 0) continue;
        for (const id of primsOfResource(input, o.then, plan)) {
          const copies = input.snapshot.observations.filter((x) => x.resource === id && x.role !== 'stopped' && online.has(x.node));
          const target = plan.target.find((t) => t.resource === id);
          if (copies.length !== 1 || copies[0]!.role === 'failed' || target?.node !== copies[0]!.node) continue;
          const stop = byKey.get(`stop ${id} ${target.node}`);
          const start = byKey.get(`start ${id} ${target.node}`);
          expect(stop && start, `${id} not restarted after ${o.first} starts (seed ${seed})`).toBeTruthy();
          const anc = ancestors(plan, start!.id);
          for (const f of firstStarts) expect(anc.has(f.id), `${start!.key} not after ${f.key} (seed ${seed})`).toBe(true);
        }
      }
    }), { numRuns: RUNS });
  });

  it('nothing is started or promoted without quorum, and fencing needs quorum too', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      input.snapshot.quorate = false;
      const plan = schedule(input.snapshot, input.config, input.now);
      const acting = plan.actions.filter((a) => ['start', 'promote', 'migrate_from', 'fence'].includes(a.type)).map((a) => a.key);
      expect(acting, `seed ${seed}`).toEqual([]);
    }), { numRuns: Math.ceil(RUNS / 2) });
  });

  it('one primary: never more promoted than promotedMax, and none while a lost primary is not fenced', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed);
      const plan = schedule(input.snapshot, input.config, input.now);
      const fenced = new Set(plan.actions.filter((a) => a.type === 'fence').map((a) => a.node));
      for (const r of Object.values(input.config.resources)) {
        if (r.type !== 'clone' || !r.promotable) continue;
        const mine = (id: string) => id === r.child || id.startsWith(`${r.child}:`);
        const promoted = plan.target.filter((t) => mine(t.resource) && t.role === 'promoted');
        const lostPrimary = input.snapshot.observations.some((o) => mine(o.resource) && o.role === 'promoted' &&
          input.snapshot.nodes.find((n) => n.name === o.node)?.state === 'unclean' && !input.snapshot.fenced.includes(o.node) && !fenced.has(o.node));
        expect(promoted.length, `${r.id} (seed ${seed})`).toBeLessThanOrEqual(lostPrimary ? 0 : r.promotedMax);
        for (const a of plan.actions) {
          if (a.type !== 'promote' || !mine(a.resource!)) continue;
          const anc = ancestors(plan, a.id);
          // a primary on a node being fenced: the promote waits for that fence
          for (const o of input.snapshot.observations) {
            if (!mine(o.resource) || o.role !== 'promoted' || !fenced.has(o.node)) continue;
            const f = plan.actions.find((x) => x.type === 'fence' && x.node === o.node)!;
            expect(anc.has(f.id), `${a.key} not after ${f.key} (seed ${seed})`).toBe(true);
          }
          // every demote of another instance of this clone, and every stop of a copy that is
          // promoted or failed (it may still be primary), precedes the promote
          const mayBePrimary = new Set(input.snapshot.observations.filter((o) => mine(o.resource) && (o.role === 'promoted' || o.role === 'failed')).map((o) => `${o.resource} ${o.node}`));
          for (const b of plan.actions) {
            if (!mine(b.resource ?? '') || b.resource === a.resource) continue;
            const releases = b.type === 'demote' || (b.type === 'stop' && mayBePrimary.has(`${b.resource} ${b.node}`));
            if (releases) expect(anc.has(b.id), `${a.key} before ${b.key} (seed ${seed})`).toBe(true);
          }
        }
      }
    }), { numRuns: RUNS });
  });
  it('exotic inputs (maintenance, unmanaged, block, overrides, watchdog, no fencing) never throw and give a valid, deterministic plan', () => {
    fc.assert(fc.property(seedArb, (seed) => {
      const input = randomInput(seed, true);
      const sim = simulate(input);
      const plan = sim.plan;
      for (const e of plan.edges) expect(e.before).toBeLessThan(e.after);
      expect(new Set(plan.actions.map((a) => a.key)).size).toBe(plan.actions.length);
      const again = schedule(input.snapshot, input.config, input.now);
      expect(JSON.stringify(again)).toBe(JSON.stringify(plan));
      // a second round on the simulated result also schedules without error
      schedule(sim.after, input.config, input.now + 1);
    }), { numRuns: RUNS });
  });
});
