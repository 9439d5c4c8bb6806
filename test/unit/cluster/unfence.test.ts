// Unfencing (Pacemaker's provides=unfencing): the replicated record of a node unfenced since it
// joined, and the scheduler's node-eligibility rule (a node that must be unfenced takes nothing).
// The coordinator's part (on at join, before any start there) is tested on the real-cluster
// harness: test/cluster/unfence.test.ts.
import { describe, expect, it } from 'vitest';
import { checkCommand, type Command } from '../../../src/core/cluster/commands.js';
import { applyCommand, cloneClusterState, initialClusterState } from '../../../src/core/cluster/state-machine.js';
import { schedule } from '../../../src/core/scheduler/index.js';
import { cluster } from '../../support/cluster-builder.js';

describe('the unfenced record', () => {
  const unfenced: Command = { type: 'unfenced', node: 'n2', device: 'scsi', executor: 'n1', term: 3, at: 700 };

  it('is checked like every command read from the network or the disk', () => {
    expect(checkCommand(unfenced)).toBeNull();
    expect(checkCommand({ ...unfenced, device: 3 })).toBe('unfenced: bad device');
    expect(checkCommand({ ...unfenced, plug: 'x' })).toBe('unfenced: unknown field plug');
  });

  it('holds from the unfencing until the node goes down, and is in the fence history and the history', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, unfenced, 5);
    expect(s.unfenced).toEqual({ n2: 5 });
    expect(s.fenceHistory.at(-1)).toEqual({ node: 'n2', cause: 'unfenced', action: 'on', term: 3, index: 5, at: 700, executor: 'n1', device: 'scsi' });
    expect(s.history?.at(-1)).toMatchObject({ kind: 'unfence', node: 'n2', index: 5 });
    const copy = cloneClusterState(s);
    applyCommand(copy, { type: 'nodeDown', node: 'n2', cause: 'fenced', term: 3, at: 900 }, 6);
    expect(copy.unfenced).toEqual({});
    expect(s.unfenced).toEqual({ n2: 5 }); // snapshots stay immutable
    // an unfencing committed after the node went down again does not count: its next join unfences it
    applyCommand(copy, unfenced, 7);
    expect(copy.unfenced).toEqual({});
  });
});

describe('the node-eligibility rule', () => {
  it('a node that must be unfenced takes no resources; the note says so', () => {
    const b = cluster('n1', 'n2').primitive('web').node('n1', { unfencing: true }).node('n2', { unfencing: true });
    const all = schedule(b.input().snapshot, b.input().config, b.now);
    expect(all.actions.filter((a) => a.type === 'start')).toEqual([]);
    expect(all.notes).toContain('node n2 takes no resources until it is unfenced');
    expect(all.stopped.map((x) => x.resource)).toEqual(['web']);
    b.node('n2', { unfencing: false });
    const plan = schedule(b.input().snapshot, b.input().config, b.now);
    expect(plan.actions.find((a) => a.type === 'start')).toMatchObject({ resource: 'web', node: 'n2' });
  });
});
