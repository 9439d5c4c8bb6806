// The control API's handlers (src/ports/control.ts), answered from the running agent:
// - Status: the core's status model (src/core/cluster/status.ts: quorum, node states, leases,
//   where each resource instance runs and in which role) and the cluster's record (failures with
//   their operation and time, overrides, fence records), the same on every node.
// - Commands: mapped onto the core's operator commands, proposed through the core (forwarded to the
//   coordinator by a member) and answered once this node applied the committed result, or refused
//   with a clear reason (no coordinator, unknown name).

import type { CompiledConfig, NodeName, ResourceId } from '../config/types.js';
import { INFINITY, primitiveOf } from '../config/types.js';
import { buildSnapshot, clusterNow, isQuorate, statusOf, stoppedReasons } from '../core/cluster/node.js';
import { serializeSchedulerInput } from '../core/scheduler/record.js';
import type { OperatorCommand } from '../core/cluster/commands.js';
import type { ClusterState } from '../core/cluster/state-machine.js';
import { resourceStatuses } from '../core/resource-status.js';
import type {
  ClusterStatus, CommandResult, ControlHandlers, FailedAction, FenceCheckReport, FenceCheckRequest, FenceCommandRequest, FenceEvent, NodeCommandRequest, NodeStatus, ResourceCommandRequest,
  StatusRequest, StatusSubscription, HistoryEntry, HistoryRequest, HistoryResponse, OperatorConstraint, SchedulerInputRequest, SchedulerInputResponse, StorageClient, StorageEvent, StorageStatus, WitnessView,
} from '../ports/control.js';
import { ControlCommandError } from '../ports/control.js';
import type { RbdClient } from '../ports/storage.js';
import type { Agent } from './agent.js';
import { VERSION } from '../version.js';

const COMMIT_WAIT_MS = 5000;
/** `tsha fence`: how long the answer waits for the fence when the request names no wait */
const FENCE_WAIT_MS = 120_000;

/** Wall-clock time of a cluster time, for display: as long ago as cluster time says. */
function wallOf(clusterTime: number, clusterNowMs: number, wallNow: number): number {
  return Math.round(wallNow - Math.max(0, clusterNowMs - clusterTime));
}

function stateDirFault(agent: Agent, wallNow: number): string {
  const f = agent.storage.fault;
  if (!f) return '';
  return `${f.code ?? 'error'} on ${f.file} (${f.operation}) for ${Math.round((wallNow - f.sinceUnixMs) / 1000)} s: stalled, retrying`;
}

export function buildClusterStatus(agent: Agent, req: Partial<StatusRequest> = {}): ClusterStatus {
  const view = agent.view();
  const cfg = agent.currentConfig();
  const generatedAtUnixMs = Date.now();
  const base: ClusterStatus = {
    clusterName: cfg.clusterName, clusterId: cfg.clusterId, nodeSelf: agent.self, coordinator: '', term: 0, quorum: null,
    lastChangeUnixMs: 0, lastChangeBy: '', generatedAtUnixMs, agentVersion: VERSION, maintenanceMode: cfg.maintenanceMode,
    fencingEnabled: cfg.fencing.enabled, nodes: [], resources: [], failedActions: [], fenceHistory: [], commitIndex: 0,
    storage: storageStatus(agent), storageHistory: [], operatorConstraints: [], stateDirFault: stateDirFault(agent, generatedAtUnixMs),
  };
  if (!view) return base;
  const { node: st, now } = view;
  const s = statusOf(st, now);
  const c: ClusterState = st.cluster;
  const cnow = clusterNow(st, now);
  const wall = (t: number): number => wallOf(t, cnow, generatedAtUnixMs);

  const nodes: NodeStatus[] = st.config.nodes.map((n) => {
    const v = s.nodes.find((x) => x.name === n.name);
    return {
      name: n.name, state: v?.state ?? 'pending', standby: v?.standby ?? false, maintenance: v?.maintenance ?? false, isSelf: n.name === st.self,
      isCoordinator: n.name === s.coordinator, votes: n.votes, meshAddress: n.meshAddress, attributes: n.attributes, leaseRemainingMs: v?.leaseRemainingMs ?? 0,
      restartGraceRemainingMs: v?.restartGrace?.remainingMs ?? 0, restartGraceCause: v?.restartGrace?.cause ?? '',
    };
  });

  const resources = resourceStatuses({
    config: st.config, overrides: c.overrides, placements: s.instances, stoppedReasons: stoppedReasons(st, now),
    failures: c.failures.map((f) => ({ resource: f.resource, node: f.node, operation: f.operation, count: f.count, lastFailureUnixMs: wall(f.at) })),
  });

  // failures the cluster counted, on every node, with the last one's details
  const failedActions: FailedAction[] = c.failures.map((f) => ({
    resource: f.resource, operation: f.operation, intervalMs: f.intervalMs, node: f.node, status: f.status, exitCode: f.exitCode,
    exitReason: f.reason, timeUnixMs: wall(f.at), durationMs: 0,
  }));

  const limit = req.fenceHistoryLimit && req.fenceHistoryLimit > 0 ? req.fenceHistoryLimit : 10;
  const fenceHistory: FenceEvent[] = [
    ...c.fenceHistory.map((f): FenceEvent => ({
      target: f.node, action: f.action ?? 'off', status: 'ok', device: f.device ?? (f.cause === 'fenced' ? 'fence agent' : 'lease expiry + watchdog'), executor: f.executor ?? '',
      requestedBy: f.by ?? '', reason: `${f.cause === 'unfenced' ? 'unfenced at join' : f.reason ? `${f.cause}: ${f.reason}` : `${f.by ? 'operator request; ' : ''}${f.cause}`} (term ${f.term}, log index ${f.index})`, timeUnixMs: wall(f.at),
    })),
    ...Object.entries(c.fenceRequests).map(([target, r]): FenceEvent => ({
      target, action: r.action, status: 'pending', device: '', executor: '', requestedBy: r.by,
      reason: `operator request (log index ${r.index}): waiting for the coordinator's fence`, timeUnixMs: wall(r.at),
    })),
    // this node's own fence attempts that failed: a confirmed one is in the replicated history above
    // (committed with its device and executor), and shown once
    ...agent.lastFence.filter((f) => !f.confirmed).map((f): FenceEvent => ({
      target: f.target, action: f.action, status: 'failed', device: f.device, executor: agent.self, requestedBy: '',
      reason: f.reason, timeUnixMs: f.timeUnixMs,
    })),
  ].slice(-limit);

  const q = s.quorum;
  const reload = agent.lastReload;
  return {
    ...base,
    lastChangeUnixMs: reload?.timeUnixMs ?? 0,
    lastChangeBy: reload ? `configuration reloaded on ${agent.self}: ${reload.changes.length > 0 ? reload.changes.join('; ') : 'nothing changed'}` : '',
    coordinator: s.coordinator ?? '',
    term: s.term,
    quorum: {
      quorate: q.quorate, mode: q.mode, votesHave: q.votesHave, votesNeeded: q.votesNeeded, votesTotal: q.votesTotal,
      witness: q.witness ?? '', witnessState: q.witness === null ? 'none' : q.witnessReachable === null ? 'unknown' : q.witnessReachable ? 'reachable' : 'unreachable',
      witnessViews: q.witnessViews.map((v): WitnessView => ({
        node: v.node, state: v.sight === null ? 'unknown' : v.sight.reachable ? 'reachable' : 'unreachable',
        heard: (v.sight?.lastContactAgeMs ?? null) !== null, lastContactAgeMs: v.sight?.lastContactAgeMs ?? 0, term: v.sight?.term ?? 0, reportAgeMs: v.reportAgeMs,
      })),
    },
    maintenanceMode: st.config.maintenanceMode,
    fencingEnabled: st.config.fencing.enabled,
    nodes, resources, failedActions, fenceHistory, commitIndex: st.commitIndex,
    operatorConstraints: c.bans
      .filter((b) => b.until === null || b.until > cnow)
      .map((b): OperatorConstraint => ({ resource: b.resource, node: b.node, score: Math.max(-INFINITY, Math.min(INFINITY, b.score)), remainingMs: b.until === null ? 0 : Math.max(1, Math.round(b.until - cnow)) })),
    storageHistory: c.storageHistory.map((h): StorageEvent => ({
      resource: h.resource, step: h.step, node: h.node, lost: h.lost, status: h.status, reason: h.reason, timeUnixMs: wall(h.at), transition: h.transition,
    })),
  };
}

/** The storage views this node's agent last read (Ceph's view of an RBD image, this node's view of a DRBD resource). */
function storageStatus(agent: Agent): StorageStatus[] {
  return agent.resources.storageViews().map(({ resource, view: v, readAtUnixMs }): StorageStatus => {
    const client = (c: RbdClient): StorageClient => ({ client: c.client, address: c.address, node: c.local ? agent.self : '' });
    const base = { resource, type: v.type, name: v.name, seenFrom: agent.self, readAtUnixMs, error: v.error ?? '' };
    if (v.type === 'rbd') {
      return { ...base, lockHolders: v.holders.map(client), watchers: v.watchers.map(client), blocklisted: v.blocklisted, role: '', disk: '', peers: [] };
    }
    return { ...base, lockHolders: [], watchers: [], blocklisted: [], role: v.role, disk: v.disk, peers: v.peers };
  });
}

/** Propose `cmds` and wait until this node applied a state where `done` holds. */
async function proposeAndWait(agent: Agent, cmds: OperatorCommand[], done: (s: ClusterState) => boolean, what: string): Promise<CommandResult> {
  const view = agent.view();
  if (!view) throw new ControlCommandError('unavailable', 'the agent is still starting');
  if (agent.coordinator() === null) throw new ControlCommandError('unavailable', 'no coordinator: this node is not in a quorate partition, so nothing can be committed');
  if (done(view.node.cluster)) return { message: `${what}: already so`, committedIndex: view.node.commitIndex, warnings: [] };
  const applied = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new ControlCommandError('unavailable', `${what}: not committed within ${COMMIT_WAIT_MS} ms (is the cluster quorate?)`));
    }, COMMIT_WAIT_MS);
    const off = agent.subscribe(() => {
      const v = agent.view();
      if (v && done(v.node.cluster)) {
        clearTimeout(timer);
        off();
        resolve(v.node.commitIndex);
      }
    });
  });
  for (const c of cmds) await agent.command(c);
  const committedIndex = await applied;
  return { message: `${what}: done`, committedIndex, warnings: [] };
}

/** Wait until this node's view of the cluster satisfies `test` (its result), or `ms` pass (null). */
function waitForState<T>(agent: Agent, test: (s: ClusterState) => T | null, ms: number): Promise<T | null> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const v = agent.view();
      const r = v ? test(v.node.cluster) : null;
      if (r === null) return false;
      clearTimeout(timer);
      off();
      resolve(r);
      return true;
    };
    const timer = setTimeout(() => {
      off();
      resolve(null);
    }, ms);
    const off = agent.subscribe(() => void check());
    check();
  });
}

/**
 * `tsha fence NODE` (stonith_admin --fence): refused without fencing, a device for the node, or
 * quorum; otherwise the request is committed, the coordinator's next transition fences the node
 * (scheduler: unpackFenceRequests), and the answer comes once the node's fenced node-down is
 * applied here: the same record, recovery and fence history as any other fence.
 */
async function fenceCommand(agent: Agent, req: FenceCommandRequest): Promise<CommandResult> {
  const cfg = agent.currentConfig();
  const node = req.node;
  if (!cfg.nodes.some((n) => n.name === node)) throw new ControlCommandError('notFound', `no node named "${node}" (nodes: ${cfg.nodes.map((n) => n.name).join(', ')})`);
  const by = req.requestedBy || 'unknown';
  const view = agent.view();
  if (!view) throw new ControlCommandError('unavailable', 'the agent is still starting');
  if (req.cancel) {
    if (!view.node.cluster.fenceRequests[node]) return { message: `no pending fence request for ${node}`, committedIndex: view.node.commitIndex, warnings: [] };
    return proposeAndWait(agent, [{ type: 'fenceRequest', node, on: false, action: 'off', by }], (s) => !s.fenceRequests[node], `withdraw the fence request for ${node}`);
  }
  if (!cfg.fencing.enabled) throw new ControlCommandError('failedPrecondition', `fencing is disabled (fencing.enabled = false): the cluster cannot fence ${node}`);
  if (!cfg.fencing.devices.some((d) => d.hosts.includes(node))) {
    throw new ControlCommandError('failedPrecondition', `no fence device lists ${node} in its hosts: ${cfg.fencing.watchdog ? 'watchdog self-fencing cannot shoot a live node on request' : 'it cannot be fenced'}`);
  }
  const s = statusOf(view.node, view.now);
  if (!s.quorum.quorate || agent.coordinator() === null) {
    throw new ControlCommandError('failedPrecondition', `no quorum: ${agent.self} is not in a quorate partition, so the cluster cannot fence ${node} (only a quorate partition may fence)`);
  }
  const down = view.node.cluster.down[node];
  if (down) throw new ControlCommandError('failedPrecondition', `${node} is already down (${down.cause}, log index ${down.index}) and runs nothing; it rejoins when its agent is back`);
  const action = req.action;
  if (action === 'on') throw new ControlCommandError('invalidArgument', 'action on is unfencing, which the coordinator runs itself when a node joins: tsha fence takes off or reboot');
  const asked = await proposeAndWait(agent, [{ type: 'fenceRequest', node, on: true, action, by }], (st) => st.fenceRequests[node] !== undefined || st.down[node] !== undefined,
    `fence ${node} (${action})`);
  const v = agent.view();
  const index = v?.node.cluster.fenceRequests[node]?.index ?? asked.committedIndex;
  const waitMs = req.waitMs > 0 ? req.waitMs : FENCE_WAIT_MS;
  const outcome = await waitForState(agent, (st): string | null => {
    const d = st.down[node];
    if (d && d.index > index) return d.cause === 'fenced' ? `fenced: ${node} confirmed ${action === 'reboot' ? 'rebooted' : 'powered off'} (log index ${d.index})` : `${node} is down (${d.cause}, log index ${d.index})`;
    if (!st.fenceRequests[node]) return d ? `${node} is down (${d.cause}, log index ${d.index})` : 'withdrawn';
    return null;
  }, waitMs);
  if (outcome === null) {
    throw new ControlCommandError('unavailable', `fence of ${node} requested (log index ${index}) but not confirmed within ${waitMs} ms: the cluster keeps trying (tsha status shows it pending; \`tsha fence --cancel ${node}\` withdraws it)`);
  }
  if (outcome === 'withdrawn') throw new ControlCommandError('failedPrecondition', `the fence request for ${node} was withdrawn before it was carried out`);
  return { message: outcome, committedIndex: agent.view()?.node.commitIndex ?? index, warnings: [] };
}

/** Where a resource (or any instance of it) runs now, as this node sees it. */
function runningOn(agent: Agent, id: ResourceId): NodeName[] {
  const v = agent.view();
  if (!v) return [];
  const s = statusOf(v.node, v.now);
  return [...new Set(s.instances.filter((i) => i.resource === id || primitiveOf(i.resource) === id).map((i) => i.node))];
}

export function controlHandlers(agent: Agent): ControlHandlers {
  const cfg = (): CompiledConfig => agent.currentConfig();
  const nodeNames = (): NodeName[] => cfg().nodes.map((n) => n.name);
  const needNode = (n: string): NodeName => {
    if (!nodeNames().includes(n)) throw new ControlCommandError('notFound', `no node named "${n}" (nodes: ${nodeNames().join(', ')})`);
    return n;
  };
  /** cluster time `ms` from now (ban and move lifetimes), or null for none */
  const until = (ms: number): number | null => {
    const v = agent.view();
    return ms > 0 && v ? clusterNow(v.node, v.now) + ms : null;
  };
  return {
    status: (req) => Promise.resolve(buildClusterStatus(agent, req)),

    history(req: HistoryRequest): Promise<HistoryResponse> {
      const v = agent.view();
      if (!v) throw new ControlCommandError('unavailable', 'the agent is still starting');
      const cnow = clusterNow(v.node, v.now);
      const wallNow = Date.now();
      const all = v.node.cluster.history;
      const events = (req.limit > 0 ? all.slice(-req.limit) : all).map((e): HistoryEntry => ({
        timeUnixMs: wallOf(e.at, cnow, wallNow), index: e.index, kind: e.kind, node: e.node ?? '', resource: e.resource ?? '', text: e.text,
      }));
      return Promise.resolve({ events, nodeSelf: agent.self });
    },

    schedulerInput(req: SchedulerInputRequest): Promise<SchedulerInputResponse> {
      const v = agent.view();
      if (!v || agent.isWitness) throw new ControlCommandError('unavailable', v ? 'a witness schedules nothing' : 'the agent is still starting');
      const built = buildSnapshot(v.node, v.now);
      // a member hears only the coordinator: the other members are as the committed state records
      // them (up unless recorded down), not lost
      const following = v.node.role !== 'leader' && agent.coordinator() !== null;
      const nodes = following ? built.nodes.map((n) => (n.state === 'unclean' ? { ...n, state: 'online' as const, leaseExpiredAt: null } : n)) : built.nodes;
      const snapshot = { ...built, nodes, quorate: req.assumeQuorum || isQuorate(v.node, v.now) };
      const input = serializeSchedulerInput({ snapshot, config: cfg(), now: snapshot.now });
      return Promise.resolve({ inputJson: input, nodeSelf: agent.self, coordinator: agent.coordinator() ?? '' });
    },

    async resourceCommand(req: ResourceCommandRequest): Promise<CommandResult> {
      const id = req.resource;
      const r = cfg().resources[id];
      if (!r) throw new ControlCommandError('notFound', `no resource named "${id}"`);
      const override = (s: ClusterState, n: NodeName): { score: number } | undefined => s.bans.find((b) => b.resource === id && b.node === n);
      switch (req.command) {
        case 'ban': {
          const here = runningOn(agent, id);
          const node = req.ban.node || (here.length === 1 ? here[0] : undefined);
          if (!node) throw new ControlCommandError('invalidArgument', `resource "${id}" runs ${here.length === 0 ? 'nowhere' : `on ${here.join(', ')}`}: name the node to ban it from`);
          needNode(node);
          const res = await proposeAndWait(agent, [{ type: 'ban', resource: id, node, on: true, score: -INFINITY, until: until(req.ban.lifetimeMs) }],
            (s) => override(s, node)?.score === -INFINITY, `ban ${id} from ${node}${req.ban.lifetimeMs > 0 ? ` for ${req.ban.lifetimeMs} ms` : ''}`);
          if (req.ban.promotedOnly) res.warnings.push('--promoted is not supported: the ban applies to every role');
          return res;
        }
        case 'clear': {
          const nodes = req.clear.node ? [needNode(req.clear.node)] : nodeNames();
          const cmds = nodes.map((node): OperatorCommand => ({ type: 'ban', resource: id, node, on: false }));
          return proposeAndWait(agent, cmds, (s) => nodes.every((n) => !override(s, n)), `clear bans and moves of ${id}`);
        }
        case 'move': {
          // like crm_resource --move: a preference for the target (INFINITY), not bans elsewhere, so
          // the resource still runs elsewhere when the target is lost, and comes back with it
          const target = needNode(req.move.node);
          const res = await proposeAndWait(agent, [{ type: 'ban', resource: id, node: target, on: true, score: INFINITY, until: until(req.move.lifetimeMs) }],
            (s) => override(s, target)?.score === INFINITY, `move ${id} to ${target}`);
          res.warnings.push(`${id} now prefers ${target}${req.move.lifetimeMs > 0 ? ` for ${req.move.lifetimeMs} ms` : ''}; \`tsha resource clear ${id}\` lifts it`);
          if (req.move.promotedOnly) res.warnings.push('--promoted is not supported: the preference applies to every role');
          return res;
        }
        case 'cleanup': {
          const node = req.cleanup.node ? needNode(req.cleanup.node) : null;
          const operation = req.cleanup.operation || null;
          if (node === null || node === agent.self) agent.resources.clearFailures(id);
          const left = (s: ClusterState): boolean => !s.failures.some((f) =>
            (f.resource === id || primitiveOf(f.resource) === id) && (node === null || f.node === node) && (operation === null || f.operation === operation));
          return proposeAndWait(agent, [{ type: 'cleanup', resource: id, node, operation }], left, `cleanup ${id}${node ? ` on ${node}` : ''}${operation ? ` (${operation})` : ''}`);
        }
        case 'setTargetRole': {
          const role = req.setTargetRole.targetRole;
          return proposeAndWait(agent, [{ type: 'override', resource: id, targetRole: role }], (s) => s.overrides[id]?.targetRole === role,
            `${role === 'stopped' ? 'disable' : 'enable'} ${id} (target role ${role})`);
        }
        case 'setManaged': {
          const managed = req.setManaged.managed;
          return proposeAndWait(agent, [{ type: 'override', resource: id, managed }], (s) => s.overrides[id]?.managed === managed,
            `${managed ? 'manage' : 'unmanage'} ${id}`);
        }
        default:
          throw new ControlCommandError('failedPrecondition', `resource command "${req.command}" is planned, not built yet (disable, then enable the resource instead)`);
      }
    },

    async nodeCommand(req: NodeCommandRequest): Promise<CommandResult> {
      const node = needNode(req.node);
      switch (req.action) {
        case 'standby':
          return proposeAndWait(agent, [{ type: 'standby', node, on: true }], (s) => s.standby.includes(node), `standby ${node}`);
        case 'online':
          return proposeAndWait(agent, [{ type: 'standby', node, on: false }], (s) => !s.standby.includes(node), `online ${node}`);
        case 'maintenanceOn':
          return proposeAndWait(agent, [{ type: 'maintenance', node, on: true }], (s) => s.maintenance.includes(node), `maintenance on ${node}`);
        case 'maintenanceOff':
          return proposeAndWait(agent, [{ type: 'maintenance', node, on: false }], (s) => !s.maintenance.includes(node), `maintenance off ${node}`);
      }
    },

    fenceCommand: (req) => fenceCommand(agent, req),

    async fenceCheck(req: FenceCheckRequest): Promise<FenceCheckReport> {
      const nodes = req.node ? [needNode(req.node)] : nodeNames();
      const report = agent.checkFencing(nodes);
      if (!report) throw new ControlCommandError('failedPrecondition', `the agent on ${agent.self} has no fencer`);
      return report;
    },

    subscribe(onChange: () => void): StatusSubscription {
      const off = agent.subscribe(onChange);
      return { close: off };
    },
  };
}
