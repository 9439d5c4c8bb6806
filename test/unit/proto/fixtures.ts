// One or more values for EVERY message type of the mesh and control contracts, with a non-default
// value in every field (test/unit/proto-roundtrip.test.ts checks both: that every type loaded from
// proto/ has fixtures here, and that every field is set to something other than its default in at
// least one of them). Typed with the port interfaces, so a field missing on either side fails.
import type * as M from '../../../src/ports/mesh-messages.js';
import type * as C from '../../../src/ports/control.js';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'utf8');

// ---- mesh ----
const preVoteRequest: M.PreVoteRequest = { lastLogTerm: 5, lastLogIndex: 120 };
const preVoteResponse: M.PreVoteResponse = { granted: true };
const voteRequest: M.VoteRequest = { lastLogTerm: 5, lastLogIndex: 121 };
const voteResponse: M.VoteResponse = { granted: true };
const logEntry: M.LogEntry = { term: 6, index: 122, data: bytes('{"op":"place","resource":"web","node":"b"}'), kind: 'normal' };
const logEntryConfig: M.LogEntry = { term: 6, index: 123, data: bytes('{"add":"d"}'), kind: 'config' };
const logEntryNoop: M.LogEntry = { term: 7, index: 124, data: bytes('{}'), kind: 'noop' };
const nodeLease: M.NodeLease = { atMs: 81234.125, incarnation: 2 ** 31 - 1 };
const appendEntries: M.AppendEntries = {
  prevLogTerm: 5, prevLogIndex: 121, entries: [logEntry, logEntryConfig, logEntryNoop], leaderCommit: 121,
  sentAtMs: 83456.789, lease: nodeLease, peerIncluded: true, witness: { reachable: true, heard: true, lastContactAgeMs: 12, term: 4 },
};
const nodeReport: M.NodeReport = {
  applied: 121, active: ['web', 'db:0'], promoted: ['db:0'], failed: ['web'], busy: true,
  run: { transition: 117, results: [{ action: 3, status: 'ok', exitCode: 0, reason: '' }, { action: 5, status: 'error', exitCode: -1, reason: 'timed out' }] },
  failures: [{ seq: 2, resource: 'web', operation: 'monitor', intervalMs: 10_000, status: 'error', exitCode: 7, reason: 'not running' }],
  witness: { reachable: true, heard: true, lastContactAgeMs: 42, term: 7 },
};
const appendEntriesResponse: M.AppendEntriesResponse = {
  success: true, matchIndex: 124,
  echoMs: 83456.789, nodeTimeMs: 90001.5, incarnation: 12345, report: nodeReport,
};
const coreMessage: M.CoreMessage = { kind: 'Propose', data: bytes('{"type":"Propose","term":6,"cmds":[]}') };

const header: M.EnvelopeHeader = { clusterId: 'prod-7f3a', from: 'a', to: 'b', term: 6, sentAtMs: 987654321 };
const envelopes: M.Envelope[] = [
  { ...header, body: 'preVoteRequest', preVoteRequest },
  { ...header, body: 'preVoteResponse', preVoteResponse },
  { ...header, body: 'voteRequest', voteRequest },
  { ...header, body: 'voteResponse', voteResponse },
  { ...header, body: 'appendEntries', appendEntries },
  { ...header, body: 'appendEntriesResponse', appendEntriesResponse },
  // a steady report (what an idle member sends)
  { ...header, body: 'appendEntriesResponse', appendEntriesResponse: { ...appendEntriesResponse, report: { ...nodeReport, busy: false, run: null, failures: [] } } },
  { ...header, body: 'core', core: coreMessage },
];

// ---- control ----
const statusRequest: C.StatusRequest = { includeInactive: true, fenceHistoryLimit: 10 };
const watchRequest: C.WatchRequest = { includeInactive: true, fenceHistoryLimit: 5, minIntervalMs: 250 };
const quorum: C.Quorum = {
  quorate: true, mode: 'two_node', votesHave: 2, votesNeeded: 2, votesTotal: 3, witness: 'nas', witnessState: 'reachable',
  witnessViews: [
    { node: 'a', state: 'reachable', lastContactAgeMs: 40, heard: true, term: 3, reportAgeMs: 0 },
    { node: 'b', state: 'unreachable', lastContactAgeMs: 0, heard: false, term: 0, reportAgeMs: 120 },
  ],
};
const nodeStatus: C.NodeStatus = {
  name: 'a', state: 'online', standby: true, maintenance: true, isSelf: true, isCoordinator: true, votes: 1,
  meshAddress: '10.77.0.1:7400', attributes: { rack: 'r1', ssd: 'yes' }, leaseRemainingMs: 1400,
  restartGraceRemainingMs: 4200, restartGraceCause: 'crash',
};
const failCount: C.FailCount = { node: 'b', operation: 'monitor', count: 3, lastFailureUnixMs: 1_790_000_000_000 };
const resourceStatus: C.ResourceStatus = {
  id: 'db:0', kind: 'systemd', agent: 'postgresql.service', group: 'db-group', clone: 'db-clone', promotable: true,
  state: 'promoted', nodes: ['a'], targetRole: 'promoted', managed: true, reason: 'preferred by location rule',
  failCounts: [failCount], blocked: true,
};
const failedAction: C.FailedAction = {
  resource: 'web', operation: 'monitor', intervalMs: 10_000, node: 'b', status: 'errorHard', exitCode: 7,
  exitReason: 'not running', timeUnixMs: 1_790_000_000_500, durationMs: 35,
};
const fenceEvent: C.FenceEvent = {
  target: 'c', action: 'reboot', status: 'ok', device: 'ipmi-c', executor: 'b', requestedBy: 'a',
  reason: 'node lost', timeUnixMs: 1_790_000_001_000,
};
const storageClient: C.StorageClient = { client: 'client.4123', address: '10.213.0.2:0/2039488231', node: 'b' };
const blocklistEntry: C.BlocklistEntry = { address: '10.213.0.1:0/1234', until: '2026-12-06T15:00:00.000000+0000' };
const drbdPeer: C.DrbdPeerStatus = { node: 'b', connection: 'Connected', role: 'Secondary', disk: 'UpToDate' };
const rbdStatus: C.StorageStatus = {
  resource: 'vm-disk', type: 'rbd', name: 'rbd/vm-web', seenFrom: 'a', readAtUnixMs: 1_790_000_001_500, error: 'timeout',
  lockHolders: [storageClient], watchers: [storageClient], blocklisted: [blocklistEntry], role: '', disk: '', peers: [],
};
const drbdStatus: C.StorageStatus = {
  resource: 'drbd-r0:0', type: 'drbd', name: 'r0', seenFrom: 'a', readAtUnixMs: 1_790_000_001_500, error: '',
  lockHolders: [], watchers: [], blocklisted: [], role: 'Primary', disk: 'UpToDate', peers: [drbdPeer],
};
const storageEvent: C.StorageEvent = {
  resource: 'vm-disk', step: 'blocklist', node: 'b', lost: 'a', status: 'ok', reason: 'blocklisted 10.213.0.1:0/1234', timeUnixMs: 1_790_000_001_200, transition: 812,
};
const historyEntry: C.HistoryEntry = { timeUnixMs: 1_790_000_001_000, index: 812, kind: 'failover', node: 'b', resource: 'web', text: 'web recovered on b (recover from lost node a)' };
const operatorConstraint: C.OperatorConstraint = { resource: 'web', node: 'b', score: -1_000_000, remainingMs: 60_000 };
const clusterStatus: C.ClusterStatus = {
  clusterName: 'prod', clusterId: 'prod-7f3a', nodeSelf: 'a', coordinator: 'a', term: 6, quorum,
  lastChangeUnixMs: 1_790_000_000_000, lastChangeBy: 'root via tsha on a', generatedAtUnixMs: 1_790_000_002_000,
  agentVersion: '0.1.0', maintenanceMode: true, fencingEnabled: true,
  nodes: [nodeStatus, { ...nodeStatus, name: 'c', state: 'unclean', isSelf: false, isCoordinator: false }],
  resources: [resourceStatus], failedActions: [failedAction], fenceHistory: [fenceEvent], commitIndex: 4242,
  storage: [rbdStatus, drbdStatus],
  storageHistory: [storageEvent],
  operatorConstraints: [operatorConstraint],
  stateDirFault: 'ENOSPC on /var/lib/tsha/hardstate (write) for 3 s: stalled, retrying',
};
const ban: C.Ban = { node: 'b', lifetimeMs: 3_600_000, promotedOnly: true };
const clear: C.Clear = { node: 'b' };
const move: C.Move = { node: 'c', lifetimeMs: 60_000, promotedOnly: true };
const cleanup: C.Cleanup = { node: 'b', operation: 'monitor' };
const setTargetRole: C.SetTargetRole = { targetRole: 'stopped' };
const setManaged: C.SetManaged = { managed: true };
const restart: C.Restart = { node: 'a' };
const rc = { resource: 'web', requestedBy: 'root' };
const resourceCommands: C.ResourceCommandRequest[] = [
  { ...rc, command: 'ban', ban },
  { ...rc, command: 'clear', clear },
  { ...rc, command: 'move', move },
  { ...rc, command: 'cleanup', cleanup },
  { ...rc, command: 'setTargetRole', setTargetRole },
  { ...rc, command: 'setManaged', setManaged },
  { ...rc, command: 'restart', restart },
];
const nodeCommands: C.NodeCommandRequest[] = (['standby', 'online', 'maintenanceOn', 'maintenanceOff'] as const).map(
  (action) => ({ node: 'b', action, requestedBy: 'alice' }),
);
const fenceCommands: C.FenceCommandRequest[] = [
  { node: 'b', action: 'off', requestedBy: 'cli:alice', cancel: false, waitMs: 120_000 },
  { node: 'c', action: 'reboot', requestedBy: 'cli:root', cancel: true, waitMs: 0 },
  // the contract carries it; the agent refuses it (unfencing is the coordinator's own)
  { node: 'c', action: 'on', requestedBy: 'cli:root', cancel: false, waitMs: 0 },
];
const fenceCheckRow: C.FenceCheckRow = {
  node: 'b', level: 2, device: 'pdu', agent: 'fence_apc_snmp', plug: '12', monitor: 'ok', target: 'on', ok: true, reason: 'Status: ON', durationMs: 231,
};
const fenceCheckNode: C.FenceCheckNode = { node: 'b', fenceable: true, level: 2, reason: 'level 2 answers for it' };
const fenceCheckReport: C.FenceCheckReport = {
  ok: true, fencingEnabled: true, watchdog: true, nodes: [fenceCheckNode], rows: [fenceCheckRow], unfenceable: ['c'], checkedFrom: 'a',
};
const commandResult: C.CommandResult = { message: 'web banned on b for 1h', committedIndex: 4243, warnings: ['b is in standby'] };

/** fixtures by fully qualified message type name */
export const FIXTURES: Record<string, unknown[]> = {
  'tsha.mesh.v1.DeliverAck': [{}],
  'tsha.mesh.v1.Envelope': envelopes,
  'tsha.mesh.v1.PreVoteRequest': [preVoteRequest],
  'tsha.mesh.v1.PreVoteResponse': [preVoteResponse],
  'tsha.mesh.v1.VoteRequest': [voteRequest],
  'tsha.mesh.v1.VoteResponse': [voteResponse],
  'tsha.mesh.v1.LogEntry': [logEntry, logEntryConfig, logEntryNoop],
  'tsha.mesh.v1.NodeLease': [nodeLease],
  'tsha.mesh.v1.AppendEntries': [appendEntries],
  'tsha.mesh.v1.NodeReport': [nodeReport],
  'tsha.mesh.v1.RunReport': [nodeReport.run],
  'tsha.mesh.v1.WitnessSight': [nodeReport.witness],
  'tsha.mesh.v1.ActionOutcome': nodeReport.run!.results,
  'tsha.mesh.v1.FailureEvent': nodeReport.failures,
  'tsha.mesh.v1.AppendEntriesResponse': [appendEntriesResponse],
  'tsha.mesh.v1.CoreMessage': [coreMessage],

  'tsha.control.v1.StatusRequest': [statusRequest],
  'tsha.control.v1.WatchRequest': [watchRequest],
  'tsha.control.v1.WitnessView': [...quorum.witnessViews, { ...quorum.witnessViews[0]!, state: 'unknown' }, { ...quorum.witnessViews[0]!, state: 'none' }],
  'tsha.control.v1.Quorum': [quorum, { ...quorum, mode: 'majority', witnessState: 'unknown' }, { ...quorum, mode: 'witness', witnessState: 'unreachable' }, { ...quorum, witness: '', witnessState: 'none' }],
  'tsha.control.v1.NodeStatus': (['online', 'offline', 'unclean', 'pending'] as const).map((state) => ({ ...nodeStatus, state })),
  'tsha.control.v1.FailCount': [failCount],
  'tsha.control.v1.ResourceStatus': (['started', 'stopped', 'failed', 'promoted', 'unpromoted', 'starting', 'stopping'] as const).map(
    (state, i) => ({ ...resourceStatus, state, targetRole: (['started', 'stopped', 'promoted', 'unpromoted'] as const)[i % 4]! }),
  ),
  'tsha.control.v1.FailedAction': (['ok', 'error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled'] as const).map(
    (status) => ({ ...failedAction, status }),
  ),
  'tsha.control.v1.FenceEvent': [
    ...(['pending', 'ok', 'failed', 'timeout'] as const).map((status, i) => ({ ...fenceEvent, status, action: i % 2 ? 'off' as const : 'reboot' as const })),
    { ...fenceEvent, status: 'ok', action: 'on' },
  ],
  'tsha.control.v1.ClusterStatus': [clusterStatus],
  'tsha.control.v1.SchedulerInputRequest': [{ assumeQuorum: true }],
  'tsha.control.v1.HistoryRequest': [{ limit: 50 }],
  'tsha.control.v1.HistoryEntry': [historyEntry],
  'tsha.control.v1.HistoryResponse': [{ events: [historyEntry], nodeSelf: 'a' }],
  'tsha.control.v1.SchedulerInputResponse': [{ inputJson: '{"format":"tsha-scheduler-input/1"}', nodeSelf: 'a', coordinator: 'b' }],
  'tsha.control.v1.StorageStatus': [rbdStatus, drbdStatus],
  'tsha.control.v1.StorageClient': [storageClient],
  'tsha.control.v1.OperatorConstraint': [operatorConstraint, { ...operatorConstraint, score: 50, remainingMs: 0 }],
  'tsha.control.v1.BlocklistEntry': [blocklistEntry],
  'tsha.control.v1.DrbdPeerStatus': [drbdPeer],
  'tsha.control.v1.StorageEvent': (['ok', 'error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled'] as const).map((status) => ({ ...storageEvent, status })),
  'tsha.control.v1.Ban': [ban],
  'tsha.control.v1.Clear': [clear],
  'tsha.control.v1.Move': [move],
  'tsha.control.v1.Cleanup': [cleanup],
  'tsha.control.v1.SetTargetRole': [setTargetRole, ...(['started', 'promoted', 'unpromoted'] as const).map((targetRole) => ({ targetRole }))],
  'tsha.control.v1.SetManaged': [setManaged],
  'tsha.control.v1.Restart': [restart],
  'tsha.control.v1.ResourceCommandRequest': resourceCommands,
  'tsha.control.v1.NodeCommandRequest': nodeCommands,
  'tsha.control.v1.FenceCommandRequest': fenceCommands,
  'tsha.control.v1.FenceCheckRequest': [{ node: 'b' }],
  'tsha.control.v1.FenceCheckRow': [fenceCheckRow],
  'tsha.control.v1.FenceCheckNode': [fenceCheckNode],
  'tsha.control.v1.FenceCheckReport': [fenceCheckReport],
  'tsha.control.v1.CommandResult': [commandResult],
  'tsha.control.v1.DrbdFencePeerRequest': [
    { resource: 'r0', peerNode: 'b', peerAddress: '10.0.0.2', timeoutMs: 60_000, unfence: false },
    { resource: 'r0', peerNode: '', peerAddress: '10.0.0.2', timeoutMs: 5000, unfence: true },
  ],
  'tsha.control.v1.DrbdFencePeerResult': (['fenced', 'outdated', 'peerPrimary', 'failed', 'unfenced'] as const).map(
    (outcome) => ({ outcome, peer: 'b', message: `b: ${outcome}` }),
  ),
};

export const SAMPLE = { clusterStatus, header, appendEntries, voteRequest };
