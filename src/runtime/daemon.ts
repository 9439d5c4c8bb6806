// Wiring of one daemon process (`tsha agent` or `tsha witness`): configuration → adapters → agent
// runtime → control socket. Nothing here decides anything; it only builds the parts and takes
// them down again in reverse order.
//
// Configuration is validated first (validate() through loadConfig): an invalid file throws a
// ConfigError listing every error before anything is opened, bound or started, so a bad
// configuration changes nothing that is running.

import { hostname } from 'node:os';
import { ControlServer } from '../adapters/grpc/control-server.js';
import { hostOf, MeshTransport, type MeshPeer } from '../adapters/grpc/mesh-transport.js';
import { meshOptionsFromConfig } from '../adapters/grpc/mesh-config.js';
import { DiskStore } from '../adapters/disk-store.js';
import { ExecAgent } from '../adapters/exec/index.js';
import { FenceAgentFencer } from '../adapters/fence/index.js';
import { IpAgent } from '../adapters/ip/index.js';
import { LxcAgent } from '../adapters/lxc/index.js';
import { OcfAgent, ocfAdvice } from '../adapters/ocf/index.js';
import { SystemdAgent } from '../adapters/systemd/index.js';
import { MicrovmAgent } from '../adapters/microvm/index.js';
import { DrbdStorage, RbdStorage } from '../adapters/storage/index.js';
import { loadConfig } from '../config/parse.js';
import { ConfigError } from '../config/validate.js';
import { formatIssue } from '../config/issues.js';
import { describeConfigChange } from '../config/diff.js';
import type { CompiledConfig, NodeName, ResourceKind } from '../config/types.js';
import { type BuiltKind, type BuiltStorage, kindHasDriver, storageHasDriver } from '../config/drivers.js';
import { checkCommand, type Command } from '../core/cluster/commands.js';
import { checkClusterState } from '../core/cluster/state-check.js';
import type { ClusterState } from '../core/cluster/state-machine.js';
import type { Logger } from '../observability/logger.js';
import { AgentMetrics } from '../observability/metrics.js';
import type { ResourceAgent } from '../ports/resource-agent.js';
import type { StorageDriver, StorageType } from '../ports/storage.js';
import { TcpProbe } from '../adapters/probe/index.js';
import { LinuxWatchdog } from '../adapters/watchdog/index.js';
import { Agent, transportCounters, type SelfFenceAction } from './agent.js';
import { controlHandlers } from './control-handlers.js';
import { DrbdFencing } from './drbd-fencing.js';
import type { Notifier } from './notifier.js';
import { needsSourceRelay, SourceRelay } from './source-relay.js';
import { SchedulerRecorder } from './scheduler-recorder.js';
import type { SchedulerInput } from '../core/scheduler/index.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

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
  /** D-Bus address of the systemd manager for systemd and microvm resources (default: the system bus) */
  systemdBus?: string;
  selfFence: SelfFenceAction;
  /** OCF_ROOT of the OCF resource agents (default: $OCF_ROOT, else /usr/lib/ocf) */
  ocfRoot?: string;
  /** directories searched for fence agents before $PATH */
  fenceSearchPath?: string[];
  joinTimeoutMs?: number;
  notifier?: Notifier;
  /** where scheduled inputs are recorded for `tsha simulate --input` (default <stateDir>/scheduler-inputs); null: off */
  recordDir?: string | null;
  /** how many recorded inputs to keep (default 100) */
  recordKeep?: number;
  /** mutual TLS for meshes not on WireGuard: PEM files of the CA, this node's certificate (CN = node name) and key */
  meshTls?: { ca: string; cert: string; key: string } | null;
  /** watchdog device of this node; overrides fencing.watchdogDevice (agent only) */
  watchdogDevice?: string;
  logger: Logger;
}

/** Drivers (resource agents by kind, storage drivers by type), each made on first use (and then kept, to be closed with the agent). */
class DriversOnDemand<K, D> extends Map<K, D> {
  constructor(private readonly make: (kind: K) => D | null) {
    super();
  }
  override get(kind: K): D | undefined {
    let a = super.get(kind);
    if (a === undefined) {
      const made = this.make(kind);
      if (made) {
        this.set(kind, made);
        a = made;
      }
    }
    return a;
  }
}

export class DaemonSetupError extends Error {
  override readonly name = 'DaemonSetupError';
}

export interface Daemon {
  agent: Agent;
  config: CompiledConfig;
  self: NodeName;
  /**
   * Re-read the configuration file (SIGHUP). An invalid file, or one that changes what cannot
   * change at run time (cluster id, this node's name or mesh address), is refused with every error
   * logged, and nothing that runs changes. Resolves true when the new configuration was applied.
   */
  reload(): Promise<boolean>;
  stop(cause: string): Promise<void>;
}

const drbdDriver = (d: StorageDriver | undefined): DrbdStorage | null => (d instanceof DrbdStorage ? d : null);

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
  const log = o.logger;
  // OCF resources: one driver, which also reads the agents' meta-data (once per agent); the
  // operations the configuration leaves without a timeout get the one their agent advises. An
  // agent's node is named as resolveSelf names it (checked against the configuration just below).
  const agentNode = o.node ?? hostname();
  const ocfOptions = { node: agentNode, ...(o.ocfRoot ? { ocfRoot: o.ocfRoot } : {}) };
  const ocf = o.role === 'agent' ? new OcfAgent(ocfOptions) : null;
  const load = (): Promise<CompiledConfig> => loadConfig(o.configFile, {
    advise: async (c) => {
      if (!ocf) return undefined;
      const advice = await ocfAdvice(c, ocf);
      for (const u of advice.unread) log.warn({ node: agentNode, agent: u.agent, reason: u.reason }, 'OCF agent meta-data not read: its operations without a configured timeout keep the default');
      return advice.read.length > 0 ? advice.advised : undefined;
    },
  });
  const config = await load(); // throws ConfigError with every issue
  const self = resolveSelf(config, o);
  // prom-client's process metrics sample on a timer of their own: only when someone can scrape them
  const metrics = new AgentMetrics({ processMetrics: Boolean(o.metricsAddress) });
  // What to take down, in reverse order of setup. Each runs once: cleanup empties the list.
  const undo: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined);
  };

  try {
    const tls = o.meshTls ? { ca: readFileSync(o.meshTls.ca), cert: readFileSync(o.meshTls.cert), key: readFileSync(o.meshTls.key) } : undefined;
    const meshOpts = await meshOptionsFromConfig(config, self, { logger: log.child({ component: 'mesh' }), counters: transportCounters(metrics), tls });
    const selfIp = hostOf(meshOpts.listen);
    const relays = new Map<string, SourceRelay>();
    const relayPeers = async (peers: MeshPeer[]): Promise<void> => {
      if (!selfIp || !needsSourceRelay(selfIp)) return;
      for (const p of peers) {
        let relay = relays.get(p.meshAddress);
        if (!relay) {
          const r = await SourceRelay.open(selfIp, p.meshAddress);
          undo.push(() => r.close());
          relays.set(p.meshAddress, r);
          relay = r;
        }
        p.dialAddress = relay.address;
      }
    };
    await relayPeers(meshOpts.peers);
    if (relays.size > 0) log.info({ node: self, selfIp }, 'loopback mesh: peers dialled through source-address relays');
    const transport = new MeshTransport(meshOpts);

    const store = new DiskStore<Command, ClusterState>(o.stateDir, { check: { command: checkCommand, state: checkClusterState } });
    // One driver per kind this build runs (src/config/drivers.ts): the configuration check refused
    // every other kind. Each is made when a resource of its kind first needs it, so a reload that
    // adds the first resource of a kind finds its driver too.
    const drivers: Record<BuiltKind, () => ResourceAgent> = {
      // systemd and microvm share one D-Bus connection to the manager (SystemdAgent keeps one per bus address)
      systemd: () => new SystemdAgent(o.systemdBus ? { busAddress: o.systemdBus } : {}),
      microvm: () => new MicrovmAgent({ ...(o.systemdBus ? { busAddress: o.systemdBus } : {}), env: { TSHA_NODE: self } }),
      exec: () => new ExecAgent({ env: { TSHA_NODE: self } }),
      ip: () => new IpAgent(),
      lxc: () => new LxcAgent({ logDir: join(o.stateDir, 'lxc') }),
      ocf: () => ocf ?? new OcfAgent(ocfOptions),
    };
    const agents = new DriversOnDemand<ResourceKind, ResourceAgent>((k) => (o.role === 'agent' && kindHasDriver(k) ? drivers[k]() : null));
    // One storage driver per storage type this build takes over, made when first needed as above.
    const storageDrivers: Record<BuiltStorage, () => StorageDriver> = {
      rbd: () => new RbdStorage({ logger: log.child({ component: 'storage', node: self }) }),
      // the fences the outdate_peer takeover confirmed are kept beside the agent's state
      drbd: () => new DrbdStorage({ env: { TSHA_NODE: self }, recordDir: join(o.stateDir, 'drbd') }),
    };
    const storage = new DriversOnDemand<StorageType, StorageDriver>((t) => (o.role === 'agent' && storageHasDriver(t) ? storageDrivers[t]() : null));
    const fencer = o.role === 'agent' ? new FenceAgentFencer(() => agentRef?.currentConfig().fencing ?? config.fencing, { searchPath: o.fenceSearchPath ?? [], env: { TSHA_NODE: self } }) : null;
    if (!config.fencing.enabled) log.warn({ node: self }, 'FENCING IS DISABLED by configuration: lost nodes are recovered only after lease and watchdog time');

    const watchdogPath = o.role === 'agent' ? (o.watchdogDevice ?? config.fencing.watchdogDevice) : null;
    if (watchdogPath && (!config.fencing.enabled || !config.fencing.watchdog)) {
      throw new DaemonSetupError(`--watchdog-device ${watchdogPath}: the device is fed by watchdog fencing's rule, which needs fencing.enabled and fencing.watchdog in ${o.configFile}`);
    }
    if (watchdogPath && !watchdogPath.startsWith('/')) throw new DaemonSetupError(`--watchdog-device: "${watchdogPath}" is not an absolute path`);
    const watchdog = watchdogPath ? new LinuxWatchdog(watchdogPath) : null;

    const recordDir = o.recordDir === undefined ? join(o.stateDir, 'scheduler-inputs') : o.recordDir;
    const recorder = recordDir && o.role === 'agent' ? new SchedulerRecorder(recordDir, o.recordKeep ?? 100) : null;
    let recording: Promise<unknown> = Promise.resolve();
    const onInput = (input: SchedulerInput): void => {
      if (!recorder) return;
      recording = recording
        .then(() => recorder.record(input))
        .catch((e: unknown) => log.warn({ node: self, err: e instanceof Error ? e.message : String(e) }, 'cannot record a scheduler input'));
    };
    let agentRef: Agent | null = null;
    const agent = new Agent({
      config, self, logger: log, store, transport, resourceAgents: agents, storage, fencer, probe: o.role === 'agent' ? new TcpProbe() : null, selfFence: o.selfFence, metrics,
      metricsAddress: o.metricsAddress ?? null, notifier: o.notifier, joinTimeoutMs: o.joinTimeoutMs, onScheduled: onInput, watchdog,
    });
    agentRef = agent;
    await agent.start();
    // agent.stop is idempotent: after stop() below this entry only returns its promise
    undo.push(() => agent.stop('setup failed'));

    // DRBD's fence-peer handler (`tsha drbd fence-peer`) is answered by this agent over the control socket
    const drbdFencing = o.role === 'agent' ? new DrbdFencing({ agent, drbd: () => drbdDriver(storage.get('drbd')), logger: log }) : null;
    let control: ControlServer | null = null;
    if (o.socketPath) {
      const handlers = { ...controlHandlers(agent), ...(drbdFencing ? { drbdFencePeer: drbdFencing.fencePeer.bind(drbdFencing) } : {}) };
      control = new ControlServer({ socketPath: o.socketPath, group: o.socketGroup ?? null, handlers, logger: log.child({ node: self }) });
      await control.start();
    }
    let current = config;
    const reload = async (): Promise<boolean> => {
      let next: CompiledConfig;
      try {
        next = await load();
      } catch (e) {
        log.error({ node: self, file: o.configFile, issues: e instanceof ConfigError ? e.issues.map(formatIssue) : [String(e)] }, 'reload refused: invalid configuration; nothing changed');
        return false;
      }
      const me = (c: CompiledConfig): string | undefined => (o.role === 'witness' ? c.witness?.meshAddress : c.nodes.find((n) => n.name === self)?.meshAddress);
      const problems: string[] = [];
      if (next.clusterId !== current.clusterId) problems.push(`cluster.id: changed from "${current.clusterId}" to "${next.clusterId}" (restart the cluster for that)`);
      if (me(next) === undefined) problems.push(`${o.role === 'witness' ? 'witness' : `nodes.${self}`}: this ${o.role === 'witness' ? 'witness' : 'node'} is no longer configured`);
      else if (me(next) !== me(current)) problems.push(`${o.role === 'witness' ? 'witness' : `nodes.${self}`}.address: changed (restart the agent for that)`);
      if (problems.length > 0) {
        log.error({ node: self, file: o.configFile, issues: problems }, 'reload refused; nothing changed');
        return false;
      }
      const peers = (await meshOptionsFromConfig(next, self, { logger: log.child({ component: 'mesh' }) })).peers;
      await relayPeers(peers);
      transport.setPeers(peers);
      const changes = describeConfigChange(current, next);
      await agent.reconfigure(next, changes);
      current = next;
      log.info({ node: self, file: o.configFile, changes }, 'configuration reloaded');
      return true;
    };
    // One stop, however many callers: the signal handler and the end of `tsha agent` both ask for
    // it, concurrently, and every setup step must be taken down exactly once (one left up, such as
    // a source relay's listening socket, keeps the process alive after SIGTERM).
    let stopping: Promise<void> | null = null;
    const stop = (cause: string): Promise<void> => {
      stopping ??= (async () => {
        if (control) await control.stop().catch(() => undefined);
        drbdFencing?.close();
        await agent.stop(cause);
        await cleanup();
      })();
      return stopping;
    };
    return { agent, config, self, reload, stop };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
