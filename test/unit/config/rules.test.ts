// Table tests: one row per cross-field rule (src/config/rules.ts), each a small change to a valid
// example that must be reported at the given path, plus the changes that must stay valid.
import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/config/index.js';
import { type Cfg, errorsOf, variant } from './helpers.js';

type Row = [rule: string, example: string, change: (c: Cfg) => void, path: string, message: RegExp];

const prim = (unit: string) => ({ kind: 'systemd', params: { unit } });
const vipParams = (address: string) => ({ kind: 'ip', params: { address, interface: 'eth0' } });

const rejected: Row[] = [
  // timing
  ['failure timeout ≥ 3 × heartbeat', 'three-node.json', (c) => (c.timing = { heartbeatIntervalMs: 200, failureTimeoutMs: 599, leaseMs: 2000, electionTimeoutMs: 600 }), 'timing.failureTimeoutMs', /at least 3 × timing.heartbeatIntervalMs \(600\)/],
  ['election timeout ≥ 3 × heartbeat', 'three-node.json', (c) => (c.timing.electionTimeoutMs = 449), 'timing.electionTimeoutMs', /at least 3 × timing.heartbeatIntervalMs \(450\)/],
  ['lease longer than failure timeout', 'three-node.json', (c) => (c.timing.leaseMs = 500), 'timing.leaseMs', /longer than timing.failureTimeoutMs \(500\)/],
  ['watchdog in whole seconds', 'three-node.json', (c) => (c.timing.watchdogMs = 2500), 'timing.watchdogMs', /whole number of seconds/],
  ['fence race delay > 0 in two_node', 'two-node.json', (c) => (c.timing.fenceRaceDelayMs = 0), 'timing.fenceRaceDelayMs', /must be > 0 in two_node mode/],
  // quorum
  ['even voters without witness', 'three-node.json', (c) => (c.nodes.n3.votes = 2), 'nodes', /4 votes in all \(even\)/],
  ['four nodes', 'three-node.json', (c) => { c.nodes.n4 = { address: '10.90.0.4:7400' }; c.fencing.devices.pdu.hosts.push('n4'); c.fencing.devices.pdu.hostMap.n4 = '4'; }, 'nodes', /4 voting node\(s\) with 4 votes/],
  ['two nodes without fencing', 'two-node.json', (c) => (c.fencing.enabled = false), 'nodes', /two nodes without a witness need fencing/],
  ['two nodes, one not fenceable', 'two-node.json', (c) => delete c.fencing.devices['ipmi-right'], 'nodes', /no fence device lists "right"/],
  ['witness only with exactly two nodes', 'three-node.json', (c) => (c.witness = { name: 'nas', address: '10.90.0.9:7400' }), 'witness', /exactly two nodes/],
  ['witness needs equal votes', 'two-node-witness.json', (c) => (c.nodes.alpha.votes = 2), 'witness', /exactly two nodes with equal votes/],
  ['no votes at all', 'three-node.json', (c) => { for (const n of Object.values<Cfg>(c.nodes)) n.votes = 0; }, 'nodes', /no node has a vote/],
  // nodes, witness, ids
  ['unique node addresses', 'three-node.json', (c) => (c.nodes.n2.address = '10.90.0.1:7400'), 'nodes.n2.address', /already used by nodes.n1/],
  ['witness address differs from nodes', 'two-node-witness.json', (c) => (c.witness.address = '10.90.0.2:7400'), 'witness.address', /already used by nodes.beta/],
  ['witness name differs from nodes', 'two-node-witness.json', (c) => (c.witness.name = 'alpha'), 'witness.name', /already a node name/],
  ['unique WireGuard keys', 'two-node-witness.json', (c) => (c.witness.publicKey = c.nodes.alpha.publicKey), 'witness.publicKey', /same key as nodes.alpha.publicKey/],
  ['port in range', 'three-node.json', (c) => (c.nodes.n1.address = '10.90.0.1:70000'), 'nodes.n1.address', /port 70000 is out of range/],
  ['address is host:port', 'three-node.json', (c) => (c.nodes.n1.address = '10.90.0.1'), 'nodes.n1.address', /is not an address "host:port"/],
  ['node name is a DNS label', 'three-node.json', (c) => { c.nodes.N_1 = c.nodes.n1; delete c.nodes.n1; }, 'nodes.N_1', /not a valid node name: a DNS label/],
  ['cluster id format', 'three-node.json', (c) => (c.cluster.id = '-lab'), 'cluster.id', /is not a cluster id/],
  ['public key format', 'three-node.json', (c) => (c.nodes.n1.publicKey = 'not-a-key'), 'nodes.n1.publicKey', /WireGuard public key/],
  ['ids shared by resources and groups', 'three-node.json', (c) => (c.groups.web = { members: ['dns'] }), 'groups.web', /id "web" is already used by resources.web/],
  ['ids shared by resources and clones', 'three-node.json', (c) => (c.clones.db = { child: 'dns' }), 'clones.db', /already used by resources.db/],
  ['ids shared with fence devices', 'three-node.json', (c) => (c.resources.pdu = prim('pdu.service')), 'fencing.devices.pdu', /already used by resources.pdu/],
  // fencing
  ['fence device hosts exist', 'three-node.json', (c) => (c.fencing.devices['ipmi-n1'].hosts = ['n7']), 'fencing.devices.ipmi-n1.hosts[0]', /no node named "n7"/],
  ['fence level node exists', 'three-node.json', (c) => (c.fencing.levels.n8 = [['pdu']]), 'fencing.levels.n8', /no node named "n8"/],
  ['fence level device exists', 'three-node.json', (c) => (c.fencing.levels.n1 = [['ipmi-n9']]), 'fencing.levels.n1[0][0]', /no fence device named "ipmi-n9" \(did you mean "ipmi-n1"\?\)/],
  ['fence level device can fence the node', 'three-node.json', (c) => (c.fencing.levels.n1 = [['ipmi-n2']]), 'fencing.levels.n1[0][0]', /cannot fence "n1"/],
  ['hostMap names only nodes', 'three-node.json', (c) => (c.fencing.devices.pdu.hostMap = { n1: '1', n2: '2', n3: '3', n9: '9' }), 'fencing.devices.pdu.hostMap.n9', /no node named "n9"/],
  ['hostMap names only hosts of the device', 'three-node.json', (c) => (c.fencing.devices['ipmi-n1'].hostMap = { n1: 'bmc1', n2: 'bmc2' }), 'fencing.devices.ipmi-n1.hostMap.n2', /not in fencing.devices.ipmi-n1.hosts/],
  ['a non-empty hostMap covers every host', 'three-node.json', (c) => (c.fencing.devices.pdu.hostMap = { n1: '1', n2: '2' }), 'fencing.devices.pdu.hostMap', /no plug for "n3", which is in hosts/],
  ['a plug parameter is refused, pointing to hostMap', 'three-node.json', (c) => (c.fencing.devices['ipmi-n1'].parameters.port = '7'), 'fencing.devices.ipmi-n1.parameters.port', /hostMap/],
  ['an action parameter is refused', 'three-node.json', (c) => (c.fencing.devices['ipmi-n1'].parameters.action = 'reboot'), 'fencing.devices.ipmi-n1.parameters.action', /sets the action itself/],
  ['watchdog device needs watchdog fencing', 'three-node.json', (c) => (c.fencing.watchdogDevice = '/dev/watchdog'), 'fencing.watchdogDevice', /needs fencing.enabled = true and fencing.watchdog = true/],
  ['watchdog device is an absolute path', 'three-node.json', (c) => { c.fencing.watchdog = true; c.fencing.watchdogDevice = 'dev/watchdog'; }, 'fencing.watchdogDevice', /an absolute path/],
  ['fencing enabled needs a device or watchdog', 'three-node.json', (c) => { c.fencing.devices = {}; c.fencing.levels = {}; }, 'fencing', /no fence device and fencing.watchdog is false/],
  ['every node fenceable', 'three-node.json', (c) => { delete c.fencing.devices.pdu; delete c.fencing.devices['ipmi-n3']; c.fencing.levels = {}; }, 'nodes.n3', /cannot be fenced/],
  ['stateful needs fencing', 'three-node.json', (c) => (c.fencing.enabled = false), 'resources.db.stateful', /is stateful but fencing is disabled/],
  ['DRBD storage needs fencing', 'storage.json', (c) => (c.fencing.enabled = false), 'resources.drbd-r0.storage', /holds DRBD storage but fencing is disabled/],
  ['a stateful resource needs fencing, or RBD storage before it', 'storage.json', (c) => (c.fencing.enabled = false), 'resources.postgres.stateful', /is stateful but fencing is disabled .* keep its data on Ceph RBD storage held by a resource it starts after/],
  ['one image, one holder', 'storage.json', (c) => (c.resources['vm-web'].storage = { type: 'rbd', pool: 'rbd', image: 'vm-web' }), 'resources.vm-web.storage', /Ceph RBD image rbd\/vm-web is also held by resources.vm-disk/],
  ['onFail fence needs fencing', 'three-node.json', (c) => { c.fencing.enabled = false; c.resources.db.stateful = false; c.resources.web.operations = { monitor: { onFail: 'fence' } }; }, 'resources.web.operations.monitor.onFail', /needs fencing.enabled = true/],
  ['a failed stop only fences or blocks', 'three-node.json', (c) => (c.resources.web.operations = { stop: { onFail: 'restart' } }), 'resources.web.operations.stop.onFail', /"restart" cannot follow a failed stop: the resource may still be running there/],
  ['a failed stop cannot be ignored', 'three-node.json', (c) => (c.resources.web.operations = { stop: { onFail: 'ignore' } }), 'resources.web.operations.stop.onFail', /"ignore" cannot follow a failed stop/],
  ['a failed stop cannot put the node in standby', 'three-node.json', (c) => (c.resources.web.operations = { stop: { onFail: 'standby' } }), 'resources.web.operations.stop.onFail', /"standby" cannot follow a failed stop/],
  ['no ignore in a promotable clone', 'storage.json', (c) => (c.resources['drbd-r0'].operations.monitorPromoted.onFail = 'ignore'), 'resources.drbd-r0.operations.monitorPromoted.onFail', /"ignore" is not available in a promotable clone/],
  // kinds
  ['systemd needs unit', 'three-node.json', (c) => (c.resources.web.params = {}), 'resources.web.params.unit', /is required for a systemd resource/],
  ['systemd unit suffix', 'three-node.json', (c) => (c.resources.web.params.unit = 'nginx.conf'), 'resources.web.params.unit', /must end in a startable unit suffix/],
  ['systemd template needs an instance', 'three-node.json', (c) => (c.resources.web.params.unit = 'nginx@.service'), 'resources.web.params.unit', /template needs an instance/],
  ['systemd takes no other params', 'three-node.json', (c) => (c.resources.web.params.unti = 'x'), 'resources.web.params.unti', /unknown parameter for a systemd resource \(did you mean "unit"\?\)/],
  ['lxc needs name', 'three-node.json', (c) => (c.resources.dns = { kind: 'lxc', params: {} }), 'resources.dns.params.name', /is required for a lxc resource/],
  ['lxc configPath is absolute', 'three-node.json', (c) => (c.resources.dns = { kind: 'lxc', params: { name: 'dns', configPath: 'lxc' } }), 'resources.dns.params.configPath', /"lxc" must be an absolute path/],
  ['lxc healthCommand not empty', 'three-node.json', (c) => (c.resources.dns = { kind: 'lxc', params: { name: 'dns', healthCommand: ' ' } }), 'resources.dns.params.healthCommand', /is empty/],
  ['lxc takes no other params', 'three-node.json', (c) => (c.resources.dns = { kind: 'lxc', params: { name: 'dns', lxcpath: '/x' } }), 'resources.dns.params.lxcpath', /unknown parameter for a lxc resource/],
  ['microvm needs name', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: {} }), 'resources.mail.params.name', /is required for a microvm resource/],
  ['ocf needs agent', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { ip: '10.90.1.10' } }), 'resources.vip.params.agent', /is required for a ocf resource \(agent: "provider:type"/],
  ['ocf agent names its provider', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'IPaddr2', ip: '10.90.1.10' } }), 'resources.vip.params.agent', /"IPaddr2" names no provider: write "provider:type", e.g. "heartbeat:IPaddr2"/],
  ['ocf agent without the class', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'ocf:heartbeat:IPaddr2' } }), 'resources.vip.params.agent', /write "heartbeat:IPaddr2" \(provider:type; the kind already says ocf\)/],
  ['ocf agent is no path', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'heartbeat:../../bin/sh' } }), 'resources.vip.params.agent', /is not an OCF agent name/],
  ['ocf provider goes into agent', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { provider: 'heartbeat', agent: 'IPaddr2' } }), 'resources.vip.params.provider', /not an agent parameter: provider and type go together in agent, e.g. agent = "heartbeat:IPaddr2"/],
  ['ocf parameter names are environment names', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'heartbeat:IPaddr2', 'cidr-netmask': '24' } }), 'resources.vip.params.cidr-netmask', /not a valid OCF parameter name/],
  ['ocf meta parameters are tsha\'s', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'heartbeat:IPaddr2', CRM_meta_interval: '0' } }), 'resources.vip.params.CRM_meta_interval', /are set by tsha itself/],
  ['ocf cannot migrate yet', 'three-node.json', (c) => (c.resources.vip = { kind: 'ocf', params: { agent: 'heartbeat:Dummy' }, meta: { allowMigrate: true } }), 'resources.vip.meta.allowMigrate', /cannot live-migrate: no resource of this build can live-migrate \(live migration of microvm and ocf resources is planned\)/],
  ['microvm readyTcp is host:port', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail', readyTcp: '10.0.0.5' } }), 'resources.mail.params.readyTcp', /"10.0.0.5" is not an address "host:port"/],
  ['microvm readyTcp port in range', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail', readyTcp: '10.0.0.5:70000' } }), 'resources.mail.params.readyTcp', /port 1–65535/],
  ['microvm readyCommand not empty', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail', readyCommand: ' ' } }), 'resources.mail.params.readyCommand', /is empty/],
  ['microvm takes no other params', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail', readyTCP: '10.0.0.5:22' } }), 'resources.mail.params.readyTCP', /unknown parameter for a microvm resource \(did you mean "readyTcp"\?\)/],
  ['microvm live migration is planned, refused', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail' }, meta: { allowMigrate: true } }), 'resources.mail.meta.allowMigrate', /a microvm resource cannot live-migrate: no resource of this build can live-migrate \(live migration of microvm and ocf resources is planned\)/],
  ['exec needs monitor', 'three-node.json', (c) => delete c.resources.backup.params.monitor, 'resources.backup.params.monitor', /is required for a exec resource/],
  ['ip needs address', 'three-node.json', (c) => (c.resources.vip2 = { kind: 'ip', params: { interface: 'eth0' } }), 'resources.vip2.params.address', /is required for a ip resource/],
  ['ip needs interface', 'three-node.json', (c) => (c.resources.vip2 = { kind: 'ip', params: { address: '10.90.1.11/24' } }), 'resources.vip2.params.interface', /is required for a ip resource/],
  ['ip address needs a prefix', 'three-node.json', (c) => (c.resources.vip2 = vipParams('10.90.1.11')), 'resources.vip2.params.address', /"10.90.1.11" needs a prefix length/],
  ['ip address is an address', 'three-node.json', (c) => (c.resources.vip2 = vipParams('10.90.1.311/24')), 'resources.vip2.params.address', /is not an IPv4 address with a prefix length/],
  ['ip prefix in range', 'three-node.json', (c) => (c.resources.vip2 = vipParams('2001:db8::10/129')), 'resources.vip2.params.address', /invalid prefix length \(0 to 128 for IPv6\)/],
  ['ip address is not the network address', 'three-node.json', (c) => (c.resources.vip2 = vipParams('10.90.1.0/24')), 'resources.vip2.params.address', /is the network address of its \/24/],
  ['ip address is not the broadcast address', 'three-node.json', (c) => (c.resources.vip2 = vipParams('10.90.1.255/24')), 'resources.vip2.params.address', /is the broadcast address of its \/24/],
  ['ip address is not link-local', 'three-node.json', (c) => (c.resources.vip2 = vipParams('fe80::10/64')), 'resources.vip2.params.address', /is a link-local address/],
  ['ip interface name', 'three-node.json', (c) => (c.resources.vip2 = { kind: 'ip', params: { address: '10.90.1.11/24', interface: 'eth 0' } }), 'resources.vip2.params.interface', /is not an interface name/],
  ['ip arpCount is a small count', 'three-node.json', (c) => (c.resources.vip2 = { kind: 'ip', params: { address: '10.90.1.11/24', interface: 'eth0', arpCount: '5s' } }), 'resources.vip2.params.arpCount', /not a number of gratuitous ARPs from 0 to 30/],
  ['ip takes no other params', 'three-node.json', (c) => (c.resources.vip2 = { kind: 'ip', params: { address: '10.90.1.11/24', interface: 'eth0', nic: 'eth0' } }), 'resources.vip2.params.nic', /unknown parameter for a ip resource/],
  ['ip addresses are unique', 'three-node.json', (c) => { c.resources.vip2 = vipParams('10.90.1.11/24'); c.resources.vip3 = vipParams('10.90.1.11/16'); }, 'resources.vip3.params.address', /10.90.1.11 is already the address of resources.vip2/],
  ['ip addresses are unique in any spelling', 'three-node.json', (c) => { c.resources.vip2 = vipParams('2001:db8::10/64'); c.resources.vip3 = vipParams('2001:DB8:0::0010/64'); }, 'resources.vip3.params.address', /2001:db8::10 is already the address of resources.vip2/],
  ['ip is never cloned', 'three-node.json', (c) => { c.resources.vip2 = vipParams('10.90.1.11/24'); c.clones.vips = { child: 'vip2' }; }, 'resources.vip2', /a virtual IP runs on one node at a time: it cannot be in clone "vips"/],
  ['systemd cannot migrate', 'three-node.json', (c) => (c.resources.web.meta = { allowMigrate: true }), 'resources.web.meta.allowMigrate', /cannot live-migrate/],
  ['migrate operations need allowMigrate', 'three-node.json', (c) => (c.resources.mail = { kind: 'microvm', params: { name: 'mail' }, operations: { migrateTo: { timeoutMs: 120000 } } }), 'resources.mail.operations.migrateTo', /needs meta.allowMigrate = true/],
  ['interval only on monitors', 'three-node.json', (c) => (c.resources.web.operations = { start: { intervalMs: 1000 } }), 'resources.web.operations.start.intervalMs', /only monitors have an interval/],
  ['promote only in promotable clones', 'three-node.json', (c) => (c.resources.web.operations = { promote: {} }), 'resources.web.operations.promote', /only resources in a promotable clone/],
  ['targetRole promoted only in promotable clones', 'three-node.json', (c) => (c.resources.web.meta = { targetRole: 'promoted' }), 'resources.web.meta.targetRole', /promotable clone only/],
  // storage
  ['drbd needs resource', 'storage.json', (c) => delete c.resources['drbd-r0'].storage.resource, 'resources.drbd-r0.storage.resource', /is required for drbd storage/],
  ['rbd needs pool', 'storage.json', (c) => delete c.resources['vm-disk'].storage.pool, 'resources.vm-disk.storage.pool', /is required for rbd storage/],
  ['rbd needs image', 'storage.json', (c) => delete c.resources['vm-disk'].storage.image, 'resources.vm-disk.storage.image', /is required for rbd storage/],
  ['drbd fields only on drbd', 'storage.json', (c) => (c.resources['drbd-r0'].storage.pool = 'rbd'), 'resources.drbd-r0.storage.pool', /does not apply to drbd storage/],
  ['drbd in a promotable clone', 'storage.json', (c) => (c.clones['drbd-r0-clone'].promotable = false), 'resources.drbd-r0.storage', /promotable = true/],
  ['rbd not in a plain clone', 'storage.json', (c) => { c.groups['web-vm'].members = ['vm-web']; c.clones.disks = { child: 'vm-disk' }; }, 'resources.vm-disk.storage', /cannot be in the non-promotable clone "disks"/],
  // groups and clones
  ['group member exists', 'three-node.json', (c) => c.groups.frontend.members.push('wbe'), 'groups.frontend.members[2]', /no resource named "wbe" \(did you mean "web"\?\)/],
  ['group member is a primitive', 'three-node.json', (c) => c.groups.frontend.members.push('node-exporter-clone'), 'groups.frontend.members[2]', /is a clone: group members must be primitive/],
  ['resource in two groups', 'three-node.json', (c) => (c.groups.other = { members: ['web'] }), 'groups.other.members[0]', /already in group "frontend"/],
  ['resource in a group and a clone', 'three-node.json', (c) => (c.clones.webs = { child: 'web' }), 'clones.webs.child', /already in group "frontend"/],
  ['group member listed twice', 'three-node.json', (c) => c.groups.frontend.members.push('vip'), 'groups.frontend.members[2]', /listed twice/],
  ['clone child exists', 'three-node.json', (c) => (c.clones['node-exporter-clone'].child = 'node-exporte'), 'clones.node-exporter-clone.child', /no resource or group named "node-exporte" \(did you mean "node-exporter"\?\)/],
  ['clone of a clone', 'three-node.json', (c) => (c.clones.outer = { child: 'node-exporter-clone' }), 'clones.outer.child', /a clone cannot be cloned/],
  ['no promoted role as a default', 'three-node.json', (c) => (c.resourceDefaults.targetRole = 'promoted'), 'resourceDefaults.targetRole', /promotable clones only/],
  ['promotedMax ≤ instances', 'storage.json', (c) => (c.clones['drbd-r0-clone'].promotedMax = 3), 'clones.drbd-r0-clone.promotedMax', /must not exceed the number of instances \(2\)/],
  // constraints
  ['colocation with exists', 'three-node.json', (c) => (c.resources.backup.colocation[0].with = 'dbx'), 'resources.backup.colocation[0].with', /no resource named "dbx"/],
  ['order after exists', 'three-node.json', (c) => (c.resources.backup.order[0].after = 'nope'), 'resources.backup.order[0].after', /no resource named "nope"/],
  ['order before exists', 'three-node.json', (c) => (c.resources.backup.order = [{ before: 'nope' }]), 'resources.backup.order[0].before', /no resource named "nope"/],
  ['order needs after or before', 'three-node.json', (c) => (c.resources.backup.order = [{ after: 'db', before: 'web' }]), 'resources.backup.order[0]', /exactly one of after and before/],
  ['location node exists', 'three-node.json', (c) => (c.resources.dns.location[0].node = 'n5'), 'resources.dns.location[0].node', /no node named "n5"/],
  ['location needs node or rule', 'three-node.json', (c) => (c.resources.dns.location[0] = { score: 5 }), 'resources.dns.location[0]', /exactly one of node and rule/],
  ['location rule value with eq', 'three-node.json', (c) => delete c.resources.db.location[0].rule.value, 'resources.db.location[0].rule.value', /is required with op "eq"/],
  ['location rule value with defined', 'three-node.json', (c) => (c.resources.db.location[0].rule.op = 'defined'), 'resources.db.location[0].rule.value', /does not apply with op "defined"/],
  ['location rule value with gt', 'three-node.json', (c) => { c.resources.db.location[0].rule.op = 'gt'; delete c.resources.db.location[0].rule.value; }, 'resources.db.location[0].rule.value', /is required with op "gt"/],
  ['location rule gt compares numbers', 'three-node.json', (c) => (c.resources.db.location[0].rule.op = 'gte'), 'resources.db.location[0].rule.value', /"yes" is not a number \(op "gte" compares numbers; set type = "string" to compare strings\)/],
  ['location rule eq with type number', 'three-node.json', (c) => (c.resources.db.location[0].rule.type = 'number'), 'resources.db.location[0].rule.value', /"yes" is not a number/],
  ['location rule type with defined', 'three-node.json', (c) => { c.resources.db.location[0].rule = { attribute: 'ssd', op: 'defined', type: 'number' }; }, 'resources.db.location[0].rule.type', /does not apply with op "defined"/],
  ['constraints reference the clone, not its child', 'three-node.json', (c) => (c.resources.backup.colocation[0].with = 'node-exporter'), 'resources.backup.colocation[0].with', /runs inside clone "node-exporter-clone": constrain the clone instead/],
  ['constraints declared on the clone, not its child', 'three-node.json', (c) => (c.resources['node-exporter'].location = [{ node: 'n1', score: 10 }]), 'resources.node-exporter', /declare them on the clone/],
  ['withRole needs a promotable clone', 'three-node.json', (c) => (c.resources.backup.colocation[0].withRole = 'promoted'), 'resources.backup.colocation[0].withRole', /needs a promotable clone; "db" is not one/],
  ['location role only on promotable clones', 'three-node.json', (c) => (c.resources.dns.location[0].role = 'promoted'), 'resources.dns.location[0].role', /promotable clones only/],
  ['promote action needs a promotable clone', 'three-node.json', (c) => (c.resources.backup.order[0].firstAction = 'promote'), 'resources.backup.order[0].firstAction', /"promote" needs a promotable clone; "db" is not one/],
  ['colocation with itself', 'three-node.json', (c) => (c.resources.backup.colocation[0].with = 'backup'), 'resources.backup.colocation[0].with', /cannot be colocated with itself/],
  ['order against itself', 'three-node.json', (c) => (c.resources.backup.order[0].after = 'backup'), 'resources.backup.order[0].after', /cannot be ordered against itself/],
  // cycles
  ['order cycle of three', 'three-node.json', (c) => { c.resources.db.order = [{ after: 'dns' }]; c.resources.dns.order = [{ after: 'backup' }]; }, 'resources.backup.order[0]', /order constraints form a cycle: backup → dns → db → backup|db → backup → dns → db|dns → db → backup → dns/],
  ['order cycle through a group', 'three-node.json', (c) => (c.resources.vip.order = [{ after: 'web' }]), 'resources.vip.order[0]', /order constraints form a cycle: .*(vip → web|web → vip).*groups.frontend.members/],
  ['order of a member after its own group', 'three-node.json', (c) => (c.resources.vip.order = [{ after: 'frontend' }]), 'resources.vip.order[0]', /order constraints form a cycle: (vip → frontend → vip|frontend → vip → frontend) /],
  ['order cycle through a clone', 'three-node.json', (c) => { c.clones['node-exporter-clone'].order = [{ after: 'dns' }]; c.resources.dns.order = [{ after: 'node-exporter-clone' }]; }, 'clones.node-exporter-clone.order[0]', /order constraints form a cycle: (dns → node-exporter-clone → dns|node-exporter-clone → dns → node-exporter-clone) /],
  ['order cycle between a group and an outside resource', 'three-node.json', (c) => { c.resources.dns.order = [{ after: 'frontend' }]; c.groups.frontend.order.push({ after: 'dns' }); }, 'groups.frontend.order[1]', /order constraints form a cycle: (dns → frontend → dns|frontend → dns → frontend)/],
  ['order cycle of stops', 'three-node.json', (c) => { c.resources.dns.order = [{ after: 'mail', firstAction: 'stop', symmetric: false }]; c.resources.mail.order = [{ after: 'dns', firstAction: 'stop', symmetric: false }]; }, 'resources.dns.order[0]', /order constraints form a cycle/],
  ['first member colocated with its own group', 'three-node.json', (c) => (c.resources.vip.colocation = [{ with: 'frontend' }]), 'resources.vip.colocation[0]', /mandatory colocation constraints form a cycle: (vip → frontend → vip|frontend → vip → frontend) /],
  ['mandatory colocation cycle', 'three-node.json', (c) => (c.resources.db.colocation = [{ with: 'backup', score: 'INFINITY' }]), 'resources.backup.colocation[0]', /mandatory colocation constraints form a cycle: (backup → db → backup|db → backup → db)/],
];

describe('cross-field rules reject', () => {
  it.each(rejected)('%s', (_rule, example, change, path, message) => {
    const errors = errorsOf(variant(example, change));
    const atPath = errors.filter((e) => e.startsWith(`${path}: `));
    expect(atPath, `errors were:\n${errors.join('\n')}`).not.toEqual([]);
    expect(atPath.some((e) => message.test(e)), `errors were:\n${errors.join('\n')}`).toBe(true);
  });
});

const accepted: [rule: string, example: string, change: (c: Cfg) => void, check?: (r: ReturnType<typeof validate>) => void][] = [
  ['failure timeout exactly 3 × heartbeat', 'three-node.json', (c) => (c.timing.failureTimeoutMs = 450)],
  ['an unfencing device compiled', 'three-node.json', (c) => (c.fencing.devices.pdu.unfence = true), (r) => expect(r.ok && r.config.fencing.devices.find((d) => d.id === 'pdu')?.unfence).toBe(true)],
  ['two nodes with watchdog instead of devices → two_node', 'two-node.json', (c) => { c.fencing.devices = {}; c.fencing.watchdog = true; }, (r) => expect(r.ok && r.config.quorumMode).toBe('two_node')],
  ['hostMap compiled', 'three-node.json', (c) => (c.fencing.devices.pdu.hostMap = { n1: '1', n2: '2', n3: '3' }), (r) => expect(r.ok && r.config.fencing.devices.find((d) => d.id === 'pdu')?.hostMap).toEqual({ n1: '1', n2: '2', n3: '3' })],
  ['watchdog fencing with a device: compiled, no warning', 'three-node.json', (c) => { c.fencing.watchdog = true; c.fencing.watchdogDevice = '/dev/watchdog'; }, (r) => { expect(r.ok && r.config.fencing.watchdogDevice).toBe('/dev/watchdog'); expect(r.warnings.map((w) => w.path)).not.toContain('fencing.watchdogDevice'); }],
  ['watchdog fencing without a device: allowed, with a warning', 'three-node.json', (c) => (c.fencing.watchdog = true), (r) => { expect(r.ok && r.config.fencing.watchdogDevice).toBeNull(); expect(r.warnings.find((w) => w.path === 'fencing.watchdogDevice')?.message).toMatch(/nothing resets a node whose agent hangs/); }],
  ['a non-voting third node keeps two_node', 'two-node.json', (c) => { c.nodes.gw = { address: '10.90.0.3:7400', votes: 0 }; c.fencing.devices['ipmi-right'].hosts.push('gw'); }, (r) => expect(r.ok ? r.config.quorumMode : r.errors).toBe('two_node')],
  ['five nodes → majority', 'three-node.json', (c) => { for (const n of ['n4', 'n5']) { c.nodes[n] = { address: `10.90.0.${n.slice(1)}:7400` }; c.fencing.devices.pdu.hosts.push(n); c.fencing.devices.pdu.hostMap[n] = n.slice(1); } }, (r) => expect(r.ok && r.config.quorumMode).toBe('majority')],
  ['votes 2 + 1 → majority', 'two-node.json', (c) => (c.nodes.left.votes = 2), (r) => expect(r.ok && r.config.quorumMode).toBe('majority')],
  ['fencing disabled without stateful resources: allowed, loudly', 'three-node.json', (c) => { c.fencing.enabled = false; c.resources.db.stateful = false; }, (r) => { expect(r.ok && r.config.resources['web']?.type === 'primitive' && r.config.resources['web'].operations[1]?.onFail).toBe('block'); expect(r.warnings.map((w) => w.path)).toContain('fencing.enabled'); expect(r.warnings[0]?.message).toMatch(/FENCING IS DISABLED/); }],
  ['fencing disabled: RBD storage fences the lost node, and a stateful resource after it is accepted', 'three-node.json', (c) => {
    c.fencing.enabled = false;
    c.resources['db-disk'] = { kind: 'exec', params: { start: 'true', stop: 'true', monitor: 'true' }, storage: { type: 'rbd', pool: 'rbd', image: 'db' } };
    c.groups.database = { members: ['db-disk', 'db'] };
  }, (r) => {
    expect(r.ok && r.config.resources['db']?.type === 'primitive' && r.config.resources['db'].stateful).toBe(true);
    expect(r.warnings.find((w) => w.path === 'resources.db-disk.storage')?.message).toMatch(/only the RBD image is protected from the lost node/);
  }],
  ['on-fail ignore on a monitor', 'three-node.json', (c) => (c.resources.web.operations = { monitor: { onFail: 'ignore' } }), (r) => expect(r.ok && r.config.resources['web']?.type === 'primitive' && r.config.resources['web'].operations.find((o) => o.name === 'monitor')?.onFail).toBe('ignore')],
  ['on-fail standby on a start', 'three-node.json', (c) => (c.resources.web.operations = { start: { onFail: 'standby' } }), (r) => expect(r.ok && r.config.resources['web']?.type === 'primitive' && r.config.resources['web'].operations.find((o) => o.name === 'start')?.onFail).toBe('standby')],
  ['symmetric start order and its stop order are not a cycle', 'three-node.json', (c) => (c.resources.dns.order = [{ after: 'mail' }, { before: 'mail', firstAction: 'stop', thenAction: 'stop' }])],
  ['a later member colocated with its group is redundant, not a cycle', 'three-node.json', (c) => (c.resources.web.colocation = [{ with: 'frontend' }])],
  ['a group colocated with a resource is not a cycle', 'three-node.json', (c) => (c.groups.frontend.colocation = [{ with: 'dns' }])],
  ['negative colocation both ways is not a cycle', 'three-node.json', (c) => { c.resources.dns.colocation = [{ with: 'mail', score: '-INFINITY' }]; c.resources.mail.colocation = [{ with: 'dns', score: '-INFINITY' }]; }],
  ['ordering a group after a resource and a member-free chain is not a cycle', 'three-node.json', (c) => { c.resources.dns.order = [{ before: 'frontend' }]; c.resources.mail.order = [{ after: 'frontend' }]; }],
  ['an order mixing stop and start is not part of the cycle check', 'three-node.json', (c) => { c.resources.dns.order = [{ after: 'mail', firstAction: 'stop', thenAction: 'start' }]; c.resources.mail.order = [{ after: 'dns' }]; }],
  ['score words', 'three-node.json', (c) => { c.resources.dns.location = [{ node: 'n1', score: '+INFINITY' }, { node: 'n2', score: '-infinity' }]; }, (r) => expect(r.ok && r.config.constraints.location.filter((l) => l.resource === 'dns').map((l) => l.score)).toEqual([1_000_000, -1_000_000])],
  ['params and attributes accept numbers and booleans as strings', 'three-node.json', (c) => { c.resources.backup.params.monitor = true; c.nodes.n3.attributes.slots = 4; }, (r) => {
    expect(r.ok && r.config.resources['backup']?.type === 'primitive' && r.config.resources['backup'].params['monitor']).toBe('true');
    expect(r.ok && r.config.nodes.find((n) => n.name === 'n3')?.attributes['slots']).toBe('4');
  }],
  ['virtual IPs: IPv4 and IPv6, arpCount, a /32, an alternative interface name', 'three-node.json', (c) => {
    c.resources.vip = { kind: 'ip', params: { address: '10.90.1.10/24', interface: 'eth0', arpCount: '0' } };
    c.resources.vip6 = { kind: 'ip', params: { address: '2001:db8::10/64', interface: 'lan-uplink-primary' } };
    c.resources.vip32 = { kind: 'ip', params: { address: '10.90.1.11/32', interface: 'eth0' } };
  }],
];

describe('cross-field rules accept', () => {
  it.each(accepted)('%s', (_rule, example, change, check) => {
    const result = validate(variant(example, change));
    expect(result.ok ? [] : result.errors).toEqual([]);
    check?.(result);
  });
});

describe('structural errors', () => {
  it('reports unknown keys with a hint, at any depth', () => {
    expect(errorsOf(variant('three-node.json', (c) => (c.timing.heartbeatIntervallMs = 5)))).toContain(
      'timing.heartbeatIntervallMs: unknown option (did you mean "heartbeatIntervalMs"?)',
    );
    expect(errorsOf(variant('three-node.json', (c) => (c.resourcse = {})))).toContain('resourcse: unknown option (did you mean "resources"?)');
    expect(errorsOf(variant('three-node.json', (c) => (c.resources.db.location[0].scroe = 1)))).toContain(
      'resources.db.location[0].scroe: unknown option (did you mean "score"?)',
    );
  });

  it('reports wrong types, missing keys and out-of-range numbers with paths', () => {
    const errors = errorsOf(
      variant('three-node.json', (c) => {
        c.timing.leaseMs = '2s';
        delete c.cluster.name;
        c.nodes.n1.votes = 17;
        c.resources.web.stateful = 'yes';
      }),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        'timing.leaseMs: must be an integer number of milliseconds, got the string "2s"',
        'cluster.name: is required (a string)',
        'nodes.n1.votes: must be between 0 and 16, got 17',
        'resources.web.stateful: must be true or false, got the string "yes"',
      ]),
    );
  });

  it('quotes keys that are not plain words', () => {
    expect(errorsOf(variant('three-node.json', (c) => (c.resources['my web'] = prim('x.service'))))).toContain(
      'resources["my web"]: "my web" is not a valid resource id: an id: a letter, then letters, digits, "_", "." or "-", at most 64 characters',
    );
  });

  it.each([null, 42, 'text', [], true])('rejects a non-object configuration %j', (raw) => {
    const result = validate(raw);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors[0]?.path).toBe('(root)');
  });
});

describe('keys that are names of Object.prototype members', () => {
  it.each(['__proto__', 'toString', 'constructor', 'hasOwnProperty'])('%s is an unknown option, never a silently accepted one', (key) => {
    const text = `{"cluster": {"name": "x", "id": "x", "${key}": 1}, "nodes": {"a": {"address": "a:1"}}, "fencing": {"enabled": false}}`;
    expect(errorsOf(JSON.parse(text))).toEqual([`cluster${key === '__proto__' ? '.__proto__' : '.' + key}: unknown option`]);
  });

  it.each(['__proto__', 'toString', 'constructor'])('%s as a fence level node is checked like any name', (key) => {
    const text = `{"cluster": {"name": "x", "id": "x"}, "nodes": {"a": {"address": "a:1"}}, "fencing": {"watchdog": true, "levels": {"${key}": [["d"]]}}}`;
    const errors = errorsOf(JSON.parse(text));
    expect(errors).toContain(`fencing.levels.${key}: no node named "${key}"`);
  });

  it('a score word that is a prototype member is not a score', () => {
    expect(errorsOf(variant('three-node.json', (c) => (c.resources.dns.location[0].score = 'constructor')))).toEqual([
      'resources.dns.location[0].score: must be an integer or "INFINITY" / "-INFINITY", got the string "constructor"',
    ]);
  });
});
