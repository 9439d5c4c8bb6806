// The many-unit timeline arithmetic behind the scale figures (pure; no root needed).
import { describe, expect, it } from 'vitest';
import { firstActiveAfter, overlap } from './sampler.js';
import { activeNodes, settledPlacement, unitTimeline, type NodeReading, type SetTimeline } from './unit-set-sampler.js';
import { scaleResourceSet } from './tsha-cluster.js';

function tl(rows: Array<[number, NodeReading, NodeReading]>): SetTimeline {
  return { units: ['u1', 'u2'], nodes: ['a', 'b'], everyMs: 20, ticks: rows.map(([t, a, b]) => ({ t, dt: 1, nodes: { a, b } })) };
}

describe('unitTimeline', () => {
  it('reads a unit absent from a node as inactive and keeps down as down', () => {
    const u = unitTimeline(tl([[0, { u1: 'active' }, { u2: 'active' }], [20, 'down', { u2: 'active', u1: 'activating' }]]), 'u1');
    expect(u.ticks.map((k) => k.states)).toEqual([{ a: 'active', b: 'inactive' }, { a: 'down', b: 'activating' }]);
  });

  it("takes a silent node ('unknown') as still running only the units it ran when it last answered", () => {
    const t = tl([[0, { u1: 'active' }, { u2: 'active' }], [20, 'unknown', { u2: 'active', u1: 'active' }], [40, 'down', { u2: 'active', u1: 'active' }]]);
    const u1 = unitTimeline(t, 'u1');
    const u2 = unitTimeline(t, 'u2');
    expect(u1.ticks[1]!.states.a).toBe('unknown');
    expect(u2.ticks[1]!.states.a).toBe('inactive');
    expect(overlap(u1).ms).toBe(20); // a may still run u1 while b already does
    expect(overlap(u2).ticks).toBe(0); // b's own unit is not overlap because a went silent
    expect(firstActiveAfter(u1, 10, { exclude: ['a'] })).toEqual({ node: 'b', t: 20, ms: 10 });
  });
});

describe('placement of a set', () => {
  it('activeNodes lists every unit of the set, settledPlacement wants each on exactly one node and nothing moving', () => {
    const set = { units: ['u1', 'u2'] };
    const k = (a: NodeReading, b: NodeReading) => ({ t: 0, dt: 1, nodes: { a, b } });
    expect([...activeNodes(set, k({ u1: 'active' }, {}))]).toEqual([['u1', ['a']], ['u2', []]]);
    expect(settledPlacement(set, k({ u1: 'active' }, { u2: 'active' }))).toBe(true);
    expect(settledPlacement(set, k({ u1: 'active' }, { u2: 'active', u1: 'deactivating' }))).toBe(false);
    expect(settledPlacement(set, k({ u1: 'active', u2: 'failed' }, { u2: 'active' }))).toBe(true);
    expect(settledPlacement(set, k({ u1: 'active' }, 'unknown'))).toBe(false);
    expect(settledPlacement(set, k({ u1: 'active', u2: 'active' }, 'down'))).toBe(true);
  });
});

describe('scaleResourceSet', () => {
  it('makes r001..rN, the first groups x size of them in groups g01.., units named after the prefix', () => {
    const s = scaleResourceSet('tshx1-', 100);
    expect(s.primitives).toHaveLength(100);
    expect(s.primitives[0]).toEqual({ id: 'r001', unit: 'tshx1-r001.service' });
    expect(s.primitives[99]!.id).toBe('r100');
    expect(s.groups).toHaveLength(10);
    expect(s.groups[0]).toEqual({ id: 'g01', members: ['r001', 'r002', 'r003'] });
    expect(s.groups[9]).toEqual({ id: 'g10', members: ['r028', 'r029', 'r030'] });
    expect(() => scaleResourceSet('p', 5, { groups: 2, groupSize: 3 })).toThrow(/need 6 resources/);
  });
});
