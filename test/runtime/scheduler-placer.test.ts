// The real scheduler as the core's Placer: end-state placements of primitives from schedule(),
// nothing without quorum, clone children left alone.
import { describe, expect, it } from 'vitest';
import { compileOrThrow } from '../../src/config/validate.js';
import type { ClusterSnapshot } from '../../src/core/snapshot.js';
import { createSchedulerPlacer, sameSchedulingInput, schedulerPlacer } from '../../src/runtime/scheduler-placer.js';

const exec = { kind: 'exec', params: { start: 'true', stop: 'true', monitor: 'exit 7' } };
const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: { web: exec, ip: exec, db: { ...exec, location: [{ node: 'n3', score: 'INFINITY' }] }, agent: exec },
  groups: { site: { members: ['ip', 'web'] } },
  clones: { agents: { child: 'agent' } },
});

const snap = (over: Partial<ClusterSnapshot> = {}): ClusterSnapshot => ({
  now: 1000, quorate: true,
  nodes: ['n1', 'n2', 'n3'].map((name) => ({ name, state: 'online' as const, standby: false, maintenance: false, attributes: {} })),
  observations: [], failures: [], bans: [], fenced: [], ...over,
});

describe('schedulerPlacer', () => {
  it('places every primitive by the scheduler: groups together, location constraints honoured', () => {
    const p = schedulerPlacer(snap(), config, new Map());
    expect(p.get('db')).toBe('n3');
    expect(p.get('ip')).toBeTruthy();
    expect(p.get('web')).toBe(p.get('ip'));
    expect(p.has('agent')).toBe(false); // a clone child: not a core placement
  });

  it('keeps a running resource where it runs (stickiness) and moves it off a banned node', () => {
    const running = snap({ observations: [{ resource: 'ip', node: 'n2', role: 'started' }, { resource: 'web', node: 'n2', role: 'started' }] });
    expect(schedulerPlacer(running, config, new Map([['ip', 'n2'], ['web', 'n2']])).get('web')).toBe('n2');
    const banned = snap({ ...running, bans: [{ resource: 'web', node: 'n2', score: -1_000_000 }] });
    const p = schedulerPlacer(banned, config, new Map([['ip', 'n2'], ['web', 'n2']]));
    expect(p.get('web')).not.toBe('n2');
    expect(p.get('ip')).toBe(p.get('web'));
  });

  it('a committed placement not yet reported by its holder keeps its node (no move right after placing)', () => {
    // web+ip committed on n3, nothing reported yet: stays on n3 although n1 would be chosen fresh
    const p = schedulerPlacer(snap(), config, new Map([['ip', 'n3'], ['web', 'n3']]));
    expect(p.get('web')).toBe('n3');
    expect(p.get('ip')).toBe('n3');
  });

  it('answers nothing without quorum (everything stays where it is)', () => {
    expect(schedulerPlacer(snap({ quorate: false }), config, new Map()).size).toBe(0);
  });

  it('reuses its answer while only time and online nodes\' lease expiries move (an idle coordinator schedules once)', () => {
    const inputs: number[] = [];
    const placer = createSchedulerPlacer({ onInput: (i) => inputs.push(i.now) });
    const at = (now: number, lease: number, n2: 'online' | 'unclean' = 'online'): ClusterSnapshot =>
      snap({ now, nodes: snap().nodes.map((n) => ({ ...n, state: n.name === 'n2' ? n2 : n.state, leaseExpiredAt: lease })) });
    for (let t = 0; t < 50; t++) placer(at(1000 + 100 * t, 2000 + 100 * t), config, new Map());
    expect(inputs).toEqual([1000]);
    // a lost node's lease expiry matters (watchdog fencing waits for it): scheduled again on each change
    placer(at(7000, 8000, 'unclean'), config, new Map());
    placer(at(7100, 8000, 'unclean'), config, new Map());
    placer(at(7200, 8100, 'unclean'), config, new Map());
    expect(inputs).toEqual([1000, 7000, 7200]);
  });

  it('compares snapshots as data: any change but time and an online node\'s lease expiry is a new question', () => {
    const base = snap({ observations: [{ resource: 'web', node: 'n1', role: 'started' }], bans: [{ resource: 'db', node: 'n2', score: -5 }] });
    const withNodes = (f: (n: ClusterSnapshot['nodes'][number]) => object): ClusterSnapshot => ({ ...base, nodes: base.nodes.map((n) => ({ ...n, ...f(n) })) as ClusterSnapshot['nodes'] });
    expect(sameSchedulingInput(base, structuredClone(base))).toBe(true);
    expect(sameSchedulingInput(base, { ...base, now: 99_999 })).toBe(true);
    expect(sameSchedulingInput(withNodes(() => ({ leaseExpiredAt: 1 })), withNodes(() => ({ leaseExpiredAt: 2 })))).toBe(true);
    // an undefined field is an absent one (as in JSON)
    expect(sameSchedulingInput(base, { ...base, overrides: undefined })).toBe(true);
    const changed: [string, ClusterSnapshot][] = [
      ['quorum', { ...base, quorate: false }],
      ['an observation', { ...base, observations: [{ resource: 'web', node: 'n2', role: 'started' }] }],
      ['one more observation', { ...base, observations: [...base.observations, { resource: 'ip', node: 'n1', role: 'started' }] }],
      ['a ban score', { ...base, bans: [{ resource: 'db', node: 'n2', score: -6 }] }],
      ['a failure', { ...base, failures: [{ resource: 'web', node: 'n1', operation: 'start', count: 1, lastFailureAt: 5 }] }],
      ['a fenced node', { ...base, fenced: ['n3'] }],
      ['an override', { ...base, overrides: [{ resource: 'web', managed: false }] }],
      ['a node attribute', withNodes((n) => ({ attributes: n.name === 'n2' ? { ssd: 'yes' } : {} }))],
      ['standby', withNodes((n) => ({ standby: n.name === 'n3' }))],
      ['a node state', withNodes((n) => ({ state: n.name === 'n1' ? 'unclean' : n.state }))],
      ['one node fewer', { ...base, nodes: base.nodes.slice(1) }],
    ];
    for (const [what, other] of changed) {
      expect(sameSchedulingInput(base, other), what).toBe(false);
      expect(sameSchedulingInput(other, base), what).toBe(false);
    }
    // a lost node's lease expiry matters (fencing by watchdog waits for it)
    const lost = (lease: number) => withNodes((n) => (n.name === 'n2' ? { state: 'unclean', leaseExpiredAt: lease } : {}));
    expect(sameSchedulingInput(lost(1), lost(2))).toBe(false);
  });
});
