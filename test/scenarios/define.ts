// Writes the golden scenario inputs: `npx tsx test/scenarios/define.ts` (re)creates input.json,
// description.txt and simulate.json for every scenario below. The committed input.json files are
// what the golden test reads; this file only makes them easy to write and review. After adding
// a scenario, run `UPDATE_GOLDEN=1 npx vitest run test/scenarios` and read the new plan.txt and
// summary.txt before committing them.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serializeSchedulerInput } from '../../src/core/scheduler/record.js';
import type { SimulateOptions } from '../../src/core/scheduler/simulate.js';
import { cluster, INF, ops } from '../support/cluster-builder.js';
import type { ClusterBuilder } from '../support/cluster-builder.js';

interface Scenario { name: string; description: string; build: () => ClusterBuilder; simulate?: SimulateOptions }
const S: Scenario[] = [];
const def = (name: string, description: string, build: () => ClusterBuilder, simulate?: SimulateOptions) =>
  S.push({ name, description, build, ...(simulate ? { simulate } : {}) });

const drbd = (b: ClusterBuilder) => b
  .primitive('drbd', { kind: 'ocf', params: { agent: 'linbit:drbd', drbd_resource: 'r0' }, storage: { type: 'drbd', resource: 'r0' },
    operations: [...ops(), { name: 'promote', intervalMs: 0, timeoutMs: 90_000, onFail: 'restart' }, { name: 'demote', intervalMs: 0, timeoutMs: 90_000, onFail: 'restart' },
      { name: 'monitor', intervalMs: 5_000, timeoutMs: 20_000, onFail: 'restart', role: 'promoted' }] })
  .clone('drbd-clone', 'drbd', { promotable: true, max: 2 })
  .primitive('fs', { kind: 'ocf', params: { agent: 'heartbeat:Filesystem' } })
  .primitive('pg', { params: { unit: 'postgresql.service' } })
  .colocate('fs', 'drbd-clone', INF, { withRole: 'promoted' })
  .order('drbd-clone', 'fs', { firstAction: 'promote' })
  .colocate('pg', 'fs').order('fs', 'pg');

const rbd = (b: ClusterBuilder) => b
  .primitive('rbd', { kind: 'exec', storage: { type: 'rbd', pool: 'rbd', image: 'pgdata' } })
  .primitive('fs', { kind: 'ocf', params: { agent: 'heartbeat:Filesystem' } })
  .primitive('pg', { params: { unit: 'postgresql.service' } })
  .group('db', ['rbd', 'fs', 'pg']);

// ── primitives, location, stickiness ──────────────────────────────────────────────────────────
def('primitive-start-fresh', 'a stopped primitive starts on the first node by name when all scores tie', () => cluster().primitive('web'));
def('primitives-spread', 'equal-score primitives spread over the nodes, fewest assigned first', () =>
  cluster().primitive('a').primitive('b').primitive('c').primitive('d'));
def('location-prefer', 'a positive location score draws the resource to that node', () => cluster().primitive('web').location('web', 'n2', 100));
def('location-avoid', '-INFINITY location scores forbid nodes; the remaining node is used', () =>
  cluster().primitive('web').location('web', 'n1', -INF).location('web', 'n2', -INF));
def('location-require', 'a +INFINITY location pins the resource to its node', () => cluster().primitive('web').location('web', 'n3', INF));
def('location-rule-attribute', 'a location rule on a node attribute (ssd eq yes) selects matching nodes', () =>
  cluster().primitive('db').attr('n3', 'ssd', 'yes').location('db', null, 200, { rule: { attribute: 'ssd', op: 'eq', value: 'yes' } }));
def('location-rule-not-defined', 'a -INFINITY rule on a missing attribute forbids the nodes without it', () =>
  cluster().primitive('gpu-job').attr('n2', 'gpu', 'a100')
    .location('gpu-job', null, -INF, { rule: { attribute: 'gpu', op: 'not_defined' } }));
def('location-rule-number-gt', 'a rule mem gt 10 compares numbers: n3 (16) matches, n2 (9) does not although "9" > "10" as strings', () =>
  cluster().primitive('db').primitive('cache').attr('n1', 'mem', '4').attr('n2', 'mem', '9').attr('n3', 'mem', '16')
    .location('db', null, 200, { rule: { attribute: 'mem', op: 'gt', value: '10' } })
    .location('cache', null, -INF, { rule: { attribute: 'mem', op: 'lt', value: '8' } }).location('cache', 'n3', -INF));
def('location-rule-number-eq', 'eq with type number: 8.0 equals 8; lte 8 bans n1; gte 20 matches "many" on n3 as a string (not a number), not 12 on n2', () =>
  cluster().primitive('app').primitive('batch').attr('n1', 'cores', '8.0').attr('n2', 'cores', '12').attr('n3', 'cores', 'many')
    .location('app', null, 100, { rule: { attribute: 'cores', op: 'eq', value: '8', type: 'number' } })
    .location('batch', null, -INF, { rule: { attribute: 'cores', op: 'lte', value: '8' } })
    .location('batch', null, 50, { rule: { attribute: 'cores', op: 'gte', value: '20' } }));
def('stickiness-prevents-failback', 'stickiness 100 outweighs a 50 preference: the resource stays on n2 (no failback)', () =>
  cluster().primitive('web', { meta: { stickiness: 100 } }).location('web', 'n1', 50).running('web', 'n2'));
def('no-stickiness-failback', 'without stickiness a resource moves back to its preferred node', () =>
  cluster().primitive('web').location('web', 'n1', 50).running('web', 'n2'));
def('stickiness-weaker-than-preference', 'a preference larger than stickiness moves the resource', () =>
  cluster().primitive('web', { meta: { stickiness: 50 } }).location('web', 'n1', 100).running('web', 'n2'));
def('operator-ban-moves', 'an operator ban (tsha resource ban) moves the resource off its node', () => {
  const b = cluster().primitive('web', { meta: { stickiness: 100 } }).running('web', 'n1');
  b.snapshot.bans.push({ resource: 'web', node: 'n1', score: -INF });
  return b;
});
def('all-nodes-banned', 'a resource banned from every node stays stopped and says why', () =>
  cluster().primitive('web').location('web', 'n1', -INF).location('web', 'n2', -INF).location('web', 'n3', -INF).running('web', 'n1'));
def('negative-scores-only', 'a resource whose every node score is negative is not placed', () =>
  cluster().primitive('web').location('web', 'n1', -10).location('web', 'n2', -10).location('web', 'n3', -10));
def('steady-state', 'resources already where they belong: an empty plan', () =>
  cluster().primitive('a').primitive('b').running('a', 'n1').running('b', 'n2'));
def('multiple-active', 'a primitive found on two nodes is stopped on both and started once', () =>
  cluster().primitive('web').running('web', 'n1').running('web', 'n2'));
def('multiple-active-stop-only', 'multiple-active=stop_only: a primitive found on two nodes is stopped on both and kept stopped', () =>
  cluster().primitive('web', { meta: { multipleActive: 'stop_only' } }).running('web', 'n1').running('web', 'n2'));
def('multiple-active-block', 'multiple-active=block: a primitive found on two nodes is left alone on both; a misplaced neighbour still moves', () =>
  cluster().primitive('web', { meta: { multipleActive: 'block' } }).primitive('api').location('api', 'n3', 100)
    .running('web', 'n1').running('web', 'n2').running('api', 'n1'));
def('multiple-active-stop-unexpected', 'multiple-active=stop_unexpected: only the copy away from the preferred node stops; the one there and its dependent keep running', () =>
  cluster().primitive('web', { meta: { multipleActive: 'stop_unexpected' } }).primitive('app').location('web', 'n2', 100)
    .colocate('app', 'web').order('web', 'app').running('web', 'n1').running('web', 'n2').running('app', 'n2'));
def('multiple-active-restarts-dependent', 'multiple-active=stop_start (the default): the copy that stays is restarted too, and so is what is ordered after it', () =>
  cluster().primitive('web').primitive('app').location('web', 'n2', 100)
    .colocate('app', 'web').order('web', 'app').running('web', 'n1').running('web', 'n2').running('app', 'n2'));
def('multiple-active-group-stop-only', 'multiple-active=stop_only on a group: the member found on two nodes stops everywhere, the members after it stop, the one before it stays', () =>
  cluster().primitive('ip').primitive('fs').primitive('db').group('g', ['ip', 'fs', 'db'], { multipleActive: 'stop_only' })
    .running('ip', 'n1').running('fs', 'n1').running('db', 'n1').running('fs', 'n3'));
def('orphan-observation', 'a running resource with no definition is reported and left alone', () =>
  cluster().primitive('web').running('web', 'n1').running('old-app', 'n2'));
def('migrate-live', 'a microVM with allow-migrate live-migrates (migrate_to, migrate_from) instead of stop/start', () =>
  cluster().primitive('vm1', { kind: 'microvm', meta: { allowMigrate: true } }).location('vm1', 'n2', 100).running('vm1', 'n1'));
def('migrate-not-from-lost-node', 'allow-migrate does not apply when the source node is lost: fence, then start', () =>
  cluster().primitive('vm1', { kind: 'microvm', meta: { allowMigrate: true } }).running('vm1', 'n1').node('n1', { state: 'unclean' }));

// ── node loss and fencing ─────────────────────────────────────────────────────────────────────
def('node-loss-fence-device', 'a lost node is fenced first; its resource restarts on a survivor after the fence', () =>
  cluster().primitive('web').primitive('api').running('web', 'n1').running('api', 'n2').node('n1', { state: 'unclean' }));
def('node-loss-already-fenced', 'a lost node whose fence is already confirmed needs no fence action', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' });
  b.snapshot.fenced.push('n1');
  return b;
});
def('node-loss-no-fence-device', 'fencing enabled but no device covers the lost node: its resources are blocked, not recovered', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' });
  b.config.fencing.devices[0]!.hosts = ['n2', 'n3'];
  return b;
});
def('node-loss-fencing-disabled', 'fencing disabled: a stateless resource is recovered without confirmation (unsafe, noted)', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' });
  b.config.fencing.enabled = false;
  return b;
});
def('node-loss-fencing-disabled-stateful', 'fencing disabled: a stateful resource on the lost node is never recovered', () => {
  const b = cluster().primitive('db', { stateful: true }).primitive('web').running('db', 'n1').running('web', 'n1').node('n1', { state: 'unclean' });
  b.config.fencing.enabled = false;
  return b;
});
def('node-loss-watchdog', 'watchdog-only fencing: recovery waits until lease expiry plus the watchdog timeout', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean', leaseExpiredAt: 999_000 });
  b.config.fencing.devices = [];
  b.config.fencing.watchdog = true;
  return b;
});
def('node-loss-watchdog-unknown-lease', 'watchdog-only fencing with no known lease expiry: nothing is recovered yet', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean', leaseExpiredAt: null });
  b.config.fencing.devices = [];
  b.config.fencing.watchdog = true;
  return b;
});
def('node-loss-fence-levels', 'fence levels: the lost node is fenced with its level devices in order', () => {
  const b = cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' });
  b.config.fencing.devices.push({ id: 'pdu', agent: 'fence_apc', parameters: {}, hosts: ['n1'], timeoutMs: 10_000 });
  b.config.fencing.levels = [{ node: 'n1', index: 2, devices: ['pdu'] }, { node: 'n1', index: 1, devices: ['ipmi'] }];
  return b;
});
def('node-offline-clean', 'a node that left cleanly needs no fence; its stale observation is ignored', () =>
  cluster().primitive('web').running('web', 'n1').node('n1', { state: 'offline' }));
def('node-fail-simulated', 'tsha simulate --node-fail n2: the node is lost, fenced, and its resources move', () =>
  cluster().primitive('web').primitive('api').running('web', 'n1').running('api', 'n2'), { nodeFail: ['n2'] });
def('two-nodes-lost', 'two nodes lost in a five-node cluster: both fenced, resources recovered after their own node\'s fence', () =>
  cluster('n1', 'n2', 'n3', 'n4', 'n5').primitive('a').primitive('b').primitive('c')
    .running('a', 'n1').running('b', 'n2').running('c', 'n3').node('n1', { state: 'unclean' }).node('n2', { state: 'unclean' }));
def('no-quorum-stop', 'without quorum and no-quorum-policy=stop everything is stopped, nothing started', () =>
  cluster().primitive('a').primitive('b').running('a', 'n1').node('n3', { state: 'offline' }).node('n2', { state: 'offline' })
    .tap((b) => { b.snapshot.quorate = false; }));
def('no-quorum-freeze', 'without quorum and no-quorum-policy=freeze nothing changes', () =>
  cluster().primitive('a').primitive('b').running('a', 'n1').tap((b) => { b.snapshot.quorate = false; b.config.noQuorumPolicy = 'freeze'; }));
def('no-quorum-lost-node', 'a partition without quorum never fences: the lost node\'s resource stays blocked', () =>
  cluster().primitive('web').running('web', 'n3').node('n3', { state: 'unclean' })
    .tap((b) => { b.snapshot.quorate = false; b.config.noQuorumPolicy = 'freeze'; }));

// ── groups ────────────────────────────────────────────────────────────────────────────────────
def('group-start-order', 'a group starts its members in order on one node', () => cluster().group('site', ['ip', 'fs', 'web']));
def('group-recovery-node-loss', 'a group on a lost node is recovered in order after the fence', () =>
  cluster().group('site', ['ip', 'fs', 'web']).running('ip', 'n1').running('fs', 'n1').running('web', 'n1').node('n1', { state: 'unclean' }));
def('group-member-failure-restart', 'a failed middle member restarts in place, and the members after it restart too', () =>
  cluster().group('site', ['ip', 'fs', 'web'], { stickiness: 100 }).running('ip', 'n1').running('fs', 'n1', 'failed').running('web', 'n1')
    .failure('fs', 'n1', 'monitor'));
def('group-member-threshold-moves-group', 'a member past its migration-threshold moves the whole group', () =>
  cluster().primitive('fs', { meta: { migrationThreshold: 2 } }).group('site', ['ip', 'fs', 'web'], { stickiness: 100 })
    .running('ip', 'n1').running('fs', 'n1', 'failed').running('web', 'n1').failure('fs', 'n1', 'monitor', 2));
def('group-member-disabled', 'a disabled member stops itself and the members after it; earlier ones run', () =>
  cluster().primitive('web', { meta: { targetRole: 'stopped' } }).group('site', ['ip', 'fs', 'web', 'cron'])
    .running('ip', 'n1').running('fs', 'n1').running('web', 'n1').running('cron', 'n1'));
def('group-member-location', 'a location preference on a member draws the whole group', () =>
  cluster().group('site', ['ip', 'web']).location('web', 'n3', 100));
def('group-standby-drain', 'putting a node in standby moves its group: stops in reverse, starts in order', () =>
  cluster().group('site', ['ip', 'fs', 'web']).running('ip', 'n1').running('fs', 'n1').running('web', 'n1').node('n1', { standby: true }));
def('group-member-banned-everywhere', 'a member banned on every node: the group keeps running its prefix', () =>
  cluster().group('site', ['ip', 'web', 'metrics']).location('metrics', 'n1', -INF).location('metrics', 'n2', -INF).location('metrics', 'n3', -INF)
    .running('ip', 'n1').running('web', 'n1').running('metrics', 'n1'));

// ── colocation ────────────────────────────────────────────────────────────────────────────────
def('colocation-mandatory', 'web placed with db (mandatory colocation)', () =>
  cluster().primitive('db').primitive('web').location('db', 'n2', 10).colocate('web', 'db'));
def('colocation-chain', 'a chain a with b with c lands on one node, the one c prefers', () =>
  cluster().primitive('a').primitive('b').primitive('c').colocate('a', 'b').colocate('b', 'c').location('c', 'n3', 100));
def('colocation-negative-mandatory', 'two replicas kept apart by a -INFINITY colocation', () =>
  cluster().primitive('r1').primitive('r2').location('r1', 'n1', 100).location('r2', 'n1', 100).colocate('r2', 'r1', -INF));
def('colocation-negative-score', 'a finite negative colocation separates resources when it can', () =>
  cluster('n1', 'n2').primitive('a').primitive('b').location('a', 'n1', 10).location('b', 'n1', 10).colocate('b', 'a', -50));
def('colocation-unsatisfiable', 'mandatory colocation with a disabled resource: the dependent stays stopped, reason reported', () =>
  cluster().primitive('db', { meta: { targetRole: 'stopped' } }).primitive('web').colocate('web', 'db').running('db', 'n1').running('web', 'n1'));
def('colocation-dependent-pulls-primary', 'the dependent\'s preference moves the primary too (web prefers n3, web with db)', () =>
  cluster().primitive('db').primitive('web').colocate('web', 'db').location('web', 'n3', 100));
def('colocation-score-preference', 'a finite positive colocation is a preference that a stronger location overrides', () =>
  cluster().primitive('db').primitive('cache').location('db', 'n1', 10).colocate('cache', 'db', 50).location('cache', 'n2', 100));
def('colocation-with-group', 'a primitive colocated with a group follows the group when it moves', () =>
  cluster().group('site', ['ip', 'web']).primitive('monitoring').colocate('monitoring', 'site')
    .running('ip', 'n1').running('web', 'n1').running('monitoring', 'n1').node('n1', { standby: true }));
def('colocation-primary-on-lost-node', 'primary and dependent on a lost node move together after the fence', () =>
  cluster().primitive('db').primitive('web').colocate('web', 'db').order('db', 'web')
    .running('db', 'n2').running('web', 'n2').node('n2', { state: 'unclean' }));
def('colocation-ban-travels', 'web must run with db and is banned from n1, which db prefers: db goes elsewhere so web can run', () =>
  cluster().primitive('db').primitive('web').location('db', 'n1', 100).location('web', 'n1', -INF).colocate('web', 'db'));
def('colocation-failure-ban-moves-primary', 'web (with db) reaches migration-threshold on n1: db moves off n1 with it, both keep running', () =>
  cluster().primitive('db', { meta: { stickiness: 100 } }).primitive('web', { meta: { stickiness: 100, migrationThreshold: 1 } }).colocate('web', 'db')
    .running('db', 'n1').running('web', 'n1', 'failed').failure('web', 'n1', 'monitor', 1));
def('colocation-ban-rollback', 'web (with db) is banned everywhere db may run: the ban does not travel, db runs and web stays stopped', () =>
  cluster().primitive('db').primitive('web').location('db', 'n1', INF).location('db', 'n2', -INF).location('db', 'n3', -INF)
    .location('web', 'n1', -INF).colocate('web', 'db'));
def('colocation-ban-transitive', 'a with b with c, a banned from n1 and n2: c and b go to n3, the one node a may run on', () =>
  cluster().primitive('a').primitive('b').primitive('c').colocate('a', 'b').colocate('b', 'c').location('c', 'n1', 50)
    .location('a', 'n1', -INF).location('a', 'n2', -INF));
def('group-member-ban-moves-primary', 'a group with db, its last member banned from db\'s node: db moves so the whole group runs', () =>
  cluster().primitive('db', { meta: { stickiness: 100 } }).group('site', ['ip', 'web']).colocate('site', 'db').location('web', 'n1', -INF)
    .running('db', 'n1'));
def('group-with-group-ban', 'group app with group data, a member of app banned from n2 where data prefers to run: data goes to the next node', () =>
  cluster().group('data', ['vol', 'db']).group('app', ['ip', 'web']).colocate('app', 'data').location('db', 'n2', 100)
    .location('web', 'n2', -INF));
def('group-anti-colocation-ban', 'group app kept apart from group data (-INFINITY), web banned from n2: like Pacemaker, a ban does not cross an anti-colocation; data keeps n1, app runs its prefix', () =>
  cluster('n1', 'n2').group('data', ['vol', 'db']).group('app', ['ip', 'web']).colocate('app', 'data', -INF).location('db', 'n1', 100)
    .location('web', 'n2', -INF));

// ── order ─────────────────────────────────────────────────────────────────────────────────────
def('order-mandatory-start', 'db then web: web\'s start waits for db\'s', () => cluster().primitive('db').primitive('web').order('db', 'web'));
def('order-restart-propagation', 'a mandatory order restarts "then" when "first" restarts after a failure', () =>
  cluster().primitive('db').primitive('web').order('db', 'web').running('db', 'n1', 'failed').running('web', 'n2').failure('db', 'n1', 'monitor'));
def('order-optional-no-restart', 'an optional order only orders actions in the same plan: then is not restarted', () =>
  cluster('n1', 'n2').primitive('db').primitive('web', { meta: { stickiness: 100 } }).order('db', 'web', { kind: 'optional' }).running('db', 'n1', 'failed').running('web', 'n2')
    .failure('db', 'n1', 'monitor'));
def('order-first-disabled', 'mandatory order whose first is disabled: then cannot start, reason reported', () =>
  cluster().primitive('db', { meta: { targetRole: 'stopped' } }).primitive('web').order('db', 'web').running('db', 'n1').running('web', 'n2'));
def('order-symmetric-stop', 'a symmetric order stops then before first when both stop', () =>
  cluster().primitive('db').primitive('web').order('db', 'web').running('db', 'n1').running('web', 'n1')
    .tap((b) => { b.snapshot.overrides.push({ resource: 'db', targetRole: 'stopped' }, { resource: 'web', targetRole: 'stopped' }); }));
def('order-asymmetric-stop', 'an asymmetric order does not order the stops', () =>
  cluster().primitive('db').primitive('web').order('db', 'web', { symmetric: false }).running('db', 'n1').running('web', 'n1')
    .tap((b) => { b.snapshot.overrides.push({ resource: 'db', targetRole: 'stopped' }, { resource: 'web', targetRole: 'stopped' }); }));
def('order-asymmetric-first-stops', 'an asymmetric order only blocks: db is disabled and stops, the running web keeps running', () =>
  cluster().primitive('db', { meta: { targetRole: 'stopped' } }).primitive('web').order('db', 'web', { symmetric: false })
    .running('db', 'n1').running('web', 'n2'));
def('order-asymmetric-then-cannot-start', 'an asymmetric order whose first is disabled: a stopped then still cannot start', () =>
  cluster().primitive('db', { meta: { targetRole: 'stopped' } }).primitive('web').order('db', 'web', { symmetric: false }).running('db', 'n1'));
def('order-asymmetric-then-cannot-move', 'first banned everywhere, asymmetric order: then keeps running but does not move to the node it prefers', () =>
  cluster().primitive('db').primitive('web').order('db', 'web', { symmetric: false }).location('web', 'n3', 100)
    .location('db', 'n1', -INF).location('db', 'n2', -INF).location('db', 'n3', -INF).running('db', 'n1').running('web', 'n2'));
def('order-asymmetric-chain-restart', 'asymmetric orders db → app → web: db starts, so app restarts after it, and web after app\'s start', () =>
  cluster().primitive('db').primitive('app').primitive('web').order('db', 'app', { symmetric: false }).order('app', 'web', { symmetric: false })
    .running('app', 'n1').running('web', 'n1').location('db', 'n1', 100).location('web', 'n1', 100));
def('order-asymmetric-group-member', 'asymmetric order into a group member: the disabled first stops, the group keeps running in full', () =>
  cluster().primitive('db', { meta: { targetRole: 'stopped' } }).group('site', ['ip', 'web']).order('db', 'web', { symmetric: false })
    .running('db', 'n1').running('ip', 'n2').running('web', 'n2'));
def('order-then-unmanaged-first-moves', 'db then web, web unmanaged on n1: db still moves off its banned node and web is left alone', () =>
  cluster().primitive('db').primitive('web', { meta: { managed: false } }).order('db', 'web')
    .running('db', 'n1').running('web', 'n1').tap((b) => { b.snapshot.bans.push({ resource: 'db', node: 'n1', score: -INF }); }));
def('order-then-blocked-first-stays', 'db then web, web blocked on a lost node that cannot be fenced: db keeps running', () =>
  cluster().primitive('db').primitive('web').order('db', 'web').running('db', 'n2').running('web', 'n1').node('n1', { state: 'unclean' })
    .tap((b) => { b.config.fencing.devices[0]!.hosts = ['n2', 'n3']; }));
def('order-then-failed-unmanaged-first-stays', 'db then web, web failed and unmanaged: db keeps running, nothing restarts', () =>
  cluster().primitive('db').primitive('web', { meta: { managed: false } }).order('db', 'web').running('db', 'n1').running('web', 'n2', 'failed')
    .failure('web', 'n2', 'monitor'));
def('order-chain-three', 'a then b then c start as a chain', () =>
  cluster().primitive('a').primitive('b').primitive('c').order('a', 'b').order('b', 'c'));

// ── clones ────────────────────────────────────────────────────────────────────────────────────
def('clone-placement', 'a clone places one instance per node', () => cluster().clone('dns-clone', 'dns'));
def('clone-max-two', 'a clone with max 2 on three nodes', () => cluster().clone('dns-clone', 'dns', { max: 2 }));
def('clone-node-loss', 'a clone instance on a lost node is not doubled up elsewhere (one per node)', () =>
  cluster().clone('dns-clone', 'dns').running('dns:0', 'n1').running('dns:1', 'n2').running('dns:2', 'n3').node('n2', { state: 'unclean' }));
def('clone-node-loss-max-two', 'a clone with max 2 restarts the lost instance on the spare node after the fence', () =>
  cluster().clone('dns-clone', 'dns', { max: 2 }).running('dns:0', 'n1').running('dns:1', 'n2').node('n1', { state: 'unclean' }));
def('clone-max-per-node', 'maxPerNode 2: four instances on two nodes', () => cluster('n1', 'n2').clone('w-clone', 'worker', { max: 4, maxPerNode: 2 }));
def('clone-location-ban', 'a clone banned from a node runs on the others', () => cluster().clone('dns-clone', 'dns').location('dns-clone', 'n3', -INF));
def('clone-colocated-primitive', 'a primitive colocated with a clone goes only where an instance runs', () =>
  cluster().clone('dns-clone', 'dns').location('dns-clone', 'n1', -INF).primitive('web').colocate('web', 'dns-clone'));
def('clone-of-group', 'a clone of a group places an ordered chain on each node', () =>
  cluster('n1', 'n2').group('stack', ['mount', 'agent']).clone('stack-clone', 'stack'));
def('clone-order-then-primitive', 'a primitive ordered after a clone starts after every instance', () =>
  cluster('n1', 'n2').clone('net-clone', 'net').primitive('web').order('net-clone', 'web'));
def('clone-max-per-node-spread', 'maxPerNode 2 with room on every node: three instances spread over three nodes before any doubles up', () =>
  cluster().clone('w-clone', 'worker', { max: 3, maxPerNode: 2 }));
def('clone-interleave-start', 'interleave: each instance of the second clone starts after the first clone\'s instance on its node, not after the whole clone', () =>
  cluster().clone('base-clone', 'base').clone('app-clone', 'app', { interleave: true }).order('base-clone', 'app-clone').colocate('app-clone', 'base-clone'));
def('clone-interleave-recover', 'interleave: a failed instance of the first clone restarts only the second clone\'s instance on its node', () =>
  cluster().clone('base-clone', 'base').clone('app-clone', 'app', { interleave: true }).order('base-clone', 'app-clone').colocate('app-clone', 'base-clone')
    .running('base:0', 'n1').running('base:1', 'n2', 'failed').running('base:2', 'n3').failure('base', 'n2', 'monitor')
    .running('app:0', 'n1').running('app:1', 'n2').running('app:2', 'n3'));
def('clone-no-interleave-recover', 'without interleave a failed instance of the first clone restarts every instance of the second clone', () =>
  cluster().clone('base-clone', 'base').clone('app-clone', 'app').order('base-clone', 'app-clone').colocate('app-clone', 'base-clone')
    .running('base:0', 'n1').running('base:1', 'n2', 'failed').running('base:2', 'n3').failure('base', 'n2', 'monitor')
    .running('app:0', 'n1').running('app:1', 'n2').running('app:2', 'n3'));
def('clone-anonymous-observation', 'an observation without an instance number is matched to a free instance', () =>
  cluster().clone('dns-clone', 'dns').running('dns', 'n2'));
def('clone-standby', 'a node in standby loses its clone instance', () =>
  cluster().clone('dns-clone', 'dns').running('dns:0', 'n1').running('dns:1', 'n2').running('dns:2', 'n3').node('n3', { standby: true }));

// ── promotable clones and the storage chain ───────────────────────────────────────────────────
def('promotable-initial', 'a promotable clone starts both instances and promotes one (DRBD primary)', () => drbd(cluster('n1', 'n2')));
def('promotable-steady', 'primary and secondary in place with the stack on the primary: nothing to do', () =>
  drbd(cluster('n1', 'n2')).running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1'));
def('storage-chain-drbd-failover', 'primary lost: fence → outdate the peer → promote the survivor → filesystem → service', () =>
  drbd(cluster('n1', 'n2', 'n3')).running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1')
    .node('n1', { state: 'unclean' }));
def('storage-chain-rbd-failover', 'RBD holder lost: fence → blocklist the client → break the lock → map → filesystem → service', () =>
  rbd(cluster()).running('rbd', 'n1').running('fs', 'n1').running('pg', 'n1').node('n1', { state: 'unclean' }));
def('storage-chain-rbd-clean-move', 'RBD group moved off a standby node: stops release the lock, no blocklist needed', () =>
  rbd(cluster()).running('rbd', 'n1').running('fs', 'n1').running('pg', 'n1').node('n1', { standby: true }));
def('storage-chain-unfenceable', 'DRBD primary lost and cannot be fenced: no promotion elsewhere (one primary)', () =>
  drbd(cluster('n1', 'n2', 'n3')).running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1')
    .node('n1', { state: 'unclean' }).tap((b) => { b.config.fencing.devices[0]!.hosts = ['n2', 'n3']; }));
def('promotable-switchover-standby', 'primary node put in standby: demote and stop there before promoting the peer', () =>
  drbd(cluster('n1', 'n2', 'n3')).running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1')
    .node('n1', { standby: true }));
def('promotable-location-promoted-role', 'a role=promoted location decides where the primary goes', () =>
  drbd(cluster('n1', 'n2')).location('drbd-clone', 'n2', 100, { role: 'promoted' }));
def('promotable-promotion-attribute', 'the agent\'s promotion-<child> attribute picks the UpToDate peer', () =>
  drbd(cluster('n1', 'n2')).running('drbd:0', 'n1', 'unpromoted').running('drbd:1', 'n2', 'unpromoted')
    .node('n1', { attributes: { 'promotion-drbd': '1' } }).node('n2', { attributes: { 'promotion-drbd': '10000' } }));
def('promotable-target-unpromoted', 'target-role unpromoted demotes the primary and keeps both secondaries', () =>
  drbd(cluster('n1', 'n2')).running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted')
    .tap((b) => { b.snapshot.overrides.push({ resource: 'drbd-clone', targetRole: 'unpromoted' }); }));
def('promotable-stickiness', 'the current primary stays primary against a weaker promoted-role preference', () =>
  drbd(cluster('n1', 'n2')).tap((b) => { b.config.resources['drbd-clone']!.meta.stickiness = 200; })
    .location('drbd-clone', 'n2', 100, { role: 'promoted' })
    .running('drbd:0', 'n1', 'promoted').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1'));
def('promotable-dependent-preference', 'the service\'s location preference picks where the storage is promoted', () =>
  drbd(cluster('n1', 'n2')).location('pg', 'n2', 100));

// ── failure policy ────────────────────────────────────────────────────────────────────────────
def('migration-threshold-ban', 'three failures reach migration-threshold 3: the resource moves and is banned there', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 3, stickiness: 100 } }).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor', 3));
def('failure-below-threshold-restart', 'one failure under migration-threshold 3: restart in place', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 3, stickiness: 100 } }).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor', 1));
def('failure-timeout-expired', 'failures older than failure-timeout are forgotten: no ban, and they are cleared', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 1, failureTimeoutMs: 60_000 } }).location('web', 'n1', 100)
    .running('web', 'n2').failure('web', 'n1', 'monitor', 1, 120_000));
def('failure-timeout-not-expired', 'failures younger than failure-timeout still ban the node', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 1, failureTimeoutMs: 60_000 } }).location('web', 'n1', 100)
    .running('web', 'n2').failure('web', 'n1', 'monitor', 1, 30_000));
def('on-fail-stop', 'on-fail=stop: the failed resource is stopped and not restarted', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'stop' } }) }).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor'));
def('on-fail-stop-holds', 'on-fail=stop holds while the failure is recorded: once the failed copy has stopped, the resource is not started again', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'stop' } }) }).failure('web', 'n1', 'monitor'));
def('on-fail-ban-holds', 'on-fail=ban holds while the failure is recorded: the resource does not move back to the node it prefers', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'ban' } }) }).location('web', 'n1', 100).running('web', 'n2')
    .failure('web', 'n1', 'monitor'));
def('on-fail-ban', 'on-fail=ban: the failed resource moves off the node', () =>
  cluster().primitive('web', { meta: { stickiness: 100 }, operations: ops({ monitor: { onFail: 'ban' } }) }).running('web', 'n1', 'failed')
    .failure('web', 'n1', 'monitor'));
def('on-fail-block', 'on-fail=block: no action at all, the resource is reported blocked', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'block' } }) }).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor'));
def('on-fail-fence', 'on-fail=fence: the node is fenced and everything on it recovered after', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'fence' } }) }).primitive('api')
    .running('web', 'n1', 'failed').running('api', 'n1').failure('web', 'n1', 'monitor'));
def('on-fail-ignore', 'on-fail=ignore: the failed monitor is recorded and shown, and the resource is taken as running: no action', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'ignore' } }) }).primitive('api')
    .running('web', 'n1', 'failed').running('api', 'n2').failure('web', 'n1', 'monitor'));
def('on-fail-ignore-no-threshold', 'on-fail=ignore: ignored failures do not count towards migration-threshold (no fail count, as in Pacemaker), so the resource stays', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 1, stickiness: 100 }, operations: ops({ monitor: { onFail: 'ignore' } }) })
    .location('web', 'n2', 50).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor', 3));
def('on-fail-ignore-hard-error', 'on-fail=ignore never covers a hard error: the node is banned and the resource moves (Pacemaker ignores it unless the agent is missing)', () =>
  cluster().primitive('web', { meta: { stickiness: 100 }, operations: ops({ monitor: { onFail: 'ignore' } }) }).running('web', 'n1', 'failed')
    .failure('web', 'n1', 'monitor', 1, 1000, { hard: true }));
def('on-fail-standby', 'on-fail=standby: the node where the monitor failed goes to standby: the failed resource and every other one move off it', () =>
  cluster().primitive('web', { meta: { stickiness: 100 }, operations: ops({ monitor: { onFail: 'standby' } }) })
    .primitive('api', { meta: { stickiness: 100 } }).primitive('db', { meta: { stickiness: 100 } })
    .running('web', 'n1', 'failed').running('api', 'n1').running('db', 'n2').failure('web', 'n1', 'monitor'));
def('on-fail-standby-holds', 'on-fail=standby holds while the failure is recorded: once the failed copy is gone, nothing moves back to the node it preferred', () =>
  cluster().primitive('web', { operations: ops({ monitor: { onFail: 'standby' } }) }).primitive('api').location('api', 'n1', 100)
    .running('web', 'n2').running('api', 'n3').failure('web', 'n1', 'monitor'));
def('hard-error-bans-node', 'a hard error (errorHard) bans the node at once', () =>
  cluster().primitive('web', { meta: { stickiness: 100 } }).running('web', 'n1', 'failed').failure('web', 'n1', 'monitor', 1, 1000, { hard: true }));
def('fatal-error-nowhere', 'a fatal error (errorFatal) keeps the resource stopped everywhere', () =>
  cluster().primitive('web').running('web', 'n1', 'failed').failure('web', 'n1', 'start', 1, 1000, { fatal: true }));
def('start-failure-bans-node', 'a failed start bans that node (start failure is fatal there)', () =>
  cluster().primitive('web').location('web', 'n1', 100).running('web', 'n1', 'failed').failure('web', 'n1', 'start'));
def('stop-failure-fences', 'a failed stop fences the node before the resource runs elsewhere', () =>
  cluster().primitive('web').location('web', 'n1', -INF).running('web', 'n1', 'failed').failure('web', 'n1', 'stop'));
def('stop-failure-block', 'on-fail=block on stop: a failed stop leaves the resource blocked where it is, and nothing is fenced', () =>
  cluster().primitive('web', { operations: ops({ stop: { onFail: 'block' } }) }).location('web', 'n1', -INF).running('web', 'n1', 'failed')
    .failure('web', 'n1', 'stop'));
def('stop-failure-settled', 'a failed stop on a node that now runs no copy (it rebooted and probed) is cleared; the resource may run there again, nothing is fenced', () =>
  cluster().primitive('web').location('web', 'n1', 100).failure('web', 'n1', 'stop'));
def('op-fail-start-aborts', 'a simulated start failure aborts the plan; the failure is recorded for the next plan', () =>
  cluster().primitive('db').primitive('web').order('db', 'web'), { opFail: [{ resource: 'db', operation: 'start', node: 'n1' }] });
def('op-fail-fence-aborts', 'a failed fence aborts the plan: nothing of the lost node is recovered', () =>
  cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' }),
  { opFail: [{ resource: 'fence', operation: 'fence', node: 'n1' }] });
def('clone-failure-restart', 'a failed clone instance restarts on its own node', () =>
  cluster().clone('dns-clone', 'dns').running('dns:0', 'n1').running('dns:1', 'n2', 'failed').running('dns:2', 'n3').failure('dns', 'n2', 'monitor'));

// ── maintenance, standby, unmanaged, target role ──────────────────────────────────────────────
def('maintenance-mode-cluster', 'cluster maintenance mode: failed or misplaced resources get no actions', () =>
  cluster().primitive('web').primitive('db').location('web', 'n2', 100).running('web', 'n1').running('db', 'n1', 'failed')
    .tap((b) => { b.config.maintenanceMode = true; }));
def('maintenance-node-freeze', 'a node in maintenance keeps its resources frozen; others are managed normally', () =>
  cluster().primitive('web').primitive('db').running('web', 'n1').running('db', 'n1').node('n1', { maintenance: true }).primitive('new'));
def('unmanaged-resource', 'an unmanaged resource is left where it is, even when it should move', () =>
  cluster().primitive('web', { meta: { managed: false } }).location('web', 'n2', 100).running('web', 'n1'));
def('unmanaged-failed', 'an unmanaged failed resource is not recovered', () =>
  cluster().primitive('web').running('web', 'n1', 'failed').failure('web', 'n1', 'monitor')
    .tap((b) => { b.snapshot.overrides.push({ resource: 'web', managed: false }); }));
def('target-role-stopped', 'target-role stopped stops a running resource', () =>
  cluster().primitive('web', { meta: { targetRole: 'stopped' } }).running('web', 'n1'));
def('standby-drain', 'standby drains every resource off the node', () =>
  cluster().primitive('a').primitive('b').primitive('c').running('a', 'n1').running('b', 'n1').running('c', 'n2').node('n1', { standby: true }));
def('colocated-with-unmanaged', 'a dependent follows an unmanaged primary where it is', () =>
  cluster().primitive('db', { meta: { managed: false } }).primitive('web').colocate('web', 'db').running('db', 'n3'));

// ── more edge cases ───────────────────────────────────────────────────────────────────────────
def('blocked-copy-elsewhere-stopped', 'a resource also seen on an unfenceable lost node is not started anywhere; its other copy is stopped', () =>
  cluster().primitive('web').running('web', 'n1').running('web', 'n2').node('n1', { state: 'unclean' })
    .tap((b) => { b.config.fencing.devices[0]!.hosts = ['n2', 'n3']; }));
def('order-promote-then-start', 'a service ordered after the promotion starts only once the primary is promoted', () =>
  cluster('n1', 'n2').primitive('db').clone('db-clone', 'db', { promotable: true }).primitive('app')
    .colocate('app', 'db-clone', INF, { withRole: 'promoted' }).order('db-clone', 'app', { firstAction: 'promote' }));
def('colocation-negative-with-clone', 'a resource kept off every node running a clone instance', () =>
  cluster().clone('batch-clone', 'batch', { max: 2 }).primitive('latency').colocate('latency', 'batch-clone', -INF));
def('clone-of-group-node-loss', 'a cloned group on a lost node is not restarted elsewhere while every node has one', () =>
  cluster('n1', 'n2').group('stack', ['mount', 'agent']).clone('stack-clone', 'stack')
    .running('mount:0', 'n1').running('agent:0', 'n1').running('mount:1', 'n2').running('agent:1', 'n2').node('n2', { state: 'unclean' }));
def('no-quorum-stop-with-lost-node', 'without quorum a lost node is not fenced and nothing is recovered; local resources stop', () =>
  cluster().primitive('a').primitive('b').running('a', 'n1').running('b', 'n3').node('n3', { state: 'unclean' })
    .tap((b) => { b.snapshot.quorate = false; }));
def('recovery-avoids-standby', 'a lost node\'s resource is not recovered onto a standby node', () =>
  cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' }).node('n2', { standby: true }));
def('two-node-fence-peer', 'two-node cluster: the survivor fences its peer, then takes over the group', () =>
  cluster('n1', 'n2').group('site', ['ip', 'web']).running('ip', 'n2').running('web', 'n2').node('n2', { state: 'unclean' }));
def('group-migrate-not-live', 'allow-migrate on a group member does not live-migrate it: the group moves by stop and start', () =>
  cluster().primitive('vm', { kind: 'microvm', meta: { allowMigrate: true } }).group('g', ['vm']).location('g', 'n2', 100).running('vm', 'n1'));
def('order-first-moves-then-restarts', 'when first moves to another node, a mandatory then restarts where it is', () =>
  cluster().primitive('db').primitive('web', { meta: { stickiness: 100 } }).order('db', 'web').location('db', 'n2', 100)
    .running('db', 'n1').running('web', 'n3'));
def('order-first-recovered-then-restarts', 'first recovered from a lost node elsewhere: a mandatory then on a survivor restarts after it', () =>
  cluster().primitive('db').primitive('web', { meta: { stickiness: 100 } }).order('db', 'web')
    .running('db', 'n1').running('web', 'n2').node('n1', { state: 'unclean' }));
def('order-first-recovered-group-restarts', 'first recovered from a lost node: a group ordered after it restarts, members in reverse then in order', () =>
  cluster().primitive('db').group('site', ['ip', 'web'], { stickiness: 100 }).order('db', 'site')
    .running('db', 'n1').running('ip', 'n2').running('web', 'n2').node('n1', { state: 'unclean' }));
def('order-optional-first-recovered-no-restart', 'first recovered from a lost node: an optional then keeps running untouched', () =>
  cluster('n1', 'n2').primitive('db').primitive('web', { meta: { stickiness: 100 } }).order('db', 'web', { kind: 'optional' })
    .running('db', 'n1').running('web', 'n2').node('n1', { state: 'unclean' }));
def('order-first-starts-then-restarts', 'a first that starts (it was stopped) restarts the running mandatory then after it', () =>
  cluster().primitive('db').primitive('web', { meta: { stickiness: 100 } }).order('db', 'web').running('web', 'n2'));
def('group-first-member-starts-rest-restart', 'a group member that starts restarts the running members after it', () =>
  cluster().group('site', ['ip', 'fs', 'web'], { stickiness: 100 }).running('fs', 'n1').running('web', 'n1'));
def('order-clone-instance-recovered-then-restarts', 'a clone instance recovered from a lost node restarts a primitive ordered after the clone', () =>
  cluster().clone('dns-clone', 'dns', { max: 2 }).primitive('app', { meta: { stickiness: 100 } }).order('dns-clone', 'app')
    .running('dns:0', 'n1').running('dns:1', 'n2').running('app', 'n3').node('n1', { state: 'unclean' }));
def('colocation-negative-score-recovery', 'a recovered primary avoids the node of a dependent scored apart from it (-500): the dependent is not moved', () =>
  cluster().primitive('a').primitive('b', { meta: { stickiness: 100 } }).colocate('b', 'a', -500)
    .running('a', 'n1').running('b', 'n2').node('n1', { state: 'unclean' }));
def('failure-timeout-restores-preference', 'an expired failure lifts the migration-threshold ban: the resource returns to its preferred node', () =>
  cluster().primitive('web', { meta: { migrationThreshold: 3, failureTimeoutMs: 600_000 } }).location('web', 'n1', 200)
    .running('web', 'n2').failure('web', 'n1', 'monitor', 3, 700_000));
def('unmanaged-group', 'an unmanaged group is left alone even with a failed member', () =>
  cluster().group('site', ['ip', 'web'], { managed: false }).running('ip', 'n1').running('web', 'n1', 'failed').failure('web', 'n1', 'monitor'));
def('maintenance-node-clone', 'a clone instance on a maintenance node is frozen, the others are managed', () =>
  cluster().clone('dns-clone', 'dns').running('dns:0', 'n1', 'failed').running('dns:1', 'n2').failure('dns', 'n1', 'monitor')
    .node('n1', { maintenance: true }));
def('promotable-primary-failed-recovers', 'a failed primary hands over to the healthy peer (promote after the failed copy stopped) and restarts as secondary', () =>
  drbd(cluster('n1', 'n2')).running('drbd:0', 'n1', 'failed').running('drbd:1', 'n2', 'unpromoted').running('fs', 'n1').running('pg', 'n1')
    .failure('drbd', 'n1', 'monitor'));

def('storage-chain-rbd-promotable', 'RBD exclusive-lock owner as a promotable clone: fence → blocklist → break lock → promote on the survivor', () =>
  cluster('n1', 'n2').primitive('rbdlock', { kind: 'exec', storage: { type: 'rbd', pool: 'vms', image: 'vm1' },
    operations: [...ops(), { name: 'promote', intervalMs: 0, timeoutMs: 30_000, onFail: 'restart' }, { name: 'demote', intervalMs: 0, timeoutMs: 30_000, onFail: 'restart' }] })
    .clone('rbd-owner', 'rbdlock', { promotable: true })
    .primitive('vm1', { kind: 'microvm' }).colocate('vm1', 'rbd-owner', INF, { withRole: 'promoted' }).order('rbd-owner', 'vm1', { firstAction: 'promote' })
    .running('rbdlock:0', 'n1', 'promoted').running('rbdlock:1', 'n2', 'unpromoted').running('vm1', 'n1').node('n1', { state: 'unclean' }));
def('storage-chain-rbd-watchdog', 'watchdog-only fencing: the RBD handover waits for the lost node\'s lease plus watchdog time', () =>
  rbd(cluster()).running('rbd', 'n1').running('fs', 'n1').running('pg', 'n1').node('n1', { state: 'unclean', leaseExpiredAt: 998_000 })
    .tap((b) => { b.config.fencing.devices = []; b.config.fencing.watchdog = true; }));

const root = new URL('.', import.meta.url).pathname;
const only = process.argv.slice(2);
for (const s of S) {
  if (only.length > 0 && !only.includes(s.name)) continue;
  const dir = join(root, s.name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'input.json'), serializeSchedulerInput(s.build().input()));
  writeFileSync(join(dir, 'description.txt'), s.description + '\n');
  if (s.simulate) writeFileSync(join(dir, 'simulate.json'), JSON.stringify(s.simulate, null, 2) + '\n');
}
console.log(`${S.length} scenarios defined`);
