// Unit tests per pipeline stage: scores, unpack status, location, assignment order, actions,
// graph, and applying results.
import { describe, expect, it } from 'vitest';
import { applyResults } from '../../../src/core/scheduler/apply-results.js';
import { assignmentOrder, assignResources } from '../../../src/core/scheduler/assign.js';
import { indexConstraints } from '../../../src/core/scheduler/colocation.js';
import { createGraph, PlanCycleError } from '../../../src/core/scheduler/graph.js';
import { schedule } from '../../../src/core/scheduler/index.js';
import { applyLocation, ruleMatches } from '../../../src/core/scheduler/location.js';
import { addScores, formatScore, INFINITY } from '../../../src/core/scheduler/scores.js';
import { SchedulerInputError, unpackStatus } from '../../../src/core/scheduler/unpack-status.js';
import { cluster, INF } from '../../support/cluster-builder.js';

const unpack = (b: ReturnType<typeof cluster>) => { const i = b.input(); return unpackStatus(i.snapshot, i.config, i.now); };

describe('scores', () => {
  it('follows Pacemaker arithmetic: -INFINITY wins, sums saturate', () => {
    expect(addScores(INFINITY, -INFINITY)).toBe(-INFINITY);
    expect(addScores(INFINITY, 5)).toBe(INFINITY);
    expect(addScores(900_000, 200_000)).toBe(INFINITY);
    expect(addScores(-900_000, -200_000)).toBe(-INFINITY);
    expect(addScores(10, -3)).toBe(7);
    expect(formatScore(-INFINITY)).toBe('-INFINITY');
  });
});

describe('unpack status', () => {
  it('marks unclean nodes lost with a device fence, and moves their copies aside', () => {
    const ws = unpack(cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' }));
    const n1 = ws.nodes[0]!;
    expect(n1.lost).toBe(true);
    expect(n1.canHost).toBe(false);
    expect(n1.fence).toMatchObject({ method: 'device', devices: ['ipmi'] });
    const web = ws.prims.get('web')!;
    expect(web.active).toEqual([]);
    expect(web.onLost).toEqual([{ node: 0, role: 'started' }]);
  });

  it('fences a node an operator asked for (tsha fence) before its resources move, with the action asked for', () => {
    const b = cluster().primitive('web').running('web', 'n1');
    b.snapshot.fenceRequests = [{ node: 'n1', action: 'reboot', by: 'cli:root' }];
    const plan = schedule(b.input().snapshot, b.input().config, b.now);
    const fence = plan.actions.find((a) => a.type === 'fence');
    expect(fence).toMatchObject({ node: 'n1', method: 'device', devices: ['ipmi'], fenceAction: 'reboot', reason: 'operator request by cli:root' });
    const start = plan.actions.find((a) => a.type === 'start' && a.resource === 'web')!;
    expect(start.node).not.toBe('n1');
    expect(plan.edges).toContainEqual({ before: fence!.id, after: start.id });
    // without quorum nothing is fenced; the note says why
    const nq = cluster().primitive('web').running('web', 'n1');
    nq.snapshot.fenceRequests = [{ node: 'n1', action: 'off', by: 'cli:root' }];
    nq.snapshot.quorate = false;
    const ws = unpackStatus(nq.input().snapshot, nq.input().config, nq.now);
    expect(ws.nodes[0]!.fence).toBeNull();
    expect(ws.notes).toContain('node n1: fence requested by cli:root, but the partition has no quorum');
  });

  it('computes the watchdog fence time from the lease expiry plus the watchdog timeout', () => {
    const b = cluster().primitive('web').node('n2', { state: 'unclean', leaseExpiredAt: 900_000 });
    b.config.fencing.devices = [];
    b.config.fencing.watchdog = true;
    const ws = unpack(b);
    expect(ws.nodes[1]!.fence).toMatchObject({ method: 'watchdog', notBefore: 905_000 });
  });

  it('applies migration-threshold per node and forgets failures past failure-timeout', () => {
    const b = cluster().primitive('web', { meta: { migrationThreshold: 2, failureTimeoutMs: 10_000 } })
      .failure('web', 'n1', 'monitor', 2, 5_000).failure('web', 'n2', 'monitor', 5, 20_000).failure('web', 'n3', 'monitor', 1, 1_000);
    const ws = unpack(b);
    const web = ws.prims.get('web')!;
    expect([...web.bans.keys()]).toEqual([0]);
    expect(web.bans.get(0)).toBe('migration-threshold 2 reached on n1 (2 failures)');
    expect(ws.expiredFailures).toEqual([{ resource: 'web', node: 'n2', operation: 'monitor' }]);
  });

  it('strips clone instance numbers from failure records (anonymous clone fail counts)', () => {
    const ws = unpack(cluster().clone('dns-clone', 'dns').failure('dns:1', 'n2', 'monitor', 1, 1000, { hard: true }));
    for (let i = 0; i < 3; i++) expect(ws.prims.get(`dns:${i}`)!.bans.has(1)).toBe(true);
  });

  it('rejects a group member that is not a primitive, naming it', () => {
    const b = cluster().primitive('a').group('g', ['a']);
    (b.config.resources.g as { members: string[] }).members.push('nope');
    expect(() => unpack(b)).toThrow(SchedulerInputError);
    expect(() => unpack(b)).toThrow('resources.g.members[1]: "nope" is not a primitive resource');
  });
});

describe('location', () => {
  it('matches node attribute rules, with #uname for the node name', () => {
    const n = { name: 'n1', attributes: { rack: 'a' } } as never;
    expect(ruleMatches({ attribute: 'rack', op: 'eq', value: 'a' }, n)).toBe(true);
    expect(ruleMatches({ attribute: 'rack', op: 'ne', value: 'a' }, n)).toBe(false);
    expect(ruleMatches({ attribute: 'ssd', op: 'not_defined' }, n)).toBe(true);
    expect(ruleMatches({ attribute: '#uname', op: 'eq', value: 'n1' }, n)).toBe(true);
  });

  it('compares numbers as numbers when both sides are numbers, like Pacemaker type="number"', () => {
    const n = (v: string) => ({ name: 'n1', attributes: { mem: v } }) as never;
    expect(ruleMatches({ attribute: 'mem', op: 'gt', value: '10' }, n('9'))).toBe(false); // "9" > "10" as strings
    expect(ruleMatches({ attribute: 'mem', op: 'gt', value: '10' }, n('16'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'gte', value: '16' }, n('16.0'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'lt', value: '1e3' }, n('999'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'lte', value: '-1' }, n('-2'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'eq', value: '10', type: 'number' }, n('10.0'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'eq', value: '10' }, n('10.0'))).toBe(false);
    expect(ruleMatches({ attribute: 'mem', op: 'ne', value: '10', type: 'number' }, n('10.0'))).toBe(false);
    // Not a number on the node: compared as strings (case-insensitive), as Pacemaker falls back.
    expect(ruleMatches({ attribute: 'mem', op: 'gt', value: '10' }, n('abc'))).toBe(true);
    expect(ruleMatches({ attribute: 'mem', op: 'gt', value: '10', type: 'string' }, n('9'))).toBe(true);
    expect(ruleMatches({ attribute: 'other', op: 'gt', value: '10' }, n('16'))).toBe(false);
  });

  it('a -INFINITY on a later group member cuts the chain on that node only', () => {
    const ws = unpack(cluster().group('g', ['a', 'b', 'c']).location('b', 'n2', -INF).location('g', 'n3', 10));
    applyLocation(ws);
    const g = ws.unitById.get('g')!;
    expect(g.cut).toEqual([3, 1, 3]);
    expect(g.base).toEqual([0, 0, 10]);
  });
});

describe('assignment', () => {
  it('places colocation primaries and mandatory predecessors first', () => {
    const ws = unpack(cluster().primitive('a').primitive('b').primitive('c').colocate('a', 'c').order('b', 'a'));
    const order = assignmentOrder(ws, indexConstraints(ws)).map((u) => u.id);
    expect(order.indexOf('c')).toBeLessThan(order.indexOf('a'));
    expect(order.indexOf('b')).toBeLessThan(order.indexOf('a'));
  });

  it('a tie keeps a resource on its current node instead of rebalancing', () => {
    const ws = unpack(cluster().primitive('a').primitive('b').running('a', 'n1').running('b', 'n1'));
    applyLocation(ws);
    assignResources(ws, indexConstraints(ws));
    expect(ws.prims.get('b')!.target).toEqual({ node: 0, role: 'started' });
  });

  it('reports why a resource is left stopped', () => {
    const i = cluster().primitive('db').primitive('web').colocate('web', 'db').location('db', 'n1', -INF).location('db', 'n2', -INF).location('db', 'n3', -INF).input();
    const plan = schedule(i.snapshot, i.config, i.now);
    expect(plan.stopped).toEqual([
      { resource: 'db', reason: 'every eligible node is banned or forbidden for it' },
      { resource: 'web', reason: 'mandatory colocation with db cannot be satisfied (db is not active)' },
    ]);
  });
});

describe('graph', () => {
  it('throws a PlanCycleError naming the actions of an ordering cycle', () => {
    const ws = unpack(cluster().primitive('a').primitive('b'));
    for (const k of ['start a n1', 'start b n1']) ws.actions.set(k, { id: -1, key: k, type: 'start', resource: k.split(' ')[1]!, node: 'n1', timeoutMs: 1, reason: '' });
    ws.edges.push(['start a n1', 'start b n1'], ['start b n1', 'start a n1']);
    expect(() => createGraph(ws)).toThrow(PlanCycleError);
    expect(() => createGraph(ws)).toThrow('ordering cycle between plan actions: start a n1, start b n1');
  });
});

describe('apply results', () => {
  it('derives the next snapshot: fence clears the node, failures count with their reach', () => {
    const i = cluster().primitive('web').primitive('db').running('web', 'n1').running('db', 'n2').node('n1', { state: 'unclean' }).input();
    const plan = schedule(i.snapshot, i.config, i.now);
    const id = (key: string) => plan.actions.find((a) => a.key === key)!.id;
    const next = applyResults(i.snapshot, i.config, plan, [
      { actionId: id('fence n1'), result: { status: 'ok' } },
      { actionId: id('start web n3'), result: { status: 'errorHard' } },
    ], i.now + 10);
    expect(next.nodes[0]!.state).toBe('offline');
    expect(next.fenced).toEqual(['n1']);
    expect(next.observations).toEqual([{ resource: 'db', node: 'n2', role: 'started' }, { resource: 'web', node: 'n3', role: 'failed' }]);
    expect(next.failures).toEqual([{ resource: 'web', node: 'n3', operation: 'start', count: 1, lastFailureAt: i.now + 10, hard: true }]);
    // and the next plan moves web away from n3 and does not fence again
    const again = schedule(next, i.config, i.now + 10);
    expect(again.actions.map((a) => a.key)).toEqual(['stop web n3', 'start web n2', 'monitor web n2 10000']);
  });
});

describe('unknown nodes', () => {
  it('a node only the snapshot knows is never given resources', () => {
    const b = cluster('n1').primitive('web').node('n1', { standby: true });
    b.snapshot.nodes.push({ name: 'stranger', state: 'online', standby: false, maintenance: false, attributes: {} });
    const i = b.input();
    const plan = schedule(i.snapshot, i.config, i.now);
    expect(plan.target).toEqual([]);
    expect(plan.stopped).toEqual([{ resource: 'web', reason: 'no node can host resources (all offline, standby or in maintenance)' }]);
  });
});
