// One status view for `tsha status` and `tsha simulate`: the agent's rows (resourceStatuses, from the
// core's placements) and a snapshot's (snapshotStatus) go through the same builder (statusView), so
// a group lists its members in its own order, a cloned group is named as the group, and what every
// member of a group is shows once on the group's line, whichever command shows it.
import { describe, expect, it } from 'vitest';
import { renderStatusText } from '../../../src/cli/format/status-text.js';
import { snapshotStatusView } from '../../../src/cli/format/status-view.js';
import { resourceStatuses, type Placement } from '../../../src/core/resource-status.js';
import { cluster } from '../../support/cluster-builder.js';

const b = cluster('n1', 'n2')
  .primitive('web').primitive('ip').primitive('fs').group('site', ['web', 'ip'], { managed: false })
  .primitive('agent').primitive('logs').group('stack', ['agent', 'logs']).clone('stack-clone', 'stack', { max: 2 })
  .primitive('solo')
  .running('web', 'n1').running('ip', 'n1').running('agent:0', 'n1').running('logs:0', 'n1').running('agent:1', 'n2');

describe('resourceStatuses: each primitive instance, in display order', () => {
  it('lists top-level resources by id, group members in group order, clone instances under their clone', () => {
    const placements: Placement[] = [
      { resource: 'web', node: 'n1', role: 'started' },
      { resource: 'agent:0', node: 'n1', role: 'started' },
      { resource: 'agent:1', node: 'n2', role: 'starting' },
      { resource: 'fs', node: 'n2', role: 'failed' },
    ];
    const rows = resourceStatuses({ config: b.config, overrides: { solo: { targetRole: 'stopped' } }, placements, stoppedReasons: new Map([['logs', 'blocked: no node can run it']]), failures: [] });
    expect(rows.map((r) => r.id)).toEqual(['fs', 'web', 'ip', 'solo', 'agent:0', 'agent:1', 'logs']);
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(by['web']).toMatchObject({ group: 'site', state: 'started', nodes: ['n1'], managed: false });
    expect(by['ip']).toMatchObject({ state: 'stopped', reason: 'unmanaged' });
    expect(by['agent:1']).toMatchObject({ group: 'stack', clone: 'stack-clone', state: 'starting', nodes: ['n2'] });
    expect(by['solo']).toMatchObject({ state: 'stopped', targetRole: 'stopped', reason: 'disabled' });
    expect(by['logs']).toMatchObject({ state: 'stopped', reason: 'blocked: no node can run it', blocked: true });
    expect(by['fs']).toMatchObject({ state: 'failed', nodes: ['n2'] });
  });
});

describe('statusView: one builder for the agent\'s status and a snapshot', () => {
  it('shows a group in its order with its common flag once, and a cloned group by the group\'s name', () => {
    const text = renderStatusText(snapshotStatusView(b.snapshot, b.config), { includeSummary: false });
    expect(text).toContain([
      '  * Resource Group: site (unmanaged):',
      '    * web (systemd:web.service): Started n1',
      '    * ip (systemd:ip.service): Started n1',
    ].join('\n'));
    expect(text).toContain('  * Clone Set: stack-clone [stack]:\n    * Started: [ n1 n2 ]');
  });

});
