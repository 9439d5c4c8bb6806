// The chaos campaign's outside checker and schedule (test/chaos/), on hand-made timelines: each rule
// fires on the case it names and stays quiet on the readings it explains away.
import { describe, expect, it } from 'vitest';
import type { FenceEvent } from '../../src/ports/control.js';
import type { FenceLogEntry, SampledState, Timeline } from '../cluster/harness.js';
import { check, fenceReasons, outsideView, recoveredAt, type FaultRecord } from '../chaos/checker.js';
import { drawSchedule, KINDS_2W, KINDS_3 } from '../chaos/schedule.js';

/** A timeline of 20 ms ticks from rows of states for n1, n2, n3, each row held `reps` ticks. */
function timeline(rows: [SampledState, SampledState, SampledState, number][]): Timeline {
  const ticks = [];
  let t = 0;
  for (const [a, b, c, reps] of rows) {
    for (let i = 0; i < reps; i++, t += 20) ticks.push({ t, states: { n1: a, n2: b, n3: c } });
  }
  return { unit: 'u', nodes: ['n1', 'n2', 'n3'], everyMs: 20, ticks };
}

const fence = (t: number, plug: string): FenceLogEntry => ({ t, action: 'off', plug, response: { ok: true } as FenceLogEntry['response'] });
const base = { seed: 7, boots: [], cuts: [], t0: 0, recoveryBoundMs: 15_000, fenceHistory: { events: [], keeps: 32 } };
const record = (timeUnixMs: number, target: string, reason: string): FenceEvent => ({
  target, action: 'off', status: 'ok', device: 'pdu', executor: 'n2', requestedBy: '', reason, timeUnixMs,
});

describe('chaos checker', () => {
  it('one-copy: two running nodes at one tick are a violation, attributed to the fault before it', () => {
    const tl = timeline([['active', 'inactive', 'inactive', 10], ['active', 'activating', 'inactive', 2], ['inactive', 'active', 'inactive', 60]]);
    const faults: FaultRecord[] = [{ i: 0, kind: 'cut-link', nodes: ['n1'], fenceable: ['n1'], at: 100, undoneAt: 300 }];
    const r = check({ ...base, timeline: tl, fenceLog: [], faults });
    expect(r.violations.map((v) => [v.rule, v.fault, v.at])).toEqual([['one-copy', 0, 200]]);
    expect(r.overlapMs).toBe(40);
  });

  it('one-copy: unknown counts as running, except a booting node and a dying one that was idle', () => {
    const tl = timeline([['inactive', 'active', 'inactive', 5], ['unknown', 'active', 'inactive', 5], ['down', 'active', 'inactive', 5], ['unknown', 'active', 'inactive', 5], ['inactive', 'active', 'inactive', 60]]);
    expect(check({ ...base, timeline: tl, fenceLog: [], faults: [] }).violations).toHaveLength(2);
    const view = { cuts: [{ node: 'n1', t: 100 }], boots: [{ node: 'n1', from: 300, to: 400 }] };
    expect(check({ ...base, ...view, timeline: tl, fenceLog: [], faults: [] }).violations).toEqual([]);
    // a dying HOLDER keeps its copy until its processes are gone
    const holder = timeline([['active', 'inactive', 'inactive', 5], ['unknown', 'active', 'inactive', 3], ['down', 'active', 'inactive', 60]]);
    expect(check({ ...base, cuts: [{ node: 'n1', t: 100 }], timeline: holder, fenceLog: [], faults: [] }).violations.map((v) => v.rule)).toEqual(['one-copy']);
  });

  it('recovery: one stable copy after the undo within the bound, else a violation', () => {
    const tl = timeline([['unknown', 'inactive', 'inactive', 50], ['inactive', 'active', 'inactive', 60]]);
    expect(recoveredAt(tl, 0)).toBe(1000);
    const ok = check({ ...base, timeline: tl, fenceLog: [], faults: [{ i: 0, kind: 'cut-link', nodes: ['n1'], fenceable: ['n1'], at: 0, undoneAt: 0 }] });
    expect(ok.recoveryMs).toEqual([1000]);
    expect(ok.unsettledMs).toEqual([1000]); // no settledAt: up to the end; the 50 unknown ticks
    expect(ok.violations.filter((v) => v.rule === 'recovery')).toEqual([]);
    const late = check({ ...base, recoveryBoundMs: 500, timeline: tl, fenceLog: [], faults: [{ i: 0, kind: 'cut-link', nodes: ['n1'], fenceable: ['n1'], at: 0, undoneAt: 0 }] });
    expect(late.violations.map((v) => v.rule)).toContain('recovery');
    const never = timeline([['inactive', 'inactive', 'inactive', 100]]);
    expect(check({ ...base, timeline: never, fenceLog: [], faults: [{ i: 0, kind: 'cut-link', nodes: ['n1'], fenceable: ['n1'], at: 0, undoneAt: 0 }] }).recoveryMs).toEqual([null]);
  });

  it('fence-target: a fence of a node the running fault did not touch is a violation', () => {
    const tl = timeline([['inactive', 'active', 'inactive', 100]]);
    const faults: FaultRecord[] = [
      { i: 0, kind: 'pause-member', nodes: ['n1'], fenceable: ['n1'], at: 0, undoneAt: 500, settledAt: 1000 },
      { i: 1, kind: 'term-agent', nodes: ['n1'], fenceable: [], at: 1200, undoneAt: 1500, settledAt: 1900 },
    ];
    const r = check({ ...base, timeline: tl, fenceLog: [fence(300, 'n1'), fence(1300, 'n1'), fence(400, 'n3')], faults });
    expect(r.violations.filter((v) => v.rule === 'fence-target').map((v) => [v.at, v.fault])).toEqual([[400, 0], [1300, 1]]);
  });

  it('fence-reason: every fence the device carried out has its record in the fence history, with why', () => {
    const faults: FaultRecord[] = [{ i: 0, kind: 'power-loss-holder', nodes: ['n1'], fenceable: ['n1'], at: 0, undoneAt: 5000, settledAt: 9000 }];
    const fenceLog = [fence(1000, 'n1'), fence(60_000, 'n3')];
    const why = 'fenced: node n1 is unclean (lost without confirmation) (term 2, log index 9)';
    const judge = (events: FenceEvent[] | null, keeps = 32) => fenceReasons({ ...base, faults, fenceLog, fenceHistory: events && { events, keeps } })
      .map((v) => [v.at, v.detail.replace(/:.*/, '')]);
    expect(judge([record(1400, 'n1', why), record(60_300, 'n3', why)])).toEqual([]);
    // no record for the second fence; a record of the first that does not say why
    expect(judge([record(1400, 'n1', 'fenced (term 2, log index 9)')])).toEqual([[1000, 'off of n1 recorded without a reason'], [60_000, 'off of n3 by the device has no record in the fence history']]);
    // a record too far from the device's line is not that fence's; one record serves one fence only
    expect(judge([record(40_000, 'n1', why), record(60_300, 'n3', why)]).map((v) => v[0])).toEqual([1000]);
    expect(fenceReasons({ ...base, faults, fenceLog: [fence(1000, 'n1'), fence(2000, 'n1')], fenceHistory: { events: [record(1400, 'n1', why)], keeps: 32 } }).map((v) => v.at)).toEqual([2000]);
    // a full history has lost its oldest records: older fences are not judged
    expect(judge([record(60_300, 'n3', why)], 1)).toEqual([]);
    expect(judge(null).map((v) => v[1])).toEqual(['2 fences, and no agent answered for the fence history']);
  });

  it('outsideView changes only the readings it explains', () => {
    const tl = timeline([['unknown', 'active', 'inactive', 3]]);
    expect(outsideView(tl, [])).toBe(tl);
    expect(outsideView(tl, [{ node: 'n1', from: 1000, to: 2000 }]).ticks.map((k) => k.states.n1)).toEqual(['unknown', 'unknown', 'unknown']);
  });
});

describe('chaos schedule', () => {
  it('is a function of the seed', () => {
    expect(drawSchedule(3, 20, KINDS_3)).toEqual(drawSchedule(3, 20, KINDS_3));
    expect(drawSchedule(3, 20, KINDS_3)).not.toEqual(drawSchedule(4, 20, KINDS_3));
    const s = drawSchedule(9, 200, KINDS_2W);
    expect(new Set(s.map((f) => f.kind))).toEqual(new Set(KINDS_2W));
    for (const f of s) expect(f.gapMs >= 1000 && f.gapMs <= 4000 && f.pick >= 0 && f.pick < 1).toBe(true);
  });
});
