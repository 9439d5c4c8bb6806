// The shipped examples: every valid one passes with the quorum mode it demonstrates,
// invalid.json reports exactly the errors it was written to contain; examples/planned/ would hold
// configurations waiting for a driver (none does).
import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/config/index.js';
import { PLANNED_KINDS, PLANNED_STORAGE } from '../../../src/config/drivers.js';
import { type Cfg, loadExample, PLANNED_EXAMPLES, VALID_EXAMPLES, variant } from './helpers.js';

describe('examples/', () => {
  it('ships the examples the README promises', () => {
    expect(VALID_EXAMPLES).toEqual(['drbd.json', 'storage.json', 'three-node.json', 'two-node-witness.json', 'two-node.json', 'virtual-ip.json']);
    // every resource kind and storage type has its driver: no example waits for one
    expect(PLANNED_EXAMPLES).toEqual([]);
    expect(PLANNED_KINDS).toEqual([]);
    expect(PLANNED_STORAGE).toEqual([]);
  });

  it.each(VALID_EXAMPLES)('%s is valid and has no warnings', (name) => {
    const result = validate(loadExample(name));
    expect(result.ok ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it.each([
    ['three-node.json', 'majority'],
    ['two-node-witness.json', 'witness'],
    ['two-node.json', 'two_node'],
  ])('%s derives quorum mode %s', (name, mode) => {
    const result = validate(loadExample(name));
    expect(result.ok && result.config.quorumMode).toBe(mode);
  });

  it('invalid.json reports every planted error, each with its path', () => {
    const result = validate(loadExample('invalid.json'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.errors.map((e) => [e.path, e.message]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'cluster.id',
        'fencing.devices.ipmi.hosts[3]',
        'groups.frontend.members[1]',
        'nodes',
        'nodes.n4',
        'nodes.n4.address',
        'resources.a.order[0]',
        'resources.cache.kind',
        'resources.images.params.monitor',
        'resources.web.colocation[0].with',
        'resources.web.meta.stikiness',
        'resources.web.params.unit',
        'timing.failureTimeoutMs',
        'timing.leaseMs',
      ].sort(),
    );
    expect(byPath['resources.web.colocation[0].with']).toBe('no resource named "db"');
    expect(byPath['resources.web.meta.stikiness']).toBe('unknown option (did you mean "stickiness"?)');
    expect(byPath['groups.frontend.members[1]']).toBe('no resource named "webb" (did you mean "web"?)');
    expect(byPath['resources.cache.kind']).toMatch(/did you mean "systemd"/);
    expect(byPath['resources.a.order[0]']).toMatch(/cycle: (a → b → a|b → a → b)/);
    expect(byPath['nodes']).toMatch(/4 votes in all \(even\)/);
    expect(byPath['timing.failureTimeoutMs']).toMatch(/at least 3 × timing.heartbeatIntervalMs/);
    expect(byPath['timing.leaseMs']).toMatch(/longer than timing.failureTimeoutMs/);
    expect(result.errors.length).toBeGreaterThanOrEqual(6);
  });

  it('compiles three-node.json to the CompiledConfig the rest of tsha reads', () => {
    const result = validate(loadExample('three-node.json'));
    if (!result.ok) throw new Error('three-node.json must be valid');
    const c = result.config;
    expect(c.clusterId).toBe('lab-3n');
    expect(c.nodes.map((n) => [n.name, n.meshAddress, n.votes])).toEqual([
      ['n1', '10.90.0.1:7400', 1],
      ['n2', '10.90.0.2:7400', 1],
      ['n3', '10.90.0.3:7400', 1],
    ]);
    expect(c.timing).toEqual({
      heartbeatIntervalMs: 150,
      failureTimeoutMs: 500,
      electionTimeoutMs: 500,
      leaseMs: 2000,
      maxDriftPpm: 10000,
      watchdogMs: 5000,
      fenceRaceDelayMs: 1000,
      restartGraceMs: 10000,
      crashGraceMs: 10000,
    });
    expect(c.noQuorumPolicy).toBe('stop');
    expect(c.fencing.levels.filter((l) => l.node === 'n1')).toEqual([
      { node: 'n1', index: 1, devices: ['ipmi-n1'] },
      { node: 'n1', index: 2, devices: ['pdu'] },
    ]);
    const web = c.resources['web'];
    expect(web).toMatchObject({ type: 'primitive', kind: 'systemd', params: { unit: 'nginx.service' }, stateful: false, storage: null });
    // resourceDefaults apply; operations get Pacemaker-like defaults; stop fences when fencing is on
    expect(web?.meta).toEqual({ stickiness: 100, migrationThreshold: 3, failureTimeoutMs: 600000, targetRole: 'started', managed: true, allowMigrate: false, multipleActive: 'stop_start' });
    expect(web?.type === 'primitive' && web.operations).toEqual([
      { name: 'start', intervalMs: 0, timeoutMs: 20000, onFail: 'restart' },
      { name: 'stop', intervalMs: 0, timeoutMs: 20000, onFail: 'fence' },
      { name: 'monitor', intervalMs: 10000, timeoutMs: 20000, onFail: 'restart' },
    ]);
    expect(c.resources['vip']).toMatchObject({ type: 'primitive', kind: 'ip' });
    expect(c.resources['mail']).toMatchObject({ type: 'primitive', kind: 'microvm', params: { name: 'mail', readyTcp: '10.90.2.25:25' } });
    expect(c.resources['backup']?.meta.stickiness).toBe(0);
    expect(c.resources['frontend']).toMatchObject({ type: 'group', members: ['vip', 'web'] });
    expect(c.resources['node-exporter-clone']).toMatchObject({ type: 'clone', child: 'node-exporter', max: 3, maxPerNode: 1, promotable: false, interleave: false });
    expect(c.constraints.colocation).toContainEqual({ id: 'resources.backup.colocation[0]', resource: 'backup', with: 'db', score: 1_000_000 });
    expect(c.constraints.order).toContainEqual({
      id: 'groups.frontend.order[0]',
      first: 'db',
      firstAction: 'start',
      then: 'frontend',
      thenAction: 'start',
      kind: 'optional',
      symmetric: true,
    });
    expect(c.constraints.location).toContainEqual({
      id: 'resources.db.location[0]',
      resource: 'db',
      node: null,
      rule: { attribute: 'ssd', op: 'eq', value: 'yes' },
      score: 1_000_000,
    });
  });

  it('drbd.json: a DRBD promotable clone whose child is an exec (drbdadm up/down) or a systemd unit, and nothing else holding it', () => {
    for (const child of [
      null,
      { kind: 'systemd', params: { unit: 'drbd@r0.service' } },
    ]) {
      const result = validate(variant('drbd.json', (c: Cfg) => {
        if (child) c.resources.r0 = { ...child, storage: { type: 'drbd', resource: 'r0' } };
      }));
      if (!result.ok) throw new Error(`must be valid: ${JSON.stringify(result.errors)}`);
      expect(result.config.resources.r0).toMatchObject({ type: 'primitive', kind: child?.kind ?? 'exec', stateful: true, storage: { type: 'drbd', resource: 'r0' } });
    }
    // outside a promotable clone it is refused, naming why
    const lone = validate(variant('drbd.json', (c: Cfg) => {
      c.clones = {};
      c.groups.files.colocation = [];
      c.groups.files.order = [];
    }));
    expect(lone.ok ? [] : lone.errors.map((e) => `${e.path}: ${e.message}`)).toContain('resources.r0.storage: DRBD runs on every node with one primary: put this resource in a clone with promotable = true');
  });

  it('storage.json: a DRBD promotable clone under a filesystem and PostgreSQL, and an RBD image under a microVM, both taken over by this build', () => {
    const result = validate(loadExample('storage.json'));
    if (!result.ok) throw new Error(`must be valid: ${JSON.stringify(result.errors)}`);
    const r = result.config.resources;
    expect(r['drbd-r0']).toMatchObject({ stateful: true, storage: { type: 'drbd', resource: 'r0', volume: 0 } });
    expect(r['vm-disk']).toMatchObject({ stateful: true, storage: { type: 'rbd', pool: 'rbd', image: 'vm-web', cephConf: '/etc/ceph/ceph.conf', blocklistExpirySeconds: 3600 } });
  });

  it('storage.json with runnable stand-ins compiles: promotable clone with role monitors, promoted colocation, promote order', () => {
    // the same clone, groups and constraints, each resource swapped for one this build runs
    const result = validate(
      variant('storage.json', (c: Cfg) => {
        const drbd = c.resources['drbd-r0'];
        delete drbd.storage;
        Object.assign(drbd, {
          kind: 'exec',
          stateful: true,
          params: { start: 'drbdadm up r0', stop: 'drbdadm down r0', monitor: 'drbd-role r0', promote: 'drbdadm primary r0', demote: 'drbdadm secondary r0' },
        });
        c.resources['fs-data'] = { kind: 'systemd', params: { unit: 'srv-data.mount' } };
        delete c.resources['vm-disk'].storage;
        c.resources['vm-disk'].stateful = true;
        c.resources['vm-web'] = { kind: 'systemd', params: { unit: 'microvm@web.service' } };
      }),
    );
    if (!result.ok) throw new Error(`must be valid: ${JSON.stringify(result.errors)}`);
    const c = result.config;
    const drbd = c.resources['drbd-r0'];
    expect(drbd).toMatchObject({ type: 'primitive', kind: 'exec', stateful: true, storage: null });
    expect(drbd?.type === 'primitive' && drbd.operations.map((o) => [o.name, o.role ?? null, o.intervalMs])).toEqual([
      ['start', null, 0],
      ['stop', null, 0],
      ['monitor', null, 10000],
      ['monitor', 'promoted', 9000],
      ['monitor', 'unpromoted', 11000],
      ['promote', null, 0],
      ['demote', null, 0],
    ]);
    expect(c.resources['vm-disk']).toMatchObject({ stateful: true, storage: null });
    expect(c.resources['drbd-r0-clone']).toMatchObject({ type: 'clone', promotable: true, max: 2, promotedMax: 1 });
    expect(c.constraints.colocation).toContainEqual({ id: 'groups.data.colocation[0]', resource: 'data', with: 'drbd-r0-clone', score: 1_000_000, withRole: 'promoted' });
    expect(c.constraints.order).toContainEqual({
      id: 'groups.data.order[0]',
      first: 'drbd-r0-clone',
      firstAction: 'promote',
      then: 'data',
      thenAction: 'start',
      kind: 'mandatory',
      symmetric: true,
    });
  });
});
