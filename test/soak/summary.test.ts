import { describe, expect, it } from 'vitest';
import { lateGrowth, slopePerHour, summarizeNode, verdict, type Bounds, type Sample } from './summary.js';

const BOUNDS: Bounds = { rssGrowthMb: 4, rssMaxMb: 96, fdGrowth: 4, stateDirMaxKb: 10_240, logKbPerHour: 256, warmupMs: 3 * 60_000, longLivedMs: 10 * 60_000 };
const MIN = 60_000;

/** Samples of one node every 10 s for `minutes`, one agent pid from `from` (ms) on, fields from f(t). */
function series(minutes: number, f: (t: number) => Partial<Sample>, pid = 100, from = 0): Sample[] {
  const out: Sample[] = [];
  for (let t = from; t <= minutes * MIN; t += 10_000) {
    out.push({ t, node: 'n1', pid, age: t - from, rssKiB: 50 * 1024, fds: 30, stateDirBytes: 200 * 1024, logSegBytes: 100 * 1024, snapshotBytes: 10 * 1024, inputsBytes: 90 * 1024, inputsCount: 40, agentLogBytes: 100 * 1024 + t / 100, settled: t % MIN === 0, ...f(t) });
  }
  return out;
}

describe('soak summary', () => {
  it('slopePerHour: a line of 1 MB per minute is 60 MB/h; a flat line 0', () => {
    expect(slopePerHour([0, 1, 2, 3].map((m) => ({ t: m * MIN, y: 40 + m })))).toBeCloseTo(60);
    expect(slopePerHour([0, 1, 2].map((m) => ({ t: m * MIN, y: 40 })))).toBe(0);
    expect(slopePerHour([{ t: 0, y: 1 }])).toBeNull();
  });

  it('lateGrowth: a sawtooth that levelled off is not growth; a steady rise is', () => {
    // rises for a third, then flat with one drop (a full collection): ~0
    const saw = Array.from({ length: 30 }, (_, i) => (i < 10 ? 70 + i : i === 25 ? 75 : 80));
    expect(lateGrowth(saw)).toBe(0);
    expect(lateGrowth(Array.from({ length: 30 }, (_, i) => 70 + i * 0.5))).toBe(5);
  });

  it('a flat agent passes every bound', () => {
    const n = summarizeNode(series(30, () => ({})), BOUNDS);
    expect(n.rss_mb?.growth).toBe(0);
    expect(verdict({ n1: n }, BOUNDS)).toEqual({ ok: true, failures: [], unjudged: [] });
  });

  it('RSS that keeps growing after warm-up fails the growth bound; growth during warm-up does not count', () => {
    // 0.5 MB a minute for 30 minutes: 4.5 MB from the middle to the last third after the 3-minute warm-up
    const leak = summarizeNode(series(30, (t) => ({ rssKiB: (40 + t / MIN / 2) * 1024 })), BOUNDS);
    const v = verdict({ n1: leak }, BOUNDS);
    expect(v.ok).toBe(false);
    expect(v.failures.join()).toMatch(/RSS grew/);
    // +20 MB in the first 2 minutes (warm-up), flat after
    const warm = summarizeNode(series(30, (t) => ({ rssKiB: (30 + Math.min(t, 2 * MIN) / MIN * 10) * 1024 })), BOUNDS);
    expect(verdict({ n1: warm }, BOUNDS).ok).toBe(true);
    // above the ceiling, however flat
    const big = summarizeNode(series(30, () => ({ rssKiB: 100 * 1024 })), BOUNDS);
    expect(verdict({ n1: big }, BOUNDS).failures.join()).toMatch(/above 96 MB/);
  });

  it('descriptors that grow at settled phases fail; the state dir and log rate have their own bounds', () => {
    const fdLeak = summarizeNode(series(30, (t) => ({ fds: 30 + Math.floor(t / (5 * MIN)) })), BOUNDS);
    expect(verdict({ n1: fdLeak }, BOUNDS).failures.join()).toMatch(/descriptors/);
    const big = summarizeNode(series(30, (t) => ({ stateDirBytes: t * 10 })), BOUNDS);
    expect(verdict({ n1: big }, BOUNDS).failures.join()).toMatch(/state directory/);
    // 3 KB a minute is 180 KB/h: within 256; 6 KB a minute is 360 KB/h: not
    expect(verdict({ n1: summarizeNode(series(30, (t) => ({ agentLogBytes: (t / MIN) * 3 * 1024 })), BOUNDS) }, BOUNDS).ok).toBe(true);
    expect(verdict({ n1: summarizeNode(series(30, (t) => ({ agentLogBytes: (t / MIN) * 6 * 1024 })), BOUNDS) }, BOUNDS).failures.join()).toMatch(/agent log grows/);
  });

  it('agents restarted too often to judge are said to be unjudged, not passed silently; each lifetime is its own', () => {
    const a = series(4, () => ({ rssKiB: 45 * 1024 }), 100, 0);
    const b = series(8, (t) => ({ rssKiB: (45 + (t - 5 * MIN) / MIN) * 1024 }), 200, 5 * MIN);
    const n = summarizeNode([...a, ...b], BOUNDS);
    expect(n.agent_lifetimes).toBe(2);
    expect(n.lifetimes.map((l) => l.pid)).toEqual([100, 200]);
    const v = verdict({ n2: n }, BOUNDS);
    expect(v.ok).toBe(true);
    expect(v.unjudged.join()).toMatch(/no agent lived/);
  });
});
