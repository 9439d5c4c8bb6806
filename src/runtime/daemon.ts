// Wiring of one daemon process (`tsha agent` or `tsha witness`): configuration → adapters → agent
// runtime → control socket. Nothing here decides anything; it only builds the parts and takes
// them down again in reverse order.
//
// Configuration is validated first (validate() through loadConfig): an invalid file throws a
// ConfigError listing every error before anything is opened, bound or started, so a bad
// configuration changes nothing that is running.

import { hostname } from 'node:os';
import { ControlServer } from '../adapters/grpc/control-server.js';
import { hostOf, MeshTransport } from '../adapters/grpc/mesh-transport.js';
import { meshOptionsFromConfig } from '../adapters/grpc/mesh-config.js';
import { DiskStore } from '../adapters/disk-store.js';
import { ExecAgent } from '../adapters/exec/index.js';
import { FenceAgentFencer } from '../adapters/fence/index.js';
import { SystemdAgent } from '../adapters/systemd/index.js';
import { loadConfig } from '../config/parse.js';
import type { CompiledConfig, NodeName, ResourceKind } from '../config/types.js';
import type { Command } from '../core/cluster/commands.js';
import type { ClusterState } from '../core/cluster/state-machine.js';
import type { Logger } from '../observability/logger.js';
import { AgentMetrics } from '../observability/metrics.js';
import type { ResourceAgent } from '../ports/resource-agent.js';
import { Agent, transportCounters, type SelfFenceAction } from './agent.js';
import { controlHandlers } from './control-handlers.js';
import type { Notifier } from './notifier.js';
import { needsSourceRelay, SourceRelay } from './source-relay.js';

export const DEFAULT_STATE_DIR = '/var/lib/tsha';
export const DEFAULT_WITNESS_STATE_DIR = '/var/lib/tsha-witness';

export interface DaemonOptions {
  role: 'agent' | 'witness';
  configFile: string;
  /** agent: this node's name (default: the host name); ignored for the witness */
  node?: string;
  stateDir: string;
  /** control socket path; null: no control socket */
  socketPath: string | null;
  socketGroup?: string | null;
  /** "host:port" for GET /metrics; null: off */
  metricsAddress?: string | null;
  /** D-Bus address of the systemd manager for systemd resources (default: the system bus) */
  systemdBus?: string;
  selfFence: SelfFenceAction;
  /** directories searched for fence agents before $PATH */
  fenceSearchPath?: string[];
  joinTimeoutMs?: number;
  notifier?: Notifier;
  logger: Logger;
}

export class DaemonSetupError extends Error {
  override readonly name = 'DaemonSetupError';
}

export interface Daemon {
  agent: Agent;
  config: CompiledConfig;
  self: NodeName;
  stop(cause: string): Promise<void>;
}

function resolveSelf(config: CompiledConfig, o: DaemonOptions): NodeName {
  if (o.role === 'witness') {
    if (!config.witness) throw new DaemonSetupError(`${o.configFile}: witness: not configured (this cluster has no witness; quorum mode ${config.quorumMode})`);
    return config.witness.name;
  }
  const name = o.node ?? hostname();
  if (!config.nodes.some((n) => n.name === name)) {
    throw new DaemonSetupError(`${o.configFile}: nodes: no node named "${name}"${o.node ? '' : ' (the host name; use --node NAME)'}; nodes are ${config.nodes.map((n) => n.name).join(', ')}`);
  }
  return name;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const config = await loadConfig(o.configFile); // throws ConfigError with every issue
  const self = resolveSelf(config, o);
  const log = o.logger;
  const metrics = new AgentMetrics({ processMetrics: true });
  const undo: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of undo.reverse()) await f().catch(() => undefined);
  };

  try {
    const meshOpts = await meshOptionsFromConfig(config, self, { logger: log.child({ component: 'mesh' }), counters: transportCounters(metrics) });
    const selfIp = hostOf(meshOpts.listen);
    if (selfIp && needsSourceRelay(selfIp)) {
      for (const p of meshOpts.peers) {
        const relay = await SourceRelay.open(selfIp, p.meshAddress);
        undo.push(() => relay.close());
        p.dialAddress = relay.address;
      }
      log.info({ node: self, selfIp }, 'loopback mesh: peers dialled through source-address relays');
    }
    const transport = new MeshTransport(meshOpts);

    const store = new DiskStore<Command, ClusterState>(o.stateDir);
    const agents = new Map<ResourceKind, ResourceAgent>();
    if (o.role === 'agent') {
      const kinds = new Set(Object.values(config.resources).flatMap((r) => (r.type === 'primitive' ? [r.kind] : [])));
      if (kinds.has('systemd')) agents.set('systemd', new SystemdAgent(o.systemdBus ? { busAddress: o.systemdBus } : {}));
      if (kinds.has('exec')) agents.set('exec', new ExecAgent({ env: { TSHA_NODE: self } }));
      for (const k of kinds) if (!agents.has(k)) log.error({ node: self, kind: k }, `resources of kind ${k} cannot run on this agent yet: their operations report errorFatal`);
    }
    const fencer = o.role === 'agent' ? new FenceAgentFencer(() => config.fencing, { searchPath: o.fenceSearchPath ?? [], env: { TSHA_NODE: self } }) : null;
    if (!config.fencing.enabled) log.warn({ node: self }, 'FENCING IS DISABLED by configuration: lost nodes are recovered only after lease and watchdog time');

    const agent = new Agent({
      config, self, logger: log, store, transport, resourceAgents: agents, fencer, selfFence: o.selfFence, metrics,
      metricsAddress: o.metricsAddress ?? null, notifier: o.notifier, joinTimeoutMs: o.joinTimeoutMs,
    });
    await agent.start();
    undo.push(() => agent.stop('setup failed'));

    let control: ControlServer | null = null;
    if (o.socketPath) {
      control = new ControlServer({ socketPath: o.socketPath, group: o.socketGroup ?? null, handlers: controlHandlers(agent), logger: log.child({ node: self }) });
      await control.start();
    }
    const stop = async (cause: string): Promise<void> => {
      if (control) await control.stop().catch(() => undefined);
      await agent.stop(cause);
      undo.pop(); // agent already stopped
      await cleanup();
    };
    return { agent, config, self, stop };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
