// Carries out the core's `startResource` / `stopResource` effects through the resource-agent
// adapters, runs the recurring monitors, and reports outcomes back as observations
// (`resourceStarted`, `resourceStopped`, `resourceFailed`: types.ts rule 2).
//
// Rules kept here:
// - One operation at a time per resource: a stop that arrives while a start runs waits for it.
// - The core forgets a resource on `resourceFailed` and `resourceStopped` (it counts it as surely
//   not running any more). So a failed start or a failed monitor is followed by a stop (Pacemaker's
//   recovery: stop, then start again), and the observation is reported only once the stop
//   confirmed; a stop that keeps failing is retried with backoff and never reported as stopped.
// - Monitors run only for resources this node holds (started and not being stopped), at the
//   interval of the resource's monitor operation; a monitor that finds the resource not running,
//   or failed, is a failure.
// - Probes (re-adoption at start) only read: a resource found running is reported as running and
//   kept, never restarted.

import type { CompiledConfig, NodeName, Operation, OperationName, PrimitiveResource, ResourceId, ResourceKind } from '../config/types.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import type { ActionResult, MonitorResult, ResourceAgent } from '../ports/resource-agent.js';

export type ResourceObservation =
  | { type: 'resourceStarted'; resource: ResourceId }
  | { type: 'resourceStopped'; resource: ResourceId }
  | { type: 'resourceFailed'; resource: ResourceId };

export interface FailedAction {
  resource: ResourceId;
  operation: OperationName;
  intervalMs: number;
  node: NodeName;
  status: ActionResult['status'];
  exitCode: number;
  reason: string;
  /** wall-clock time, for display only */
  timeUnixMs: number;
  durationMs: number;
}

export type LocalResourceState = 'starting' | 'started' | 'stopping' | 'stopped' | 'failed';

const DEFAULT_TIMEOUT_MS = 20_000;
const STOP_RETRY_MS = [500, 1000, 2000, 5000];
const FAILED_ACTIONS_KEPT = 50;

export interface ResourceExecutorOptions {
  node: NodeName;
  config: () => CompiledConfig;
  agents: ReadonlyMap<ResourceKind, ResourceAgent>;
  logger: Logger;
  metrics: AgentMetrics;
  /** hands an observation to the runtime's step queue */
  report: (obs: ResourceObservation) => void;
}

export class ResourceExecutor {
  private readonly chains = new Map<ResourceId, Promise<void>>();
  private readonly monitors = new Map<ResourceId, NodeJS.Timeout>();
  readonly states = new Map<ResourceId, LocalResourceState>();
  readonly failedActions: FailedAction[] = [];
  /** the last time (monotonic ms) an operation finished, for the status line */
  lastActivity = 0;
  private closed = false;
  private readonly log: Logger;

  constructor(private readonly opts: ResourceExecutorOptions) {
    this.log = opts.logger.child({ component: 'resources', node: opts.node });
  }

  private primitive(id: ResourceId): PrimitiveResource | null {
    const r = this.opts.config().resources[id];
    return r && r.type === 'primitive' ? r : null;
  }

  private op(r: PrimitiveResource, name: OperationName): Operation | undefined {
    return r.operations.find((o) => o.name === name);
  }

  private agentFor(r: PrimitiveResource): ResourceAgent | null {
    return this.opts.agents.get(r.kind) ?? null;
  }

  /** Serialize operations of one resource. */
  private enqueue(id: ResourceId, job: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const next = prev.then(job, job).catch((e: unknown) => {
      this.log.error({ resource: id, err: e }, 'resource operation threw (a bug)');
    });
    this.chains.set(id, next);
    return next;
  }

  /** Probe every configured primitive (one-shot, read-only); resolves with the ones found running. */
  async probeAll(): Promise<{ running: ResourceId[]; results: Map<ResourceId, MonitorResult> }> {
    const running: ResourceId[] = [];
    const results = new Map<ResourceId, MonitorResult>();
    const ids = Object.keys(this.opts.config().resources).sort();
    await Promise.all(
      ids.map(async (id) => {
        const r = this.primitive(id);
        if (!r) return;
        const agent = this.agentFor(r);
        if (!agent) return;
        const timeoutMs = this.op(r, 'monitor')?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        let res: MonitorResult;
        try {
          res = await agent.probe(r, { timeoutMs });
        } catch (e) {
          res = { status: 'error', state: 'failed', running: false, reason: e instanceof Error ? e.message : String(e) };
        }
        results.set(id, res);
        this.log.info({ resource: id, state: res.state, running: res.running, status: res.status, mainPid: res.mainPid }, 'probe');
        if (res.running) {
          running.push(id);
          this.states.set(id, 'started');
          this.opts.metrics.resourceUp.set({ resource: id }, 1);
          this.scheduleMonitor(id);
        } else {
          this.opts.metrics.resourceUp.set({ resource: id }, 0);
        }
      }),
    );
    return { running: running.sort(), results };
  }

  start(id: ResourceId): void {
    this.states.set(id, 'starting');
    void this.enqueue(id, async () => {
      const r = this.primitive(id);
      const agent = r && this.agentFor(r);
      if (!r || !agent) {
        this.record(id, 'start', 0, { status: 'errorFatal', reason: r ? `no adapter for kind ${r.kind} on this agent` : 'not a primitive resource' }, 0);
        this.states.set(id, 'failed');
        this.opts.report({ type: 'resourceFailed', resource: id });
        return;
      }
      const res = await this.timed(id, 'start', 0, () => agent.start(r, { timeoutMs: this.op(r, 'start')?.timeoutMs ?? DEFAULT_TIMEOUT_MS }));
      if (this.closed) return;
      if (res.status === 'ok') {
        this.states.set(id, 'started');
        this.opts.metrics.resourceUp.set({ resource: id }, 1);
        this.opts.report({ type: 'resourceStarted', resource: id });
        this.scheduleMonitor(id);
        return;
      }
      await this.recoverFailed(id, r, agent);
    });
  }

  stop(id: ResourceId): void {
    this.states.set(id, 'stopping');
    this.cancelMonitor(id);
    void this.enqueue(id, async () => {
      const r = this.primitive(id);
      const agent = r && this.agentFor(r);
      if (!r || !agent) {
        // nothing this agent can run can be running
        this.states.set(id, 'stopped');
        this.opts.report({ type: 'resourceStopped', resource: id });
        return;
      }
      const stopped = await this.stopUntilConfirmed(id, r, agent);
      if (!stopped || this.closed) return;
      this.states.set(id, 'stopped');
      this.opts.metrics.resourceUp.set({ resource: id }, 0);
      this.opts.report({ type: 'resourceStopped', resource: id });
    });
  }

  /** After a failed start or monitor: stop, then report the failure (the core may start it again). */
  private async recoverFailed(id: ResourceId, r: PrimitiveResource, agent: ResourceAgent): Promise<void> {
    this.cancelMonitor(id);
    this.opts.metrics.resourceUp.set({ resource: id }, 0);
    const stopped = await this.stopUntilConfirmed(id, r, agent);
    if (!stopped || this.closed) return;
    this.states.set(id, 'failed');
    this.opts.report({ type: 'resourceFailed', resource: id });
  }

  private async stopUntilConfirmed(id: ResourceId, r: PrimitiveResource, agent: ResourceAgent): Promise<boolean> {
    for (let attempt = 0; !this.closed; attempt++) {
      const res = await this.timed(id, 'stop', 0, () => agent.stop(r, { timeoutMs: this.op(r, 'stop')?.timeoutMs ?? DEFAULT_TIMEOUT_MS }));
      if (res.status === 'ok') return true;
      const wait = STOP_RETRY_MS[Math.min(attempt, STOP_RETRY_MS.length - 1)]!;
      this.log.error({ resource: id, status: res.status, reason: res.reason, retryInMs: wait }, 'stop failed: the resource may still run here; retrying (it is not reported stopped)');
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return false;
  }

  private scheduleMonitor(id: ResourceId): void {
    this.cancelMonitor(id);
    const r = this.primitive(id);
    if (!r || this.closed) return;
    const mon = r.operations.find((o) => o.name === 'monitor' && o.intervalMs > 0);
    if (!mon) return;
    const timer = setTimeout(() => {
      this.monitors.delete(id);
      void this.enqueue(id, async () => {
        if (this.states.get(id) !== 'started' || this.closed) return;
        const agent = this.agentFor(r);
        if (!agent) return;
        const res = await this.timed(id, 'monitor', mon.intervalMs, () => agent.monitor(r, { timeoutMs: mon.timeoutMs }));
        if (this.states.get(id) !== 'started' || this.closed) return;
        if (res.status === 'ok' && res.running) {
          this.scheduleMonitor(id);
          return;
        }
        if (res.status === 'ok') this.record(id, 'monitor', mon.intervalMs, { status: 'error', reason: `not running (${res.state})` }, 0);
        this.log.warn({ resource: id, state: res.state, status: res.status, reason: res.reason }, 'monitor failed: recovering');
        await this.recoverFailed(id, r, agent);
      });
    }, mon.intervalMs);
    timer.unref();
    this.monitors.set(id, timer);
  }

  private cancelMonitor(id: ResourceId): void {
    const t = this.monitors.get(id);
    if (t) clearTimeout(t);
    this.monitors.delete(id);
  }

  private async timed<T extends ActionResult>(id: ResourceId, operation: OperationName, intervalMs: number, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    let res: T;
    try {
      res = await fn();
    } catch (e) {
      res = { status: 'error', reason: e instanceof Error ? e.message : String(e), state: 'failed', running: false } as unknown as T;
    }
    const ms = Math.round(performance.now() - t0);
    this.lastActivity = performance.now();
    this.opts.metrics.resourceActions.inc({ operation, status: res.status });
    if (res.status !== 'ok') this.record(id, operation, intervalMs, res, ms);
    else if (operation !== 'monitor') this.log.info({ resource: id, operation, ms, reason: res.reason }, `${operation} ok`);
    return res;
  }

  private record(id: ResourceId, operation: OperationName, intervalMs: number, res: ActionResult, durationMs: number): void {
    this.log.warn({ resource: id, operation, status: res.status, exitCode: res.exitCode, reason: res.reason }, `${operation} failed`);
    this.failedActions.push({
      resource: id, operation, intervalMs, node: this.opts.node, status: res.status, exitCode: res.exitCode ?? -1,
      reason: res.reason ?? '', timeUnixMs: Date.now(), durationMs,
    });
    if (this.failedActions.length > FAILED_ACTIONS_KEPT) this.failedActions.shift();
  }

  /** `tsha resource cleanup`: forget this node's failed actions of a resource. */
  clearFailures(id: ResourceId): void {
    for (let i = this.failedActions.length - 1; i >= 0; i--) if (this.failedActions[i]!.resource === id) this.failedActions.splice(i, 1);
  }

  /** Stop monitors and wait for operations in flight; resources keep running (re-adopted next start). */
  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.monitors.keys()]) this.cancelMonitor(id);
    await Promise.race([Promise.all([...this.chains.values()]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
