// `tsha status` says when the answering node's state directory refuses writes (docs/agent.md,
// "Durable state"), in its header next to the fencing warning, and says nothing otherwise.
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../../src/cli/commands/status.js';
import { SAMPLE } from '../proto/fixtures.js';

describe('tsha status: the state directory', () => {
  it('warns with the cause while the node is stalled on it, and is silent otherwise', () => {
    const stalled = renderStatus({ ...SAMPLE.clusterStatus, stateDirFault: 'ENOSPC on /var/lib/tsha/hardstate (write) for 3 s: stalled, retrying' });
    expect(stalled).toContain(`WARNING: ${SAMPLE.clusterStatus.nodeSelf}'s state directory refuses writes: ENOSPC on /var/lib/tsha/hardstate (write) for 3 s: stalled, retrying`);
    expect(renderStatus({ ...SAMPLE.clusterStatus, stateDirFault: '' })).not.toContain('state directory');
  });
});
