// The control API's handlers (src/ports/control.ts), answered from the running agent:
// - Status: the core's state (role, term, committed placements, bans, standby, fail counts, fence
//   records), this node's view of its peers (failure detector), the coordinator's member reports
//   when this node is the coordinator, this node's own resource states and failed actions.
// - Commands: mapped onto the core's operator commands (ban, standby, cleanup), proposed through
//   the core (forwarded to the coordinator by a follower) and answered once this node applied the
//   committed result, or refused with a clear reason (no coordinator, unknown name, not supported).

import type { NodeName, ResourceId } from '../config/types.js';
import type { OperatorCommand } from '../core/cluster/commands.js';
import type { ClusterState } from '../core/cluster/state-machine.js';
import { restartGrace } from '../core/cluster/node.js';
import type {
  ClusterStatus, CommandResult, ControlHandlers, FailedAction, FenceEvent, NodeCommandRequest, NodeStatus, ResourceCommandRequest,
  ResourceState, ResourceStatus, StatusRequest, StatusSubscription,
} from '../ports/control.js';
import { ControlCommandError } from '../ports/control.js';
import type { Agent } from './agent.js';

const VERSION = '0.1.0';
const COMMIT_WAIT_MS = 5000;

export function buildClusterStatus(agent: Agent, req: Partial<StatusRequest> = {}): ClusterStatus {
  const view = agent.view();
  const cfg = agent.config;
  const generatedAtUnixMs = Date.now();
  const base: ClusterStatus = {
    clusterName: cfg.clusterName, clusterId: cfg.clusterId, nodeSelf: agent.self, coordinator: '', term: 0, quorum: null,
    lastChangeUnixMs: 0, lastChangeBy: '', generatedAtUnixMs, agentVersion: VERSION, maintenanceMode: cfg.maintenanceMode,
    fencingEnabled: cfg.fencing.enabled, nodes: [], resources: [], failedActions: [], fenceHistory: [], commitIndex: 0,
  };
  if (!view) return base;
  const { node: st, now } = view;
  const t = st.config.timing;
  const coordinator = agent.coordinator() ?? '';
  const cluster: ClusterState = st.cluster;
  const heardRecently = (n: NodeName): boolean => {
    if (n === st.self) return true;
    const h = st.heard.get(n);
    return h !== undefined && now - h < t.failureTimeoutMs;
  };

  const following = st.role !== 'leader' && st.leader !== null && heardRecently(st.leader);
  const nodes: NodeStatus[] = st.config.nodes.map((n) => {
    const down = cluster.down[n.name];
    // The coordinator hears every member (heartbeat responses); a follower hears only the
    // coordinator, so for the other members it shows the committed state: online unless the
    // cluster recorded them down (fenced or lease expired). Its view of a lost peer therefore
    // turns OFFLINE when the coordinator commits the fence, not at the moment of the loss.
    let state: NodeStatus['state'];
    if (down) state = 'offline';
    else if (heardRecently(n.name)) state = 'online';
    else if (st.role === 'leader') state = 'unclean';
    else if (following && n.name !== st.leader) state = 'online';
    else state = 'pending';
    const leaseRemainingMs = n.name === st.self ? Math.max(0, Math.round(st.leaseUntil - now)) : st.role === 'leader' ? Math.max(0, Math.round((st.grantExpiry.get(n.name) ?? 0) - now)) : 0;
    const grace = n.name === st.self ? null : restartGrace(st, n.name, now);
    return {
      name: n.name, state, standby: cluster.standby.includes(n.name), maintenance: false, isSelf: n.name === st.self,
      isCoordinator: n.name === coordinator, votes: n.votes, meshAddress: n.meshAddress, attributes: n.attributes, leaseRemainingMs,
      restartGraceRemainingMs: grace ? Math.round(grace.remainingMs) : 0, restartGraceCause: grace?.cause ?? '',
    };
  });

  // who runs what: the coordinator knows its members' reports; any node knows the committed
  // placements and its own local state
  const activeOn = new Map<ResourceId, Set<NodeName>>();
  const add = (r: ResourceId, n: NodeName): void => {
    const s = activeOn.get(r) ?? new Set<NodeName>();
    s.add(n);
    activeOn.set(r, s);
  };
  if (st.role === 'leader') for (const [n, rep] of st.reports) if (!cluster.down[n] && heardRecently(n)) for (const r of rep.report.active) add(r, n);
  for (const [r] of st.local) add(r, st.self);

  const groupOf = new Map<ResourceId, string>();
  const cloneOf = new Map<ResourceId, string>();
  for (const r of Object.values(st.config.resources)) {
    if (r.type === 'group') for (const m of r.members) groupOf.set(m, r.id);
    if (r.type === 'clone') cloneOf.set(r.child, r.id);
  }
  const resources: ResourceStatus[] = [];
  for (const id of Object.keys(st.config.resources).sort()) {
    const r = st.config.resources[id]!;
    if (r.type !== 'primitive') continue;
    const placed = cluster.placements[id]?.node ?? null;
    const nodesRunning = new Set(activeOn.get(id) ?? []);
    let state: ResourceState = 'stopped';
    const local = st.local.get(id);
    const exec = agent.resources.states.get(id);
    if (placed !== null && placed !== st.self && st.role !== 'leader' && !cluster.down[placed]) nodesRunning.add(placed);
    if (local === 'starting') state = 'starting';
    else if (local === 'stopping') state = 'stopping';
    else if (nodesRunning.size > 0) state = 'started';
    else if (exec === 'failed') state = 'failed';
    const failCounts = cluster.failures
      .filter((f) => f.resource === id && f.count > 0)
      .map((f) => ({ node: f.node, operation: 'start', count: f.count, lastFailureUnixMs: 0 }));
    let reason = '';
    if (placed === null && state === 'stopped') reason = cluster.released[id] ? `released by ${cluster.released[id]!.from}` : 'not placed';
    resources.push({
      id, kind: r.kind, agent: agentLabel(r.kind, r.params, id), group: groupOf.get(id) ?? '', clone: cloneOf.get(id) ?? '', promotable: false,
      state, nodes: [...nodesRunning].sort(), targetRole: r.meta.targetRole, managed: r.meta.managed, reason, failCounts, blocked: false,
    });
  }

  const failedActions: FailedAction[] = agent.resources.failedActions.map((f) => ({
    resource: f.resource, operation: f.operation, intervalMs: f.intervalMs, node: f.node, status: f.status, exitCode: f.exitCode,
    exitReason: f.reason, timeUnixMs: f.timeUnixMs, durationMs: f.durationMs,
  }));

  const limit = req.fenceHistoryLimit && req.fenceHistoryLimit > 0 ? req.fenceHistoryLimit : 10;
  const fenceHistory: FenceEvent[] = [
    ...cluster.fenceHistory.map((f): FenceEvent => ({
      target: f.node, action: 'off', status: 'ok', device: f.cause === 'fenced' ? 'fence agent' : 'lease expiry + watchdog', executor: '',
      requestedBy: '', reason: `${f.cause} (term ${f.term}, log index ${f.index})`, timeUnixMs: 0,
    })),
    ...agent.lastFence.map((f): FenceEvent => ({
      target: f.target, action: 'off', status: f.confirmed ? 'ok' : 'failed', device: f.device, executor: agent.self, requestedBy: agent.self,
      reason: f.reason, timeUnixMs: f.timeUnixMs,
    })),
  ].slice(-limit);

  const votes = (n: NodeName): number => st.config.nodes.find((x) => x.name === n)?.votes ?? (st.config.witness?.name === n ? 1 : 0);
  const voters = cluster.voters.concat(st.config.witness && !cluster.voters.includes(st.config.witness.name) ? [st.config.witness.name] : []);
  const votesTotal = voters.reduce((s, n) => s + votes(n), 0);
  // votes this node counts as present: the members it shows online (a follower: per the committed
  // state, see above) and the witness when heard
  const present = (n: NodeName): boolean => nodes.find((x) => x.name === n)?.state === 'online' || (n === st.config.witness?.name && heardRecently(n));
  const votesHave = voters.filter(present).reduce((s, n) => s + votes(n), 0);
  const mode = st.config.quorumMode === 'two_node' ? 'twoNode' : st.config.quorumMode;
  return {
    ...base,
    coordinator,
    term: st.term,
    quorum: {
      quorate: agent.quorate(), mode, votesHave, votesNeeded: st.config.quorumMode === 'two_node' ? 1 : Math.floor(votesTotal / 2) + 1, votesTotal,
      witness: st.config.witness?.name ?? '', witnessReachable: st.config.witness ? heardRecently(st.config.witness.name) : false,
    },
    nodes, resources, failedActions, fenceHistory, commitIndex: st.commitIndex,
  };
}

function agentLabel(kind: string, params: Record<string, string>, id: string): string {
  switch (kind) {
    case 'systemd': return `systemd:${params.unit ?? id}`;
    case 'ocf': return `ocf:${params.provider ?? 'heartbeat'}:${params.agent ?? id}`;
    case 'lxc': return `lxc:${params.name ?? id}`;
    case 'microvm': return `microvm:${params.name ?? id}`;
    default: return `${kind}:${id}`;
  }
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

export function controlHandlers(agent: Agent): ControlHandlers {
  const cfg = (): typeof agent.config => agent.view()?.node.config ?? agent.config;
  const nodeNames = (): NodeName[] => cfg().nodes.map((n) => n.name);
  const needNode = (n: string): NodeName => {
    if (!nodeNames().includes(n)) throw new ControlCommandError('notFound', `no node named "${n}" (nodes: ${nodeNames().join(', ')})`);
    return n;
  };
  return {
    status: (req) => Promise.resolve(buildClusterStatus(agent, req)),

    async resourceCommand(req: ResourceCommandRequest): Promise<CommandResult> {
      const id = req.resource;
      const r = cfg().resources[id];
      if (!r) throw new ControlCommandError('notFound', `no resource named "${id}"`);
      if (r.type !== 'primitive') throw new ControlCommandError('failedPrecondition', `"${id}" is a ${r.type}: only primitive resources take commands in this version`);
      const banned = (s: ClusterState, n: NodeName): boolean => s.bans.some((b) => b.resource === id && b.node === n);
      switch (req.command) {
        case 'ban': {
          const node = req.ban.node || agent.view()?.node.cluster.placements[id]?.node;
          if (!node) throw new ControlCommandError('invalidArgument', `resource "${id}" runs nowhere: name the node to ban it from`);
          needNode(node);
          const res = await proposeAndWait(agent, [{ type: 'ban', resource: id, node, on: true }], (s) => banned(s, node), `ban ${id} from ${node}`);
          if (req.ban.lifetimeMs > 0) res.warnings.push('lifetime is not supported yet: the ban stays until `tsha resource clear`');
          return res;
        }
        case 'clear': {
          const nodes = req.clear.node ? [needNode(req.clear.node)] : nodeNames();
          const cmds = nodes.map((node): OperatorCommand => ({ type: 'ban', resource: id, node, on: false }));
          return proposeAndWait(agent, cmds, (s) => nodes.every((n) => !banned(s, n)), `clear bans of ${id}`);
        }
        case 'move': {
          const target = needNode(req.move.node);
          const others = nodeNames().filter((n) => n !== target);
          const cmds: OperatorCommand[] = [{ type: 'ban', resource: id, node: target, on: false }, ...others.map((node): OperatorCommand => ({ type: 'ban', resource: id, node, on: true }))];
          const res = await proposeAndWait(agent, cmds, (s) => !banned(s, target) && others.every((n) => banned(s, n)), `move ${id} to ${target}`);
          res.warnings.push(`moved by banning ${id} from ${others.join(', ')}; run \`tsha resource clear ${id}\` to lift the bans`);
          return res;
        }
        case 'cleanup': {
          const node = req.cleanup.node ? needNode(req.cleanup.node) : null;
          if (node === null || node === agent.self) agent.resources.clearFailures(id);
          const left = (s: ClusterState): boolean => !s.failures.some((f) => f.resource === id && (node === null || f.node === node) && f.count > 0);
          return proposeAndWait(agent, [{ type: 'cleanup', resource: id, node }], left, `cleanup ${id}${node ? ` on ${node}` : ''}`);
        }
        default:
          throw new ControlCommandError('failedPrecondition', `resource command "${req.command}" is not supported by the cluster core yet (it has no replicated target-role / managed override)`);
      }
    },

    async nodeCommand(req: NodeCommandRequest): Promise<CommandResult> {
      const node = needNode(req.node);
      switch (req.action) {
        case 'standby':
          return proposeAndWait(agent, [{ type: 'standby', node, on: true }], (s) => s.standby.includes(node), `standby ${node}`);
        case 'online':
          return proposeAndWait(agent, [{ type: 'standby', node, on: false }], (s) => !s.standby.includes(node), `online ${node}`);
        default:
          throw new ControlCommandError('failedPrecondition', `node maintenance is not supported by the cluster core yet`);
      }
    },

    subscribe(onChange: () => void): StatusSubscription {
      const off = agent.subscribe(onChange);
      return { close: off };
    },
  };
}
