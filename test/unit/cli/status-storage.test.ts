// `tsha status` text: the storage each node reads (RBD lock holders and blocklist entries, DRBD
// roles) and the takeovers the cluster committed.
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/commands/status.js';
import type { ClusterStatus } from '../../../src/ports/control.js';
import { SAMPLE } from '../proto/fixtures.js';

describe('tsha status: storage', () => {
  const s: ClusterStatus = {
    ...SAMPLE.clusterStatus,
    storage: [
      {
        resource: 'vm-disk', type: 'rbd', name: 'rbd/vm-web', seenFrom: 'a', readAtUnixMs: 0, error: '',
        lockHolders: [{ client: 'client.4123', address: '10.213.0.1:0/77', node: 'a' }], watchers: [],
        blocklisted: [{ address: '10.213.0.2:0/55', until: '2026-12-06T15:00:00.000000+0000' }], role: '', disk: '', peers: [],
      },
      {
        resource: 'drbd-r0:0', type: 'drbd', name: 'r0', seenFrom: 'a', readAtUnixMs: 0, error: '', lockHolders: [], watchers: [], blocklisted: [],
        role: 'Primary', disk: 'UpToDate', peers: [{ node: 'b', connection: 'StandAlone', role: 'Unknown', disk: 'Outdated' }],
      },
      { resource: 'other', type: 'rbd', name: 'rbd/x', seenFrom: 'a', readAtUnixMs: 0, error: 'ceph: timed out after 5000 ms', lockHolders: [], watchers: [], blocklisted: [], role: '', disk: '', peers: [] },
    ],
    storageHistory: [
      { resource: 'vm-disk', step: 'blocklist', node: 'a', lost: 'b', status: 'ok', reason: '', timeUnixMs: Date.UTC(2026, 11, 6, 14, 0, 0), transition: 40 },
      { resource: 'vm-disk', step: 'break_lock', node: 'a', lost: 'b', status: 'error', reason: 'rbd: (110) Connection timed out', timeUnixMs: Date.UTC(2026, 11, 6, 14, 0, 1), transition: 40 },
    ],
  };

  it('shows who holds each storage, who is blocklisted, DRBD roles and the committed takeovers', () => {
    const text = renderStatus(s);
    expect(text).toContain('Storage (as a reads it):');
    expect(text).toContain('  * vm-disk (rbd:rbd/vm-web): locked by client.4123 at 10.213.0.1:0/77 (a); blocklisted: 10.213.0.2:0/55 until 2026-12-06T15:00:00.000000+0000');
    expect(text).toContain('  * drbd-r0:0 (drbd:r0): Primary/UpToDate on a; peers: b StandAlone Unknown/Outdated');
    expect(text).toContain('  * other (rbd:rbd/x): UNKNOWN (ceph: timed out after 5000 ms)');
    expect(text).toContain('Storage History:');
    expect(text).toContain('  * blocklisted the Ceph client of b for vm-disk on a: done at 2026-12-06T14:00:00.000Z (transition 40)');
    expect(text).toContain('  * broke the RBD lock of b for vm-disk on a: error (rbd: (110) Connection timed out) at 2026-12-06T14:00:01.000Z (transition 40)');
  });

  it('says nothing of storage when the cluster has none', () => {
    const text = renderStatus({ ...s, storage: [], storageHistory: [] });
    expect(text).not.toContain('Storage');
  });
});

describe('tsha status: why stopped, operator constraints', () => {
  const base: ClusterStatus = { ...SAMPLE.clusterStatus, storage: [], storageHistory: [], operatorConstraints: [] };
  const web = { ...SAMPLE.clusterStatus.resources[0]!, id: 'web', group: '', clone: '', promotable: false, agent: 'systemd:nginx.service', failCounts: [] };

  it('says why a resource that should run is stopped, and marks it blocked', () => {
    const text = renderStatus({
      ...base,
      resources: [{ ...web, state: 'stopped', nodes: [], reason: 'blocked: node a must be fenced (lost) but no fence device covers it', blocked: true }],
    });
    expect(text).toContain('  * web (systemd:nginx.service): Stopped (blocked: node a must be fenced (lost) but no fence device covers it)');
  });

  it('lists bans and preferences with what is left of their lifetime', () => {
    const text = renderStatus({
      ...base,
      operatorConstraints: [
        { resource: 'web', node: 'a', score: -1_000_000, remainingMs: 0 },
        { resource: 'db', node: 'b', score: 1_000_000, remainingMs: 59_500 },
      ],
    });
    expect(text).toContain('Operator Constraints:\n  * web banned from a (until cleared)\n  * db prefers b (score INFINITY, 60 s left)\n');
  });
});
