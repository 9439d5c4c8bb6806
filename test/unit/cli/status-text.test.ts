// The crm_mon -1 style renderer (src/cli/format/status-text.ts) on a hand-built StatusView.
import { describe, expect, it } from 'vitest';
import { renderStatusJson, renderStatusText } from '../../../src/cli/format/status-text.js';
import type { StatusView } from '../../../src/cli/format/status-view.js';

const view: StatusView = {
  cluster: { name: 'alpha', coordinator: 'n1', quorum: true, nodesConfigured: 4, resourceInstancesConfigured: 5, maintenanceMode: false },
  nodes: [
    { name: 'n1', state: 'online', standby: false, maintenance: false },
    { name: 'n2', state: 'online', standby: true, maintenance: false },
    { name: 'n3', state: 'unclean', standby: false, maintenance: false },
    { name: 'n4', state: 'offline', standby: false, maintenance: false },
  ],
  resources: [
    { type: 'primitive', id: 'web', agent: 'systemd:nginx.service', state: 'Started', nodes: ['n1'], flags: [] },
    { type: 'group', id: 'site', flags: [], members: [
      { type: 'primitive', id: 'ip', agent: 'ocf:heartbeat:IPaddr2', state: 'Started', nodes: ['n1'], flags: [] },
      { type: 'primitive', id: 'app', agent: 'lxc:app', state: 'Stopped', nodes: [], flags: ['(disabled)'] },
    ] },
    { type: 'clone', id: 'drbd-clone', child: 'drbd', promotable: true, flags: [], roles: [{ label: 'Promoted', nodes: ['n1'] }, { label: 'Stopped', nodes: ['n2', 'n3', 'n4'] }] },
  ],
  failedActions: [{ resource: 'app', operation: 'start', node: 'n1', count: 1, lastFailureAt: 42, kind: 'hard' }],
};

describe('status text', () => {
  it('shows a node in a restart or crash grace as RESTARTING with the time left, not UNCLEAN', () => {
    const graced: StatusView = {
      ...view,
      nodes: [
        { name: 'n1', state: 'online', standby: false, maintenance: false },
        { name: 'n2', state: 'unclean', standby: false, maintenance: false, restartGrace: { cause: 'crash', remainingMs: 4230 } },
        { name: 'n3', state: 'unclean', standby: false, maintenance: false, restartGrace: { cause: 'restart', remainingMs: 9000 } },
      ],
    };
    const nodeList = renderStatusText(graced).split('Node List:\n')[1]!.split('\n\n')[0];
    expect(nodeList).toBe([
      '  * Online: [ n1 ]',
      '  * Node n2: RESTARTING (agent crashed, host up; not fenced, resources kept for 4.2 s more)',
      '  * Node n3: RESTARTING (agent restarting; not fenced, resources kept for 9.0 s more)',
    ].join('\n'));
  });

  it('renders like crm_mon -1', () => {
    expect(renderStatusText(view)).toBe(`Cluster Summary:
  * Cluster name: alpha
  * Current coordinator: n1 - partition with quorum
  * 4 nodes configured
  * 5 resource instances configured

Node List:
  * Online: [ n1 ]
  * Node n2: standby
  * Node n3: UNCLEAN (offline)
  * OFFLINE: [ n4 ]

Full List of Resources:
  * web (systemd:nginx.service): Started n1
  * Resource Group: site:
    * ip (ocf:heartbeat:IPaddr2): Started n1
    * app (lxc:app): Stopped (disabled)
  * Clone Set: drbd-clone [drbd] (promotable):
    * Promoted: [ n1 ]
    * Stopped: [ n2 n3 n4 ]

Failed Resource Actions:
  * app_start on n1 'hard error': count=1, last-failure=42
`);
  });

  it('JSON is the same model', () => {
    expect(JSON.parse(renderStatusJson(view))).toEqual(view);
  });
});
