// `tsha status` says when the answering node's state directory refuses writes (docs/agent.md,
// "Durable state"), in its header next to the fencing warning, and says nothing otherwise.
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/commands/status.js';
import { SAMPLE } from '../proto/fixtures.js';

describe('tsha status: the state directory', () => {
  it('warns with the cause while the node is stalled on it, and is silent otherwise', () => {
    const stalled = renderStatus({ ...SAMPLE.clusterStatus, stateDirFault: 'ENOSPC on /var/lib/tsha/hardstate (write) for 3 s: stalled, retrying' });
    const self = SAMPLE.clusterStatus.nodeSelf;
    expect(stalled).toContain(`WARNING: ${self}'s state directory refuses writes: ENOSPC on /var/lib/tsha/hardstate (write) for 3 s: stalled, retrying`);
    // and what the peers make of it: a stalled node is handled as a failed one
    expect(stalled).toContain(`${self} votes, acknowledges and renews nothing while stalled: its peers handle it as a failed node (fenced, or its resources recovered elsewhere after lease + watchdog)`);
    const healthy = renderStatus({ ...SAMPLE.clusterStatus, stateDirFault: '' });
    expect(healthy).not.toContain('state directory');
    expect(healthy).not.toContain('while stalled');
  });
});
