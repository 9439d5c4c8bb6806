// The timeline arithmetic behind the failover and overlap figures (pure; no root needed).
import { describe, expect, it } from 'vitest';
import { firstActiveAfter, lastRunningOn, overlap, samplingStats, type SampledState, type Timeline } from './sampler.js';
import { unitObjectPath } from './systemd-bus.js';

function tl(rows: Array<[number, SampledState, SampledState]>): Timeline {
  return { unit: 'x.service', nodes: ['a', 'b'], everyMs: 20, ticks: rows.map(([t, a, b]) => ({ t, states: { a, b } })) };
}

describe('overlap', () => {
  it('counts ticks where two nodes run the unit at the same sampled instant, merging runs of ticks', () => {
    const o = overlap(tl([[0, 'active', 'inactive'], [20, 'active', 'activating'], [40, 'active', 'active'], [60, 'down', 'active'], [80, 'down', 'active']]));
    expect(o.ticks).toBe(2);
    expect(o.ms).toBe(40);
    expect(o.intervals).toEqual([{ from: 20, to: 60, nodes: ['a', 'b'] }]);
  });

  it("counts a silent node whose processes still live ('unknown') as running unless told otherwise", () => {
    const t = tl([[0, 'unknown', 'active'], [20, 'down', 'active']]);
    expect(overlap(t).ticks).toBe(1);
    expect(overlap(t, { unknownAsRunning: false }).ticks).toBe(0);
  });

  it('is zero when the copies never meet', () => {
    expect(overlap(tl([[0, 'active', 'inactive'], [20, 'deactivating', 'inactive'], [40, 'failed', 'active']])).ticks).toBe(0);
  });
});

describe('firstActiveAfter', () => {
  const t = tl([[0, 'active', 'inactive'], [20, 'down', 'inactive'], [40, 'down', 'activating'], [60, 'down', 'active'], [80, 'down', 'active']]);
  it('finds the first tick at or after the fault where a survivor is active (activating does not count)', () => {
    expect(firstActiveAfter(t, 10, { exclude: ['a'] })).toEqual({ node: 'b', t: 60, ms: 50 });
  });
  it('ignores ticks before the fault and excluded nodes; undefined when nobody took over', () => {
    expect(firstActiveAfter(t, 0)).toEqual({ node: 'a', t: 0, ms: 0 });
    expect(firstActiveAfter(tl([[0, 'active', 'inactive'], [20, 'down', 'inactive']]), 5, { exclude: ['a'] })).toBeUndefined();
  });
  it('lastRunningOn gives the last tick a node may have run the unit', () => {
    expect(lastRunningOn(t, 'a')).toBe(0);
    expect(lastRunningOn(t, 'b')).toBe(80);
  });
});

describe('samplingStats', () => {
  it('reports the median and largest gap between ticks', () => {
    expect(samplingStats(tl([[0, 'active', 'inactive'], [20, 'active', 'inactive'], [45, 'active', 'inactive'], [130, 'active', 'inactive']]))).toEqual({
      ticks: 4,
      medianGapMs: 25,
      maxGapMs: 85,
    });
  });
});

describe('unitObjectPath', () => {
  it("escapes like systemd's bus_label_escape", () => {
    expect(unitObjectPath('tsha-web.service')).toBe('/org/freedesktop/systemd1/unit/tsha_2dweb_2eservice');
    expect(unitObjectPath('0a@b.service')).toBe('/org/freedesktop/systemd1/unit/_30a_40b_2eservice');
  });
});
