// Random scheduler inputs for property tests, built from one integer seed (mulberry32), so a
// failing fast-check case is reproduced by its seed. Only features whose invariants are strict
// are generated: fencing always covers every node, no maintenance and no unmanaged resources.

import type { SchedulerInput } from '../../src/core/scheduler/types.js';
import { cluster, INF } from './cluster-builder.js';
import { Rng } from '../../src/core/cluster/rng.js';

/** A stream of numbers from the core's own mulberry32 generator, for one seed. */
export function rng(seed: number): () => number {
  const g = new Rng(seed | 0);
  return () => g.next();
}

/**
 * `exotic` also draws maintenance nodes, unmanaged resources, on-fail=block, operator overrides,
 * anonymous and unknown observations, watchdog fencing and disabled fencing: inputs for which
 * only the structural properties hold (no exception, a topological plan, determinism).
 */
export function randomInput(seed: number, exotic = false): SchedulerInput {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const nodeCount = 2 + int(4);
  const nodes = Array.from({ length: nodeCount }, (_, i) => `n${i + 1}`);
  const b = cluster(...nodes);
  const scores = [INF, -INF, 100, -100, 50, 0];
  const prims: string[] = [];
  const tops: string[] = [];
  const resCount = 1 + int(7);
  for (let i = 0; i < resCount; i++) {
    const kind = r();
    const stick = pick([0, 0, 100, 1000]);
    const threshold = pick([0, 0, 1, 3]);
    const onFail = pick(['restart', 'restart', 'ban', 'stop', 'fence', 'ignore', 'standby'] as const);
    const operations = [
      { name: 'start' as const, intervalMs: 0, timeoutMs: 20_000, onFail: 'restart' as const },
      { name: 'stop' as const, intervalMs: 0, timeoutMs: 20_000, onFail: 'fence' as const },
      { name: 'monitor' as const, intervalMs: 10_000, timeoutMs: 20_000, onFail },
    ];
    if (kind < 0.55) {
      const id = `p${i}`;
      b.primitive(id, { meta: { stickiness: stick, migrationThreshold: threshold, allowMigrate: r() < 0.2 }, operations, stateful: r() < 0.3 });
      prims.push(id);
      tops.push(id);
    } else if (kind < 0.8) {
      const members = [`g${i}a`, `g${i}b`, ...(r() < 0.5 ? [`g${i}c`] : [])];
      for (const m of members) b.primitive(m, { meta: { migrationThreshold: threshold }, operations });
      b.group(`g${i}`, members, { stickiness: stick });
      prims.push(...members);
      tops.push(`g${i}`);
    } else {
      const promotable = r() < 0.5;
      // a resource in a promotable clone cannot ignore failures (the configuration refuses it)
      const monitor = { ...operations[2]!, onFail: promotable && onFail === 'ignore' ? ('restart' as const) : onFail };
      b.primitive(`c${i}`, { operations: [operations[0]!, operations[1]!, monitor] });
      b.clone(`cl${i}`, `c${i}`, { promotable, max: 1 + int(nodeCount), meta: { stickiness: stick } });
      tops.push(`cl${i}`);
    }
  }
  const refs = [...tops, ...prims];
  for (let i = int(4); i > 0; i--) {
    if (r() < 0.7) b.location(pick(refs), pick(nodes), pick(scores));
    else b.location(pick(tops), null, pick(scores), { rule: { attribute: 'zone', op: pick(['eq', 'ne', 'defined'] as const), value: 'a' } });
  }
  // Colocations and orders only from later to earlier tops: no cycles (validation rejects those).
  for (let i = int(4); i > 0; i--) {
    const a = int(tops.length), c = int(tops.length);
    if (a === c) continue;
    const [dep, prim] = a > c ? [tops[a]!, tops[c]!] : [tops[c]!, tops[a]!];
    const withRole = prim.startsWith('cl') && r() < 0.5 ? { withRole: 'promoted' as const } : {};
    b.colocate(dep, prim, pick([INF, INF, -INF, 100, -100]), withRole);
  }
  for (let i = int(3); i > 0; i--) {
    const a = int(tops.length), c = int(tops.length);
    if (a === c) continue;
    const [first, then] = a < c ? [tops[a]!, tops[c]!] : [tops[c]!, tops[a]!];
    b.order(first, then, { kind: r() < 0.7 ? 'mandatory' : 'optional', symmetric: r() < 0.7 });
  }
  for (const n of nodes) if (r() < 0.5) b.attr(n, 'zone', pick(['a', 'b']));
  // Current state.
  for (const n of nodes) {
    const x = r();
    if (x < 0.15) b.node(n, { state: 'unclean' });
    else if (x < 0.22) b.node(n, { state: 'offline' });
    else if (x < 0.3) b.node(n, { standby: true });
  }
  const instIds = (top: string): string[] => {
    const res = b.config.resources[top]!;
    if (res.type === 'clone') return Array.from({ length: res.max + 1 }, (_, k) => `${res.child}:${k}`);
    if (res.type === 'group') return res.members;
    return [top];
  };
  for (const t of tops) {
    for (const id of instIds(t)) {
      const promotable = b.config.resources[t]!.type === 'clone' && (b.config.resources[t] as { promotable: boolean }).promotable;
      const x = r();
      if (x < 0.45) {
        const role = r() < 0.15 ? 'failed' : promotable ? pick(['promoted', 'unpromoted'] as const) : 'started';
        b.running(id, pick(nodes), role);
        if (role === 'failed') b.failure(id.replace(/:\d+$/, ''), pick(nodes), 'monitor', 1 + int(3), int(100_000));
      }
      if (x > 0.9) { b.running(id, pick(nodes)); b.running(id, pick(nodes)); } // possibly two copies
    }
  }
  if (r() < 0.15) b.snapshot.bans.push({ resource: pick(refs), node: pick(nodes), score: -INF });
  if (exotic) {
    for (const n of nodes) if (r() < 0.15) b.node(n, { maintenance: true });
    for (const t of tops) if (r() < 0.1) b.snapshot.overrides!.push({ resource: t, managed: false });
    for (const t of refs) if (r() < 0.1) b.snapshot.overrides!.push({ resource: t, targetRole: pick(['stopped', 'unpromoted', 'started']) });
    for (const p of prims) if (r() < 0.1) (b.config.resources[p] as { operations: { name: string; onFail: string }[] }).operations[2]!.onFail = 'block';
    for (const t of tops) {
      const res = b.config.resources[t]!;
      if (res.type === 'clone' && r() < 0.3) b.running(res.child, pick(nodes)); // anonymous instance
    }
    if (r() < 0.1) b.running('ghost', pick(nodes));
    if (r() < 0.1) b.running(pick(prims.length > 0 ? prims : ['ghost']), 'n99');
    if (r() < 0.2) { b.config.fencing.devices = []; b.config.fencing.watchdog = true; for (const n of b.snapshot.nodes) n.leaseExpiredAt = r() < 0.7 ? b.now - int(10_000) : null; }
    if (r() < 0.1) b.config.fencing.enabled = false;
    if (r() < 0.1) b.config.maintenanceMode = true;
    if (r() < 0.3) b.failure(pick(prims.length > 0 ? prims : ['ghost']), pick(nodes), pick(['start', 'stop', 'monitor', 'promote']), 1, int(10_000), { hard: r() < 0.3, fatal: r() < 0.1 });
    b.config.noQuorumPolicy = pick(['stop', 'freeze', 'fence']);
  }
  if (r() < 0.1) b.snapshot.quorate = false;
  return b.input();
}
