// The replicated record of an operator's fence (`tsha fence NODE`): the request is a well-formed
// command, applying it records it (and bumps the scheduler's input), withdrawing removes it, and
// the node-down that carries it out records who asked and clears it.
import { describe, expect, it } from 'vitest';
import { checkCommand, type Command } from '../../../src/core/cluster/commands.js';
import { applyCommand, cloneClusterState, initialClusterState } from '../../../src/core/cluster/state-machine.js';

describe('fenceRequest', () => {
  const ask: Command = { type: 'fenceRequest', node: 'n2', on: true, action: 'reboot', by: 'cli:root', at: 500 };

  it('is checked like every command read from the network or the disk', () => {
    expect(checkCommand(ask)).toBeNull();
    expect(checkCommand({ ...ask, action: 'on' })).toBe('fenceRequest: bad action');
    expect(checkCommand({ ...ask, by: undefined })).toBe('fenceRequest: bad by');
    expect(checkCommand({ ...ask, plug: '3' })).toBe('fenceRequest: unknown field plug');
  });

  it('is recorded until the node-down that carries it out, which names who asked', () => {
    const s = initialClusterState(['n1', 'n2', 'n3']);
    applyCommand(s, ask, 7);
    expect(s.fenceRequests).toEqual({ n2: { action: 'reboot', by: 'cli:root', index: 7, at: 500 } });
    expect(s.inputs).toBe(1);
    // snapshots stay immutable: a clone does not share the record
    const copy = cloneClusterState(s);
    applyCommand(copy, { type: 'fenceRequest', node: 'n2', on: false, action: 'off', by: 'cli:root' }, 8);
    expect(copy.fenceRequests).toEqual({});
    expect(s.fenceRequests).toEqual({ n2: { action: 'reboot', by: 'cli:root', index: 7, at: 500 } });

    applyCommand(s, { type: 'nodeDown', node: 'n2', cause: 'fenced', term: 2, at: 900 }, 9);
    expect(s.fenceRequests).toEqual({});
    expect(s.fenceHistory.at(-1)).toEqual({ node: 'n2', cause: 'fenced', term: 2, index: 9, at: 900, by: 'cli:root', action: 'reboot' });
    // a fence nobody asked for records no requester
    applyCommand(s, { type: 'nodeDown', node: 'n3', cause: 'fenced', term: 2, at: 950 }, 10);
    expect(s.fenceHistory.at(-1)).toEqual({ node: 'n3', cause: 'fenced', term: 2, index: 10, at: 950 });
  });
});
