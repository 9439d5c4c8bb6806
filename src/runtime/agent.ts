// The runtime shell of one agent (or of the witness): it feeds the pure cluster core and carries
// out its effects, in order.
//
//   timers (monotonic clock)  ──tick──►┐
//   mesh transport            ──message─►  one step queue ──► step(state, input) ──► effects, in order
//   action / fence outcomes   ──observation─►┘                      persist (fsync) → send → execute → fence …
//   control socket            ──command─►┘
//
// Ordering rules (src/core/cluster/types.ts), as this file keeps them:
// - Steps are serialized through one queue: a step's effects are all carried out (a persist is
//   awaited until fsync'd, a send is handed to the transport, an operation is handed to its
//   executor) before the next step runs.
// - `persist` is awaited BEFORE any later effect of the same step, so no send that depends on it is
//   handed to the transport before the data is on disk. A persist that fails because the state
//   directory refuses writes (full disk, I/O error: StoreWriteError) drops the rest of that step's
//   effects and STALLS the agent: no step runs (like a paused agent), the write is retried every
//   STORAGE_RETRY_MS, and once it is durable the core restarts from it as after an agent restart,
//   re-adopting what runs here (enterStorageFault). Any other persist error is a bug: it stops the agent.
// - Plan actions (the core's `execute` effects: this node's slice of the committed transition) and
//   fence actions take seconds; they run outside the queue (one at a time per resource, in
//   local-actions.ts) and their outcomes come back as inputs.
// - Time is the monotonic clock (performance.now); the wall clock is used only for display.
//
// Re-adoption: before the core starts, every configured primitive is probed; the ones found
// running are handed to the core as already active, with their role (startNode's localActive),
// and monitored, never stopped and started because the agent restarted.

import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { CompiledConfig, NodeName, ResourceKind } from '../config/types.js';
import { NODE_STATUS_STATES, clusterNow, coordinatorOf, heardRecently, isQuorate, nextTickAt, restartAnnounced, startNode, statusOf, step, stoppedReasons, type NodeState } from '../core/cluster/node.js';
import type { Durable, Effect, Input } from '../core/cluster/types.js';
import { StoreWriteError } from '../ports/store.js';
import { StorageHealth } from './storage-health.js';
import type { LocalCommand } from '../core/cluster/commands.js';
import type { SchedulerInput } from '../core/scheduler/types.js';
import type { Logger } from '../observability/logger.js';
import { AgentMetrics, serveMetrics } from '../observability/metrics.js';
import type { FenceCheckReport, Fencer } from '../ports/fencer.js';
import type { PeerProbe } from '../ports/peer-probe.js';
import type { StorageDriver, StorageType } from '../ports/storage.js';
import type { ResourceAgent } from '../ports/resource-agent.js';
import type { WatchdogDevice } from '../ports/watchdog.js';
import type { Envelope, Transport, TransportCounters } from '../ports/transport.js';
import type { ClusterStore } from './durable-writer.js';
import { DurableWriter } from './durable-writer.js';
import { Lifecycle } from './lifecycle.js';
import { createNotifier, type Notifier } from './notifier.js';
import { LocalActions } from './local-actions.js';
import { MalformedMessageError, fromEnvelope, toOutbound } from './wire.js';
import { primitiveOf } from '../config/types.js';

/** What the agent does on the core's `selfFence` effect (and on `fence` no-quorum policy). */
export type SelfFenceAction =
  /** kill this agent process with SIGKILL at once (tests; a watchdog the agent fed then resets the machine) */
  | { kind: 'exit' }
  /** reset the machine now: `b` into /proc/sysrq-trigger (production, with root) */
  | { kind: 'sysrq-reboot' }
  /** run a shell command (e.g. `systemctl reboot --force --force`), then kill this process */
  | { kind: 'command'; command: string };

export interface AgentOptions {
  config: CompiledConfig;
  /** this node's name, or the witness's */
  self: NodeName;
  logger: Logger;
  store: ClusterStore;
  transport: Transport;
  /** resource adapters by kind (none for the witness) */
  resourceAgents: ReadonlyMap<ResourceKind, ResourceAgent>;
  /** storage drivers by type (none for the witness; absent: none) */
  storage?: ReadonlyMap<StorageType, StorageDriver>;
  fencer: Fencer | null;
  /** carries out probePeer (TCP connect to a silent peer's mesh port); null: no crash evidence */
  probe?: PeerProbe | null;
  selfFence: SelfFenceAction;
  metrics?: AgentMetrics;
  /** serve GET /metrics here ("host:port"); null: off */
  metricsAddress?: string | null;
  notifier?: Notifier;
  /** how long a node waits for a quorate partition before it reports READY anyway (default 10 × election timeout, at least 5 s) */
  joinTimeoutMs?: number;
  /** seed of the core's generator (default: random per start) */
  seed?: number;
  /** every input the coordinator scheduled, for the recorder (`tsha simulate --input` replays it) */
  onScheduled?: (input: SchedulerInput) => void;
  /** the watchdog device fed on the core's feedWatchdog effects (fencing.watchdogDevice); null: none */
  watchdog?: WatchdogDevice | null;
}

export class WatchdogSetupError extends Error {
  override readonly name = 'WatchdogSetupError';
  constructor(readonly path: string, readonly deviceTimeoutMs: number, readonly watchdogMs: number) {
    super(
      `fencing.watchdogDevice: ${path} has a timeout of ${deviceTimeoutMs} ms, longer than timing.watchdogMs (${watchdogMs} ms): ` +
        'the peers would recover this node\'s resources before the watchdog resets it; set the device\'s timeout (softdog soft_margin, or the driver\'s module option) to timing.watchdogMs',
    );
  }
}

export interface CoreView {
  node: NodeState;
  now: number;
}

/**
 * Timeout of one probe of a silent peer's mesh port. A refusal (RST) comes back within a round trip;
 * waiting longer would only collect timeouts, which prove nothing.
 */
const PROBE_TIMEOUT_MS = 200;

/** Event-loop lag and step freshness bounds for WATCHDOG=1. */
const MAX_LOOP_LAG_MS = 1000;
/**
 * The slow timer: event-loop lag, STATUS=. Every two seconds, not every half second: an idle
 * agent's wake-ups are most of its CPU (docs/agent.md, "Idle cost"), and the tick timer measures
 * the lag in between (housekeeping()).
 */
const HOUSEKEEPING_MS = 2000;
/**
 * A feedWatchdog effect is honoured only this soon after its step began: the core decided it at the
 * step's `now` (lease still held then); a keepalive written much later, after a slow persist of the
 * same step, could outlive the lease by that delay.
 */
const FEED_FRESH_MS = 20;

/** How often a stalled agent retries the write the state directory refused. */
export const STORAGE_RETRY_MS = 1000;

/** A step's persist failed on the state directory; carries the durable state it was writing. */
class PersistFailed extends Error {
  override readonly name = 'PersistFailed';
  constructor(
    readonly durable: Durable,
    override readonly cause: StoreWriteError,
  ) {
    super(cause.message);
  }
}

export class Agent {
  readonly config: CompiledConfig;
  readonly self: NodeName;
  readonly metrics: AgentMetrics;
  /** a metrics endpoint is served: process metrics and step durations are worth measuring */
  private readonly measured: boolean;
  readonly lifecycle: Lifecycle;
  readonly resources: LocalActions;
  readonly log: Logger;
  private node: NodeState | null = null;
  private readonly writer: DurableWriter;
  private readonly notifier: Notifier;
  private queue: Promise<void> = Promise.resolve();
  private tickQueued = false;
  private tickTimer: NodeJS.Timeout | null = null;
  private tickDue = Infinity;
  private timers: NodeJS.Timeout[] = [];
  private lastLoopCheck = performance.now();
  private loopLagMs = 0;
  /** the tick timer's largest overshoot since the last housekeeping, ms */
  private tickLagMs = 0;
  lastStepAt = -Infinity;
  steps = 0;
  private metricsServer: Server | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly holders = new Map<string, NodeName>();
  private countedTransition = 0;
  private readonly probing = new Set<NodeName>();
  private stopping: Promise<void> | null = null;
  private fatal: Error | null = null;
  /** resolves when the agent stopped (signal, fatal error or stop()) */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  readonly startedAt = performance.now();
  joinedAt: number | null = null;
  /** watchdog device: when the last keepalive was written (monotonic ms), and how many were */
  watchdogLastKeepaliveAt: number | null = null;
  watchdogKeepalives = 0;
  private watchdogWriteFailed = false;
  private watchdogStarved = false;
  /** the state directory's health: a fault (full disk …) stalls the agent until a write succeeds */
  readonly storage: StorageHealth;
  /** while stalled: the durable state the failed step was writing, retried until it is on disk */
  private pendingDurable: Durable | null = null;
  private storageRetryTimer: NodeJS.Timeout | null = null;
  private seed = 0;

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.self = opts.self;
    this.log = opts.logger.child({ component: 'runtime', node: opts.self });
    // Nobody can read the process metrics or the step histogram without the endpoint: their
    // sampling timer and per-step observation are skipped then (docs/agent.md, "Idle cost").
    this.measured = Boolean(opts.metricsAddress);
    this.metrics = opts.metrics ?? new AgentMetrics({ processMetrics: this.measured });
    this.lifecycle = new Lifecycle(opts.logger.child({ component: 'lifecycle' }), opts.self, () => this.node?.term ?? 0);
    this.writer = new DurableWriter(opts.store);
    this.notifier = opts.notifier ?? createNotifier(this.log);
    this.resources = new LocalActions({
      node: opts.self,
      config: () => this.currentConfig(),
      agents: opts.resourceAgents,
      storage: opts.storage ?? new Map(),
      logger: opts.logger,
      metrics: this.metrics,
      result: (transition, actionId, result) => void this.submit((now) => ({ type: 'actionResult', transition, actionId, result, now })),
      monitored: (c) => void this.submit((now) => ({ type: 'monitored', ...c, now })),
      found: (f) => void this.submit((now) => ({ type: 'found', ...f, now })),
    });
    this.resources.initStorageMetrics();
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.metrics.refreshState = () => this.refreshStateMetrics();
    this.storage = new StorageHealth(this.metrics);
  }

  /** The configuration in force (the last reload's, once the core applied it). */
  currentConfig(): CompiledConfig {
    return this.node?.config ?? this.config;
  }

  get isWitness(): boolean {
    return this.config.witness?.name === this.self;
  }

  private clock(): number {
    return performance.now();
  }

  /** The core's state, read-only by contract (status, metrics, tests). */
  view(): CoreView | null {
    return this.node ? { node: this.node, now: this.clock() } : null;
  }

  // ---- life ------------------------------------------------------------------------------------

  async start(): Promise<void> {
    const t = this.config.timing;
    const { durable, repairs } = await this.writer.load(this.config);
    if (repairs.length > 0) this.log.warn({ repairs }, 'state directory repaired on load');
    this.log.info({ term: durable?.term ?? 0, votedFor: durable?.votedFor ?? null, firstStart: durable === null }, 'durable state loaded');

    // re-adoption: probe before anything may start or stop
    const running = this.isWitness ? [] : await this.resources.probeAll();
    if (running.length > 0) this.log.info({ resources: running }, 're-adopting resources found running');

    // before anything is served: a device that cannot be used refuses the start with nothing running
    if (!this.isWitness) await this.openWatchdog();

    this.opts.transport.onMessage((env) => this.onEnvelope(env));
    try {
      await this.opts.transport.start();
      if (this.opts.metricsAddress) {
        this.metricsServer = await serveMetrics(this.metrics, this.opts.metricsAddress);
        this.log.info({ address: this.opts.metricsAddress }, 'metrics endpoint listening');
      }
    } catch (e) {
      this.closeWatchdog(); // disarmed unless resources run (then nothing else watches them)
      throw e;
    }

    const seed = this.opts.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.seed = seed;
    this.node = startNode(this.config, this.self, durable, this.clock(), seed, {}, running);
    this.lifecycle.transition('joining', durable === null ? 'first start: waiting for a quorate partition' : `restart at term ${durable.term}: waiting for a quorate partition`);

    // Ticks: one timer, re-armed after every step for when the core next needs one (nextTickAt,
    // the schedule the simulator verifies). Event-loop lag and STATUS= share one slow timer: each
    // wake-up of an idle process costs 100-250 µs of CPU here, whatever it does (docs/agent.md,
    // "Idle cost"), so timers are few and coarse.
    this.lastLoopCheck = performance.now();
    this.every(HOUSEKEEPING_MS, () => this.housekeeping());
    const joinTimeout = this.opts.joinTimeoutMs ?? Math.max(5000, 10 * t.electionTimeoutMs);
    const joinTimer = setTimeout(() => {
      if (this.lifecycle.is('joining')) this.becomeJoined(`join timeout (${joinTimeout} ms): no quorate partition yet`);
    }, joinTimeout);
    joinTimer.unref();
    this.timers.push(joinTimer);
    if (this.notifier.watchdogMs !== null) this.every(Math.max(50, this.notifier.watchdogMs), () => this.feedServiceWatchdog());
    this.queueTick();
  }

  private every(ms: number, fn: () => void): void {
    const h = setInterval(fn, ms);
    this.timers.push(h);
  }

  private becomeJoined(cause: string): void {
    if (!this.lifecycle.tryTransition('running', cause)) return;
    this.joinedAt = performance.now();
    this.notifier.notify({ READY: '1', STATUS: this.statusLine(cause.startsWith('join timeout') ? 'not quorate after the join timeout' : undefined) });
  }

  /**
   * SIGTERM (nixos-rebuild switch, systemctl restart): announce a graceful restart to the cluster
   * and wait, at most `timeoutMs`, until the `restarting` entry is committed, so the coordinator
   * neither fences this node nor moves its resources while the agent is away (timing.restartGraceMs).
   * From here on the core starts and stops nothing: the resources keep running for the next
   * incarnation to re-adopt. Resolves true when committed; false otherwise (the peers will then
   * treat the silence as a failure: fence after the failure timeout, as for a crash).
   */
  async announceRestart(timeoutMs = 1000): Promise<boolean> {
    const node = this.node;
    if (!node || this.isWitness || this.lifecycle.is('stopping', 'stopped')) return false;
    const t0 = performance.now();
    await this.submit((now) => ({ type: 'gracefulStop', now }));
    while (!restartAnnounced(node) && performance.now() - t0 < timeoutMs && !this.lifecycle.is('stopping', 'stopped')) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const ms = Math.round(performance.now() - t0);
    if (restartAnnounced(node)) {
      this.log.info({ ms, graceMs: node.config.timing.restartGraceMs ?? null }, 'graceful restart announced and committed: resources left running for re-adoption');
      return true;
    }
    this.log.warn(
      { ms, coordinator: node.leader },
      'graceful restart NOT committed in time (no quorum or no coordinator): exiting anyway; the peers will treat this node as failed and fence it after the failure timeout',
    );
    return false;
  }

  /** Stop: timers, monitors, sockets, state directory. Resources keep running. */
  stop(cause: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      this.lifecycle.tryTransition('stopping', cause);
      this.notifier.notify({ STOPPING: '1', STATUS: `stopping: ${cause}` });
      for (const h of this.timers) clearInterval(h);
      this.timers = [];
      if (this.tickTimer) clearTimeout(this.tickTimer);
      this.tickTimer = null;
      if (this.storageRetryTimer) clearTimeout(this.storageRetryTimer);
      this.storageRetryTimer = null;
      await this.queue.catch(() => undefined);
      this.closeWatchdog();
      await this.resources.close();
      await this.opts.transport.stop();
      for (const a of new Set(this.opts.resourceAgents.values())) await a.close().catch(() => undefined);
      for (const d of this.opts.storage?.values() ?? []) await d.close().catch(() => undefined);
      if (this.metricsServer) await new Promise<void>((r) => this.metricsServer!.close(() => r()));
      await this.writer.close().catch(() => undefined);
      this.lifecycle.tryTransition('stopped', cause);
      this.resolveStopped();
    })();
    return this.stopping;
  }

  /** Non-null when the agent stopped because of an error (the CLI exits non-zero). */
  get fatalError(): Error | null {
    return this.fatal;
  }

  // ---- inputs ------------------------------------------------------------------------------------

  private queueTick(): void {
    if (this.tickQueued) return;
    this.tickQueued = true;
    this.submit((now) => {
      this.tickQueued = false;
      return { type: 'tick', now };
    });
  }

  private onEnvelope(env: Envelope): void {
    let msg;
    try {
      msg = fromEnvelope(env);
    } catch (e) {
      if (e instanceof MalformedMessageError) {
        this.metrics.messagesDropped.inc({ reason: 'malformed' });
        this.log.warn({ from: env.from, detail: e.detail }, 'dropped a malformed mesh message');
        return;
      }
      throw e;
    }
    this.metrics.messagesReceived.inc();
    this.submit((now) => ({ type: 'message', from: env.from, msg, now }));
  }

  /**
   * A new, already validated configuration (SIGHUP after nixos-rebuild switch): the core applies
   * membership changes one node at a time, the coordinator plans with it at once (a running
   * transition is aborted), and resource operations and the fencer read the new definitions.
   */
  reconfigure(config: CompiledConfig, changes: string[] = []): Promise<void> {
    this.lastReload = { timeUnixMs: Date.now(), changes };
    return this.submit((now) => ({ type: 'configChanged', config, now })).then(() => this.resources.initStorageMetrics());
  }

  /** The last configuration reload on this node and what it changed (for `tsha status`). */
  lastReload: { timeUnixMs: number; changes: string[] } | null = null;

  /** `tsha fence check` through this agent: its fencer, its fence path, its credentials; null without a fencer */
  checkFencing(nodes: NodeName[]): Promise<FenceCheckReport> | null {
    return this.opts.fencer?.check(nodes) ?? null;
  }

  /** An operator command (control socket) or a DRBD fence-peer request/answer; resolves once the step that proposed it ran. */
  command(cmd: LocalCommand): Promise<void> {
    const f = this.storage.fault;
    if (f) return Promise.reject(new Error(`this node cannot take commands: its state directory refuses writes (${f.code ?? f.message} on ${f.file}); free space there, or ask another node`));
    return this.submit((now) => ({ type: 'command', cmd, now }));
  }

  /** Run `make(now)` as the next step, after every step queued before it. */
  private submit(make: (now: number) => Input): Promise<void> {
    const run = this.queue.then(() => this.runStep(make));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async runStep(make: (now: number) => Input): Promise<void> {
    const node = this.node;
    // stalled on the state directory: inputs are dropped, as by a paused agent (the protocol
    // resends what matters; the core restarts from disk when the write goes through)
    if (!node || this.lifecycle.is('stopping', 'stopped') || this.storage.fault) return;
    const t0 = this.measured ? performance.now() : 0;
    const input = make(this.clock());
    const { effects } = step(node, input);
    this.lastStepAt = this.clock();
    this.steps++;
    try {
      if (effects.length > 0) await this.execute(effects, input.now);
    } catch (e) {
      if (e instanceof PersistFailed) {
        this.enterStorageFault(e);
        return;
      }
      this.fatal = e instanceof Error ? e : new Error(String(e));
      this.log.fatal({ err: this.fatal }, 'cannot carry out the core\'s effects: stopping');
      void this.stop(`fatal: ${this.fatal.message}`);
      return;
    }
    this.afterStep();
    this.armTick(node);
    if (this.measured) this.metrics.stepDuration.observe((performance.now() - t0) / 1000);
  }

  /**
   * Points the tick timer at nextTickAt. A member hearing its coordinator moves it later at every
   * heartbeat (clearTimeout + setTimeout, no wake-up), so it fires only when the coordinator falls
   * silent. +1 ms: Node may fire a timer up to a millisecond before performance.now() reaches it,
   * and a tick just short of the coordinator's heartbeat time would only ask for another one.
   */
  private armTick(node: NodeState): void {
    if (this.lifecycle.is('stopping', 'stopped')) return;
    const now = this.clock();
    const due = nextTickAt(node, now);
    if (this.tickTimer && Math.abs(due - this.tickDue) < 1) return;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickDue = due;
    const delay = Math.max(0, Math.ceil(due - now)) + 1;
    const fireAt = performance.now() + delay;
    this.tickTimer = setTimeout(() => {
      this.tickTimer = null;
      this.tickLagMs = Math.max(this.tickLagMs, performance.now() - fireAt);
      this.queueTick();
    }, delay);
  }

  // ---- the state directory refuses writes ------------------------------------------------------

  /**
   * A persist failed (full disk, I/O error). The core has moved on in memory to a state the disk
   * does not hold, so nothing it decided in this step may leave (the step's later effects were
   * not carried out: no vote, acknowledgement, action or watchdog feed) and it may not step on
   * from there. The agent stalls instead of exiting (an exit would only come back to the same full
   * disk, again and again): no steps, no ticks, inputs dropped, resources left as they are, the
   * watchdog device not fed (no core step asks for it: a stall longer than its timeout resets the
   * node, as for a paused agent).
   * The write of the failed step is retried every STORAGE_RETRY_MS; once it is durable, the core
   * restarts from that state (see retryStorage).
   */
  private enterStorageFault(e: PersistFailed): void {
    this.pendingDurable = e.durable;
    const first = this.storage.failed(e.cause, this.clock());
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (first) {
      this.log.error(
        { term: this.node?.term, file: e.cause.file, operation: e.cause.operation, code: e.cause.code, err: e.cause.message, retryEveryMs: STORAGE_RETRY_MS },
        'state directory refuses writes: stalled (nothing voted, acknowledged or started on the unwritten state); retrying the write until it succeeds',
      );
      this.notifier.notify({ STATUS: `stalled: state directory refuses writes (${e.cause.code ?? 'error'} on ${e.cause.file})` });
    }
    this.scheduleStorageRetry();
  }

  private scheduleStorageRetry(): void {
    if (this.lifecycle.is('stopping', 'stopped')) return;
    this.storageRetryTimer = setTimeout(() => {
      this.storageRetryTimer = null;
      const run = this.queue.then(() => this.retryStorage());
      this.queue = run.catch(() => undefined);
    }, STORAGE_RETRY_MS);
  }

  /**
   * Retry the write that failed. Once it is durable, the core restarts from exactly that state
   * (startNode, as after an agent restart: new incarnation, no lease until a coordinator grants
   * one, resources found running re-adopted and kept for one lease), so what it had in memory
   * and never announced is forgotten the same way a crash forgets it — the case the simulator
   * checks. Nothing is lost: the disk holds at least what was announced before the fault.
   */
  private async retryStorage(): Promise<void> {
    const d = this.pendingDurable;
    if (!d || !this.storage.fault || this.lifecycle.is('stopping', 'stopped')) return;
    try {
      await this.writer.write(d);
    } catch (err) {
      if (!(err instanceof StoreWriteError)) {
        this.fatal = err instanceof Error ? err : new Error(String(err));
        this.log.fatal({ err: this.fatal }, 'retrying the refused write failed with a bug: stopping');
        void this.stop(`fatal: ${this.fatal.message}`);
        return;
      }
      const f = this.storage.fault;
      this.storage.failed(err, this.clock());
      // once a minute while it lasts, and whenever the cause changes
      if (f.code !== err.code || f.file !== err.file || (f.retries + 1) % Math.max(1, Math.round(60_000 / STORAGE_RETRY_MS)) === 0) {
        this.log.error({ term: this.node?.term, file: err.file, operation: err.operation, code: err.code, retries: f.retries + 1, stalledMs: Math.round(this.clock() - f.since) }, 'state directory still refuses writes: stalled');
      }
      this.scheduleStorageRetry();
      return;
    }
    const running = this.isWitness ? [] : await this.resources.probeAll();
    const fault = this.storage.recovered();
    this.pendingDurable = null;
    this.seed = (this.seed + 1) | 0;
    this.node = startNode(this.currentConfig(), this.self, d, this.clock(), this.seed, {}, running);
    this.log.warn(
      { term: d.term, stalledMs: fault ? Math.round(this.clock() - fault.since) : 0, retries: fault?.retries ?? 0, resources: running },
      'state directory takes writes again: the core restarted from what is on disk (as after an agent restart; resources found running re-adopted)',
    );
    this.lastStatusLine = '';
    this.notifyStatus();
    this.queueTick();
  }

  // ---- effects, in order ------------------------------------------------------------------------

  private async execute(effects: Effect[], stepNow: number): Promise<void> {
    for (const e of effects) {
      switch (e.type) {
        case 'persist':
          try {
            await this.writer.write(e.durable); // fsync'd before anything after it
          } catch (err) {
            // nothing after it runs: no send, no action, no watchdog feed of this step
            if (err instanceof StoreWriteError) throw new PersistFailed(e.durable, err);
            throw err;
          }
          break;
        case 'send':
          void this.opts.transport.send(e.to, toOutbound(e.msg)).then((r) => {
            if (r.ok) this.metrics.messagesSent.inc();
            else this.metrics.messagesDropped.inc({ reason: `send_${r.reason}` });
          });
          break;
        case 'execute':
          this.resources.execute(e.transition, e.action);
          break;
        case 'cancel':
          this.log.warn({ term: this.node?.term, transition: e.transition, action: e.actionId, reason: e.reason }, 'action cancelled: no outcome in time');
          break;
        case 'renamed':
          this.resources.renamed(e.from, e.to);
          break;
        case 'scheduled':
          this.opts.onScheduled?.(e.input);
          break;
        case 'fence':
          this.runFence(e.target, e.requestId, e.action);
          break;
        case 'selfFence':
          this.doSelfFence(e.cause);
          break;
        case 'probePeer':
          this.probePeer(e.target);
          break;
        case 'crashGraceDecision':
          this.metrics.crashGraceDecisions.inc({ decision: e.decision });
          this.log.warn({ term: this.node?.term, peer: e.node, decision: e.decision, cause: e.cause }, e.decision === 'grace' ? 'crash grace: agent down on a live host, not fencing it yet' : 'crash grace refused: the node is handled as lost');
          break;
        case 'feedWatchdog':
          // The core emits this only while this node may keep its resources (lease held, or it
          // runs nothing). systemd's WATCHDOG=1 is fed separately by the health check.
          this.feedWatchdogDevice(stepNow);
          break;
        case 'applyNoQuorumPolicy':
          this.log.warn({ term: this.node?.term, policy: e.policy, cause: e.cause }, `no-quorum policy: ${e.policy}`);
          break;
        case 'becameCoordinator':
          this.log.info({ term: e.term, from: 'member', to: 'coordinator', cause: 'elected' }, 'became coordinator');
          break;
        case 'lostCoordinator':
          this.log.info({ term: e.term, from: 'coordinator', to: 'member', cause: e.cause }, 'no longer coordinator');
          break;
        case 'lease':
          this.log.info({ term: this.node?.term, holds: e.holds }, e.holds ? 'lease held' : 'lease lost');
          break;
        case 'trace':
          this.log.info({ term: e.term, from: e.from, to: e.to, cause: e.cause }, e.event);
          break;
      }
    }
  }

  private runFence(target: NodeName, requestId: string, action: 'off' | 'reboot' | 'on'): void {
    const fencer = this.opts.fencer;
    const report = (ok: boolean, device = ''): void => {
      this.metrics.fenceActions.inc({ action, result: ok ? 'confirmed' : 'failed' });
      void this.submit((now) => ({ type: 'fenceResult', requestId, target, ok, now, ...(device ? { device } : {}) }));
    };
    if (!fencer) {
      this.log.error({ target, requestId }, 'fence requested but this agent has no fencer');
      report(false);
      return;
    }
    const what = action === 'on' ? 'unfence' : 'fence';
    this.log.warn({ target, requestId, action }, action === 'on' ? 'unfencing' : 'fencing');
    void (action === 'on' ? fencer.unfence(target) : fencer.fence(target, action)).then((o) => {
      this.log[o.confirmed ? 'warn' : 'error']({ target, requestId, action, confirmed: o.confirmed, attempts: o.attempts }, o.confirmed ? `${what} confirmed` : `${what} NOT confirmed`);
      this.lastFence.push({ target, action, confirmed: o.confirmed, device: o.attempts.at(-1)?.device ?? '', reason: o.attempts.at(-1)?.reason ?? 'no device', timeUnixMs: Date.now() });
      if (this.lastFence.length > 32) this.lastFence.shift();
      // the level that confirmed it: its devices that answered ok
      const level = o.attempts.at(-1)?.level;
      report(o.confirmed, o.confirmed ? [...new Set(o.attempts.filter((a) => a.level === level && a.status === 'ok').map((a) => a.device))].join('+') : '');
    });
  }

  /**
   * probePeer: one TCP connect to the peer's configured mesh address (never through the mesh
   * transport), one probe in flight per peer. A refusal is evidence of a crashed agent on a live
   * host (peerAgentDown); an acceptance, of an agent listening there (peerAgentListening: after a
   * refusal, a restarted one). A timeout or an error proves nothing.
   */
  private probePeer(target: NodeName): void {
    const probe = this.opts.probe;
    const config = this.node?.config ?? this.config;
    const address = config.nodes.find((n) => n.name === target)?.meshAddress;
    if (!probe || !address || this.probing.has(target)) return;
    this.probing.add(target);
    void probe.probe(address, PROBE_TIMEOUT_MS).then((result) => {
      this.probing.delete(target);
      this.metrics.peerProbes.inc({ result });
      const seenAt = this.clock();
      if (result === 'accepted') {
        void this.submit((now) => ({ type: 'peerAgentListening', node: target, seenAt, now }));
        return;
      }
      if (result !== 'refused') return;
      this.log.debug({ peer: target, address }, 'probe refused: host up, agent down');
      void this.submit((now) => ({ type: 'peerAgentDown', node: target, seenAt, now }));
    });
  }

  readonly lastFence: { target: NodeName; action: 'off' | 'reboot' | 'on'; confirmed: boolean; device: string; reason: string; timeUnixMs: number }[] = [];

  private doSelfFence(cause: string): void {
    const a = this.opts.selfFence;
    this.log.fatal({ term: this.node?.term, cause, action: a.kind }, 'SELF-FENCE');
    if (a.kind === 'sysrq-reboot') {
      try {
        writeFileSync('/proc/sysrq-trigger', 'b');
      } catch (e) {
        this.log.fatal({ err: e }, 'sysrq reboot failed: killing the agent so the watchdog resets the machine');
      }
      process.kill(process.pid, 'SIGKILL');
    } else if (a.kind === 'command') {
      execFile('/bin/sh', ['-c', a.command], () => process.kill(process.pid, 'SIGKILL'));
    } else {
      process.kill(process.pid, 'SIGKILL');
    }
  }

  // ---- the watchdog device (fencing.watchdogDevice) --------------------------------------------

  /** Check the device's timeout against timing.watchdogMs, then open (arm) it. */
  private async openWatchdog(): Promise<void> {
    const wd = this.opts.watchdog;
    if (!wd) {
      if (this.config.fencing.watchdog) this.log.warn({}, 'fencing.watchdog is on but no watchdog device is driven: nothing resets this node if its agent hangs');
      return;
    }
    const t = this.config.timing;
    const info = wd.timeout();
    if (info.timeoutMs !== null && info.timeoutMs > t.watchdogMs) throw new WatchdogSetupError(wd.path, info.timeoutMs, t.watchdogMs);
    if (info.timeoutMs === null) this.log.warn({ device: wd.path, why: info.source, watchdogMs: t.watchdogMs }, 'cannot read the watchdog device\'s timeout: make sure it equals timing.watchdogMs');
    else if (info.timeoutMs < t.watchdogMs) this.log.warn({ device: wd.path, deviceTimeoutMs: info.timeoutMs, watchdogMs: t.watchdogMs }, 'the watchdog device\'s timeout is shorter than timing.watchdogMs: safe, but a stall resets this node sooner than the peers wait');
    await wd.open();
    this.log.info({ device: wd.path, deviceTimeoutMs: info.timeoutMs, keepaliveEveryMs: this.keepaliveEveryMs() }, 'watchdog device armed: fed only while this agent is healthy and holds its lease (or runs nothing)');
  }

  /** Keepalive interval: a fifth of the timeout, so four missed ones still do not reset the node. */
  private keepaliveEveryMs(): number {
    return Math.max(50, Math.floor(this.config.timing.watchdogMs / 5));
  }

  private feedWatchdogDevice(stepNow: number): void {
    const wd = this.opts.watchdog;
    if (!wd || this.watchdogWriteFailed) return;
    const now = this.clock();
    if (now - stepNow > FEED_FRESH_MS) return; // decided too long ago; the next step decides again
    if (this.watchdogLastKeepaliveAt !== null && now - this.watchdogLastKeepaliveAt < this.keepaliveEveryMs()) return;
    const h = this.healthy();
    if (!h.ok) {
      if (!this.watchdogStarved) this.log.error({ why: h.why }, 'unhealthy: not feeding the watchdog device');
      this.watchdogStarved = true;
      return;
    }
    this.watchdogStarved = false;
    const r = wd.keepalive();
    if (!r.ok) {
      // Nothing feeds it from now on: the node is reset within the device's timeout, as intended
      // for an agent that can no longer vouch for itself.
      this.watchdogWriteFailed = true;
      this.log.fatal({ device: wd.path, reason: r.reason }, 'cannot write to the watchdog device: the node will be reset by it');
      return;
    }
    this.watchdogLastKeepaliveAt = now;
    this.watchdogKeepalives++;
  }

  /**
   * Magic close ('V') only when this node runs nothing: resources left running for the next
   * incarnation (SIGTERM keeps them) stay covered by the watchdog, which resets the node unless the
   * next agent feeds it within the timeout.
   */
  private closeWatchdog(): void {
    const wd = this.opts.watchdog;
    if (!wd) return;
    const runsNothing = this.isWitness || (this.node?.local.size ?? 0) === 0;
    wd.close(runsNothing);
    if (runsNothing) this.log.info({ device: wd.path }, 'watchdog device disarmed (magic close): this node runs no resources');
    else this.log.warn({ device: wd.path, watchdogMs: this.config.timing.watchdogMs }, 'watchdog device closed ARMED: resources keep running, so the node is reset unless the next agent feeds the watchdog in time');
  }

  // ---- after each step: lifecycle, failover counter, watchers -----------------------------------

  /** Whether this node sees a quorate partition right now. */
  quorate(): boolean {
    return this.node ? isQuorate(this.node, this.clock()) : false;
  }

  coordinator(): NodeName | null {
    return this.node ? coordinatorOf(this.node) : null;
  }

  private afterStep(): void {
    const st = this.node!;
    if (this.lifecycle.is('joining') && this.quorate()) this.becomeJoined(`joined: coordinator ${this.coordinator() ?? '?'} at term ${st.term}`);
    this.countFailovers(st);
    for (const fn of this.listeners) fn();
  }

  /** The state gauges, computed when Prometheus scrapes (AgentMetrics.refreshState). */
  private refreshStateMetrics(): void {
    const st = this.node;
    if (!st) return;
    this.metrics.term.set(st.term);
    this.metrics.isCoordinator.set(st.role === 'leader' ? 1 : 0);
    this.metrics.quorate.set(this.quorate() ? 1 : 0);
    for (const [id, r] of Object.entries(st.config.resources)) {
      if (r.type !== 'primitive') continue;
      const here = [...st.local].some(([x, role]) => role !== 'failed' && (x === id || primitiveOf(x) === id));
      this.metrics.resourceUp.set({ resource: id, kind: r.kind }, here ? 1 : 0);
    }
    const now = this.clock();
    const peers = [...st.config.nodes.map((n) => n.name), ...(st.config.witness ? [st.config.witness.name] : [])].filter((n) => n !== this.self);
    for (const p of peers) this.metrics.peerUp.set({ peer: p }, heardRecently(st, p, now) ? 1 : 0);

    // each node as `tsha status` shows it from here; the witness's reachability where it is known
    const status = statusOf(st, now);
    this.metrics.nodeState.reset();
    for (const n of status.nodes) for (const state of NODE_STATUS_STATES) this.metrics.nodeState.set({ node: n.name, state }, n.state === state ? 1 : 0);
    this.metrics.witnessReachable.reset();
    if (status.quorum.witness !== null && status.quorum.witnessReachable !== null && !st.isWitness) {
      this.metrics.witnessReachable.set({ witness: status.quorum.witness }, status.quorum.witnessReachable ? 1 : 0);
    }

    // the configuration in force, by digest (computed again only when the core's config object changes)
    if (this.digested?.config !== st.config) this.digested = { config: st.config, digest: configDigest(st.config) };
    this.metrics.configInfo.reset();
    this.metrics.configInfo.set({ cluster: st.config.clusterName, digest: this.digested.digest }, 1);

    // failures the cluster records (committed: every node shows the same), summed over operations;
    // one past its resource's failure-timeout counts no more (the coordinator drops it soon after)
    this.metrics.resourceFailCount.reset();
    const fails = new Map<string, { resource: string; node: string; count: number }>();
    const clusterTime = clusterNow(st, now);
    for (const f of st.cluster.failures) {
      const def = st.config.resources[f.resource] ?? st.config.resources[primitiveOf(f.resource)];
      const timeout = def?.type === 'primitive' ? def.meta.failureTimeoutMs : 0;
      if (timeout > 0 && clusterTime - f.at >= timeout) continue;
      const k = `${f.resource}\u0000${f.node}`;
      const e = fails.get(k) ?? { resource: f.resource, node: f.node, count: 0 };
      e.count += f.count;
      fails.set(k, e);
    }
    for (const e of fails.values()) this.metrics.resourceFailCount.set({ resource: e.resource, node: e.node }, e.count);

    // blocked resources: only the coordinator plans, so only it runs the scheduler for them, and
    // only when the applied state, the configuration or quorum changed (or every BLOCKED_RECHECK_MS,
    // for bans and failures that expire): an idle cluster's scrape does not run it
    this.metrics.resourceBlocked.reset();
    if (st.role !== 'leader' || st.isWitness) {
      this.blocked = null;
      return;
    }
    const quorate = this.quorate();
    const b = this.blocked;
    if (!b || b.applied !== st.applied || b.config !== st.config || b.quorate !== quorate || now - b.at > BLOCKED_RECHECK_MS) {
      this.blocked = { applied: st.applied, config: st.config, quorate, at: now, ids: new Set(stoppedReasons(st, now).keys()) };
    }
    const ids = this.blocked!.ids;
    for (const [id, r] of Object.entries(st.config.resources)) if (r.type === 'primitive') this.metrics.resourceBlocked.set({ resource: id }, ids.has(id) ? 1 : 0);
    for (const id of ids) if (!st.config.resources[id]) this.metrics.resourceBlocked.set({ resource: id }, 1);
  }

  private digested: { config: CompiledConfig; digest: string } | null = null;
  private blocked: { applied: number; config: CompiledConfig; quorate: boolean; at: number; ids: Set<string> } | null = null;

  /**
   * A resource instance that a completed transition left on another node than the one it ran on
   * at the previous completion, when that node is down, is one failover (counted by the coordinator).
   */
  private countFailovers(st: NodeState): void {
    const t = st.cluster.transition;
    if (!t || t.outcome !== 'complete' || t.id === this.countedTransition) return;
    this.countedTransition = t.id;
    for (const [node, m] of Object.entries(st.cluster.active)) {
      for (const r of Object.keys(m)) {
        const before = this.holders.get(r);
        if (st.role === 'leader' && before !== undefined && before !== node && st.cluster.down[before]) this.metrics.failovers.inc();
        this.holders.set(r, node);
      }
    }
  }

  /** Called after every step (the control server's Watch); returns the unsubscribe function. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- health: sd_notify ------------------------------------------------------------------------

  /**
   * Every HOUSEKEEPING_MS: the event-loop lag, the larger of this timer's own overshoot and the
   * tick timer's largest since the last run, and STATUS= when the summary line changed. A stall of
   * S ms shows as a lag of about S when a tick fell due during it (a coordinator ticks every
   * heartbeat, a member at least every few), else between S − HOUSEKEEPING_MS and S; prom-client's
   * histogram has the distribution.
   */
  private housekeeping(): void {
    const now = performance.now();
    this.loopLagMs = Math.max(0, now - this.lastLoopCheck - HOUSEKEEPING_MS, this.tickLagMs);
    this.tickLagMs = 0;
    this.metrics.eventLoopLag.set(this.loopLagMs / 1000);
    this.lastLoopCheck = now;
    // probes of what this node does not run (a copy started by hand), each at its monitor interval
    if (!this.isWitness && this.node !== null && !this.stopping) this.resources.sweepStrayProbes();
    this.notifyStatus();
  }

  /** Healthy: the event loop is not stalled and the core stepped within a few heartbeats. */
  healthy(): { ok: boolean; why: string } {
    const now = this.clock();
    const t = this.config.timing;
    if (this.fatal) return { ok: false, why: `fatal: ${this.fatal.message}` };
    if (this.loopLagMs > MAX_LOOP_LAG_MS) return { ok: false, why: `event loop lag ${Math.round(this.loopLagMs)} ms` };
    if (now - this.lastLoopCheck > 5 * MAX_LOOP_LAG_MS) return { ok: false, why: 'loop check stalled' };
    // stalled on the state directory on purpose (it retries): not a hang for systemd to kill, which
    // would only restart the agent onto the same full disk
    if (!this.storage.fault && now - this.lastStepAt > 5 * t.heartbeatIntervalMs + 1000) return { ok: false, why: `core last stepped ${Math.round(now - this.lastStepAt)} ms ago` };
    return { ok: true, why: '' };
  }

  private feedServiceWatchdog(): void {
    const h = this.healthy();
    if (h.ok) this.notifier.notify({ WATCHDOG: '1' });
    else this.log.error({ why: h.why }, 'unhealthy: not feeding the service watchdog');
  }

  private lastStatusLine = '';

  /** STATUS= when the line changed (each notification runs systemd-notify, in the notifier's helper shell). */
  private notifyStatus(): void {
    if (!this.lifecycle.is('running') || this.storage.fault) return;
    const line = this.statusLine();
    if (line === this.lastStatusLine) return;
    this.lastStatusLine = line;
    this.notifier.notify({ STATUS: line });
  }

  /** One line for STATUS=: role, term, quorum, resources held. */
  statusLine(note?: string): string {
    const st = this.node;
    if (!st) return `${this.lifecycle.state}`;
    const role = st.isWitness ? 'witness' : st.role === 'leader' ? 'coordinator' : st.role;
    const held = [...(st.local.keys())].sort();
    const parts = [
      `${role} term ${st.term}`,
      this.quorate() ? 'quorate' : 'NOT quorate',
      `coordinator ${this.coordinator() ?? 'none'}`,
      st.isWitness ? '' : `holds ${held.length === 0 ? 'nothing' : held.join(',')}`,
    ].filter((p) => p !== '');
    return note ? `${parts.join('; ')} (${note})` : parts.join('; ');
  }
}

/** tsha_resource_blocked is recomputed at least this often on a scrape (bans and failures expire) */
const BLOCKED_RECHECK_MS = 10_000;

/** First 16 hex digits of the SHA-256 of a configuration, its keys sorted (same configuration, same digest on every node). */
export function configDigest(config: CompiledConfig): string {
  const canon = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canon);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon((v as Record<string, unknown>)[k])]));
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canon(config))).digest('hex').slice(0, 16);
}

/** Counters the mesh transport reports to, wired to the agent's metrics. */
export function transportCounters(metrics: AgentMetrics): TransportCounters {
  return {
    received: () => undefined,
    dropped: (reason) => metrics.messagesDropped.inc({ reason }),
    sent: () => undefined,
    sendFailed: () => undefined,
  };
}
