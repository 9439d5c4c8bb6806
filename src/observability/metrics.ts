// Prometheus metrics of one agent (prom-client), named by Prometheus conventions with the `tsha_`
// prefix. The runtime updates them from the core's effects and from adapter outcomes, never the
// core itself (STYLE.md practice 12). Each agent owns its own Registry, so several agents in one
// process (tests) do not share series.
//
// Exposition: `tsha agent --metrics-address HOST:PORT` serves GET /metrics over plain HTTP. It is
// off by default; the conventional address is 127.0.0.1:9464 (keep it on loopback or the mesh
// interface: the endpoint has no authentication). Without it the agent collects no process metrics
// (`processMetrics`) and observes no step durations: nobody could read them.

import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const DEFAULT_METRICS_ADDRESS = '127.0.0.1:9464';

export class AgentMetrics {
  readonly registry = new Registry();
  /**
   * Gauges of state the runtime holds anyway (term, role, quorum, peers) are read when scraped, not
   * written at every core step: the runtime sets this hook (see Agent), prom-client calls it from
   * the gauges' collect().
   */
  refreshState: (() => void) | null = null;
  /** set while text() renders, which refreshed the state gauges once already */
  private refreshed = false;
  private readonly collectState = (): void => {
    if (!this.refreshed) this.refreshState?.();
  };
  readonly quorate = new Gauge({ name: 'tsha_quorate', help: '1 while this node is in a quorate partition (holds its lease, or leads one)', collect: this.collectState, registers: [this.registry] });
  readonly term = new Gauge({ name: 'tsha_term', help: 'current election term of this node', collect: this.collectState, registers: [this.registry] });
  readonly isCoordinator = new Gauge({ name: 'tsha_is_coordinator', help: '1 while this node is the coordinator', collect: this.collectState, registers: [this.registry] });
  readonly peerUp = new Gauge({ name: 'tsha_peer_up', help: '1 while the peer was heard from within the failure timeout', labelNames: ['peer'] as const, collect: this.collectState, registers: [this.registry] });
  /** how this node sees each node of the cluster (tsha status' STATE column): 1 for the state it is in, 0 for the others */
  readonly nodeState = new Gauge({
    name: 'tsha_node_state',
    help: 'each node as this agent sees it (as tsha status shows it): 1 for its state (online, offline = down: fenced or lease expired, unclean = lost and not yet fenced, pending = unknown here), 0 for the others',
    labelNames: ['node', 'state'] as const,
    collect: this.collectState,
    registers: [this.registry],
  });
  readonly witnessReachable = new Gauge({
    name: 'tsha_witness_reachable',
    help: '1 while the configured witness was heard within the failure timeout; exported only where that is known (the coordinator, which alone hears the witness)',
    labelNames: ['witness'] as const,
    collect: this.collectState,
    registers: [this.registry],
  });
  readonly configInfo = new Gauge({
    name: 'tsha_config_info',
    help: 'always 1: the configuration in force on this node, by cluster name and digest (first 16 hex digits of the SHA-256 of the compiled configuration); nodes of one cluster should show one digest',
    labelNames: ['cluster', 'digest'] as const,
    collect: this.collectState,
    registers: [this.registry],
  });
  readonly resourceBlocked = new Gauge({
    name: 'tsha_resource_blocked',
    help: 'coordinator only: 1 while a resource that should run is stopped (the scheduler finds no node for it, or it waits for a fence; tsha status says why), 0 otherwise',
    labelNames: ['resource'] as const,
    collect: this.collectState,
    registers: [this.registry],
  });
  readonly resourceFailCount = new Gauge({
    name: 'tsha_resource_fail_count',
    help: 'failures the cluster records for a resource on a node (all operations), until they expire or an operator cleans them up (tsha resource cleanup)',
    labelNames: ['resource', 'node'] as const,
    collect: this.collectState,
    registers: [this.registry],
  });
  readonly messagesDropped = new Counter({ name: 'tsha_messages_dropped_total', help: 'mesh messages dropped, inbound (admission, malformed) or outbound (send failures)', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly messagesReceived = new Counter({ name: 'tsha_messages_received_total', help: 'mesh messages admitted and handed to the core', registers: [this.registry] });
  readonly messagesSent = new Counter({ name: 'tsha_messages_sent_total', help: 'mesh messages delivered to a peer', registers: [this.registry] });
  readonly resourceUp = new Gauge({ name: 'tsha_resource_up', help: '1 while the resource runs on this node (started and last monitor ok)', labelNames: ['resource', 'kind'] as const, registers: [this.registry] });
  readonly failovers = new Counter({ name: 'tsha_failovers_total', help: 'resources this coordinator recovered from a lost node (placed elsewhere after fence or lease expiry)', registers: [this.registry] });
  readonly peerProbes = new Counter({
    name: 'tsha_peer_probes_total',
    help: 'TCP connect probes of silent peers\' mesh ports, by result (refused = host up, agent gone)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly crashGraceDecisions = new Counter({
    name: 'tsha_crash_grace_decisions_total',
    help: 'coordinator decisions on peers whose agent is down while their host is up: grace (restarting entry instead of a fence) or fence',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly fenceActions = new Counter({
    name: 'tsha_fence_actions_total', help: 'fence actions run by this node, by action (off, reboot, or on: unfencing) and result', labelNames: ['action', 'result'] as const, registers: [this.registry],
  });
  readonly resourceActions = new Counter({ name: 'tsha_resource_actions_total', help: 'resource operations run on this node, by resource kind, operation and status', labelNames: ['kind', 'operation', 'status'] as const, registers: [this.registry] });
  /** how long starts, stops, promotes and demotes take, by kind: a workload slow to start shows here, apart from detection and fencing */
  readonly resourceActionDuration = new Histogram({
    name: 'tsha_resource_action_duration_seconds',
    help: 'duration of start, stop, promote and demote operations on this node, by resource kind and operation (monitors are not observed)',
    labelNames: ['kind', 'operation'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  /** every storage step this node ran: a takeover from a lost node (blocklist, break_lock, outdate_peer), acquire before a start, release after a stop */
  readonly storageSteps = new Counter({ name: 'tsha_storage_steps_total', help: 'storage steps run on this node, by storage type (rbd, drbd), step (blocklist, break_lock, outdate_peer, acquire, release) and status', labelNames: ['type', 'step', 'status'] as const, registers: [this.registry] });
  readonly storageStepDuration = new Histogram({
    name: 'tsha_storage_step_duration_seconds',
    help: 'duration of storage steps on this node, by storage type and step',
    labelNames: ['type', 'step'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: 'tsha_step_duration_seconds',
    help: 'time to run one core step and carry out its effects (persist included, sends handed over)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly eventLoopLag = new Gauge({ name: 'tsha_event_loop_lag_seconds', help: 'last measured event-loop lag (timer overshoot)', registers: [this.registry] });

  constructor(opts: { processMetrics?: boolean } = {}) {
    // prom-client samples event-loop delay on a libuv timer at this precision (default 10 ms: 100
    // wake-ups a second, a visible share of an idle agent's CPU); a stall shows as one late sample
    // whatever the step, so one every 2 s (the agent's housekeeping pace) loses nothing but the
    // resolution of short delays
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tsha_', eventLoopMonitoringPrecision: 2000 });
    // a series that appears with its first increment has no earlier sample, so Prometheus'
    // increase() misses that first failed fence: the results start at 0
    for (const result of ['confirmed', 'failed']) this.fenceActions.inc({ action: 'off', result }, 0);
  }

  /** The failure series of a storage type's steps at 0, for the same reason (when the configuration first holds such storage). */
  initStorageSteps(type: 'rbd' | 'drbd'): void {
    const steps = type === 'rbd' ? ['blocklist', 'break_lock', 'acquire', 'release'] : ['outdate_peer', 'acquire', 'release'];
    for (const step of steps) for (const status of ['error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled']) this.storageSteps.inc({ type, step, status }, 0);
  }

  /** The exposition text: the state gauges are refreshed once, not once per gauge. */
  async text(): Promise<string> {
    this.refreshState?.();
    this.refreshed = true;
    try {
      return await this.registry.metrics();
    } finally {
      this.refreshed = false;
    }
  }
}

/** A plain HTTP server answering GET /metrics; resolves once listening. */
export async function serveMetrics(metrics: AgentMetrics, address: string): Promise<Server> {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`metrics address "${address}" is not host:port`);
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      metrics.text().then(
        (body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        },
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found: try /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(m[2]), m[1], () => resolve());
  });
  return server;
}
