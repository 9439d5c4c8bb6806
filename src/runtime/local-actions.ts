// The local-actions port as this node carries it out: every `execute` effect of the core (one plan
// action of this node, src/core/cluster/execution.ts decides when) goes to the resource agent of the
// resource's kind, and its outcome goes back to the core as one `actionResult`. Recurring monitors
// run here too: started by a monitor action (its first check is the action's result), by a start
// or a role change, and for what the startup probe found running; a monitor reports only a change
// of the resource's health (`monitored`), never acts on it: recovery is the scheduler's, by the
// resource's on-fail policy.
//
// Rules kept here:
// - One operation at a time per resource (an action that arrives while another runs waits for it),
//   and at most `maxConcurrent` operations at a time on the node (Pacemaker's node-action-limit,
//   2 × the CPUs by default): a transition that starts dozens of units at once would otherwise
//   take the machine's CPU in one burst, long enough for the agent to miss its heartbeats and get
//   its node fenced. Recurring monitor checks take a slot too.
// - Every `execute` is answered exactly once, whatever the adapter does (a rejection is an error).
//   A cancelled action (its timeout passed in the core) is still answered; the core ignores it.
// - A stop ends the resource's recurring monitor before it runs.
// - Probes (re-adoption at start) only read: a resource found running is kept, never restarted.
// - Storage (a Ceph RBD image, a DRBD resource; src/ports/storage.ts) goes with the primitive that
//   holds it: the takeover steps from a lost node are plan actions of their own (storage_blocklist,
//   storage_break_lock, storage_outdate_peer), the storage is acquired right before the holder's
//   start (promote, in a promotable clone) and released right after its stop (demote), in the same
//   operation: a storage that cannot be acquired fails the start, one that cannot be released
//   fails the stop (whose on-fail policy fences by default). What the storage looks like is read
//   every few seconds while `tsha status` asks for it.

import { availableParallelism } from 'node:os';
import type { CloneResource, CompiledConfig, NodeName, Operation, OperationName, PrimitiveResource, ResourceId, ResourceKind } from '../config/types.js';
import type { ActiveRole } from '../core/cluster/commands.js';
import type { ActionResult, PlanAction } from '../core/scheduler/types.js';
import type { Logger } from '../observability/logger.js';
import type { AgentMetrics } from '../observability/metrics.js';
import type { MonitorResult, ResourceAgent, ResourceRef } from '../ports/resource-agent.js';
import type { StorageDriver, StorageType, StorageView, TakeoverStep } from '../ports/storage.js';
import { storageName } from '../ports/storage.js';
import { DEFAULT_OPERATION_TIMEOUT_MS, primitiveOf } from '../config/types.js';

export interface FailedAction {
  resource: ResourceId;
  operation: OperationName | string;
  intervalMs: number;
  node: NodeName;
  status: ActionResult['status'];
  exitCode: number;
  reason: string;
  /** wall-clock time, for display only */
  timeUnixMs: number;
  durationMs: number;
}

/** What the core hears from here, besides action results. */
export interface MonitorChange {
  resource: ResourceId;
  intervalMs: number;
  result: ActionResult;
  running: boolean;
  promoted: boolean;
}

const FAILED_ACTIONS_KEPT = 50;
/** How often the storage views of `tsha status` are read again, while someone asks for them. */
const STORAGE_VIEW_INTERVAL_MS = 5000;
/** The storage views stop being read this long after the last status asked for them (a ceph CLI call each costs a few hundred ms of CPU). */
const STORAGE_VIEW_IDLE_MS = 60_000;

/** What the storage of one resource looked like from this node, and when it was read. */
export interface StorageReading {
  resource: ResourceId;
  view: StorageView;
  readAtUnixMs: number;
}

export interface LocalActionsOptions {
  node: NodeName;
  config: () => CompiledConfig;
  agents: ReadonlyMap<ResourceKind, ResourceAgent>;
  /** one driver per storage type this build takes over */
  storage: ReadonlyMap<StorageType, StorageDriver>;
  logger: Logger;
  metrics: AgentMetrics;
  /** hands an action's outcome to the core's step queue */
  result: (transition: number, actionId: number, result: ActionResult) => void;
  /** hands a resource a probe found running here, not held here, to the core's step queue */
  found: (f: { resource: ResourceId; role: 'started' | 'promoted' }) => void;
  /** hands a monitor's change to the core's step queue */
  monitored: (change: MonitorChange) => void;
  /** operations at a time on this node (default: 2 × the CPUs, at least 4) */
  maxConcurrent?: number;
}

/** A counting semaphore: at most `limit` jobs run at once, the others wait in order. */
class Slots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.running++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes on
      else this.running--;
    }
  }
}

interface Monitor {
  timer: NodeJS.Timeout | null;
  op: Operation;
  /** the role the resource should have (a promoted one's monitor expects it promoted) */
  promoted: boolean;
  /** what was last reported: healthy, or not */
  healthy: boolean;
}

export class LocalActions {
  private readonly chains = new Map<ResourceId, Promise<void>>();
  private readonly monitors = new Map<ResourceId, Monitor>();
  readonly failedActions: FailedAction[] = [];
  private closed = false;
  private readonly log: Logger;
  private readonly slots: Slots;
  private readonly storageReadings = new Map<ResourceId, StorageReading>();
  private storageTimer: NodeJS.Timeout | null = null;
  private storageAskedAt = 0;
  /** when each resource not running here is probed next (performance.now) */
  private readonly strayDue = new Map<ResourceId, number>();

  constructor(private readonly opts: LocalActionsOptions) {
    this.log = opts.logger.child({ component: 'resources', node: opts.node });
    this.slots = new Slots(opts.maxConcurrent ?? Math.max(4, 2 * availableParallelism()));
  }

  /** The primitive an instance id stands for ("web", or "drbd:1" of the clone child "drbd"). */
  primitive(id: ResourceId): PrimitiveResource | null {
    const resources = this.opts.config().resources;
    const r = resources[id] ?? resources[primitiveOf(id)];
    return r && r.type === 'primitive' ? r : null;
  }

  /** What an agent is told of a resource: its params and, for a clone's child, the clone's shape (OCF agents read it). */
  private ref(id: ResourceId, r: PrimitiveResource): ResourceRef {
    const ref: ResourceRef = { id, kind: r.kind, params: r.params };
    const clone = this.cloneOf(r);
    if (clone) ref.clone = { max: clone.max, maxPerNode: clone.maxPerNode, promotable: clone.promotable, promotedMax: clone.promotedMax, promotedMaxPerNode: clone.promotedMaxPerNode };
    return ref;
  }

  /** The clone a primitive is the child of, directly or as a member of the cloned group. */
  private cloneOf(r: PrimitiveResource): CloneResource | null {
    const resources = this.opts.config().resources;
    for (const c of Object.values(resources)) {
      if (c.type !== 'clone') continue;
      const child = resources[c.child];
      if (c.child === r.id || (child?.type === 'group' && child.members.includes(r.id))) return c;
    }
    return null;
  }

  private timeout(r: PrimitiveResource, name: OperationName): number {
    return r.operations.find((o) => o.name === name && o.intervalMs === 0)?.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  }

  /** Serialize operations of one resource. */
  private enqueue<T>(id: ResourceId, job: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(id) ?? Promise.resolve();
    const run = prev.then(job, job);
    this.chains.set(id, run.then(() => undefined, () => undefined));
    return run;
  }

  /** Carry out one action of this node; the outcome goes to the core exactly once. */
  execute(transition: number, action: PlanAction): void {
    const id = action.resource;
    const answer = (result: ActionResult): void => {
      if (this.closed) return;
      this.opts.result(transition, action.id, result);
    };
    if (id === null) {
      answer({ status: 'errorFatal', reason: `${action.key}: not an action of this node` });
      return;
    }
    void this.enqueue(id, () => this.slots.run(() => this.carryOut(transition, action, id))).then(answer, (e: unknown) => {
      this.log.error({ action: action.key, err: e }, 'resource operation threw (a bug)');
      answer({ status: 'error', reason: e instanceof Error ? e.message : String(e) });
    });
  }

  /**
   * One plan action, logged once when it ended, with its transition and id and when it began and
   * ended on the machine's monotonic clock in epoch milliseconds (performance.timeOrigin +
   * performance.now(), comparable between the agents of one machine). The per-operation lines do
   * not say which transition an operation belonged to, and a monitor action that succeeded has no
   * line of its own; with this one a transition can be followed action by action in the logs
   * (test/agent/golden-replay.test.ts compares it with the golden plans).
   */
  private async carryOut(transition: number, a: PlanAction, id: ResourceId): Promise<ActionResult> {
    const beganAt = monotonicEpochMs();
    const result = await this.run(a, id);
    this.log.info({ transition, action: a.id, key: a.key, status: result.status, beganAt, endedAt: monotonicEpochMs() }, 'plan action done');
    return result;
  }

  private async run(a: PlanAction, id: ResourceId): Promise<ActionResult> {
    const r = this.primitive(id);
    if (!r) return this.record(a, id, { status: 'errorFatal', reason: `${id} is not a primitive resource of the configuration` }, 0);
    if (a.type === 'storage_blocklist' || a.type === 'storage_break_lock' || a.type === 'storage_outdate_peer') return this.takeOver(a, id, r);
    const agent = this.opts.agents.get(r.kind);
    if (!agent) return this.record(a, id, { status: 'notInstalled', reason: `no resource agent for kind "${r.kind}" on this node (resources.${r.id}.kind)` }, 0);
    const ref = this.ref(id, r);
    // the storage goes with the start and stop of its holder, or with the promote and demote of a promotable one
    const storageWith = r.storage ? (this.cloneOf(r)?.promotable ? { acquire: 'promote', release: 'demote' } : { acquire: 'start', release: 'stop' }) : null;
    switch (a.type) {
      case 'start': {
        const res = await this.timed(a, id, r.kind, async () => {
          if (storageWith?.acquire === 'start') {
            const got = await this.storageStep(a, id, r, 'acquire');
            if (got.status !== 'ok') return got;
          }
          return agent.start(ref, { timeoutMs: a.timeoutMs });
        });
        if (res.status === 'ok') this.watch(id, r, false);
        return res;
      }
      case 'stop':
        this.unwatch(id);
        return this.timed(a, id, r.kind, async () => {
          const res = await agent.stop(ref, { timeoutMs: a.timeoutMs });
          if (res.status !== 'ok' || storageWith?.release !== 'stop') return res;
          return this.storageStep(a, id, r, 'release');
        });
      case 'promote':
      case 'demote': {
        const op = hasRoles(agent, ref) ? (a.type === 'promote' ? agent.promote : agent.demote) : undefined;
        if (!op && !storageWith) return this.record(a, id, { status: 'errorHard', reason: `a ${r.kind} resource has no ${a.type} (it cannot be in a promotable clone)` }, 0);
        const res = await this.timed(a, id, r.kind, async () => {
          if (a.type === 'promote' && storageWith?.acquire === 'promote') {
            const got = await this.storageStep(a, id, r, 'acquire');
            if (got.status !== 'ok' || !op) return got;
          }
          const done = op ? await op.call(agent, ref, { timeoutMs: a.timeoutMs }) : { status: 'ok' as const };
          if (a.type === 'demote' && done.status === 'ok' && storageWith?.release === 'demote') return this.storageStep(a, id, r, 'release');
          return done;
        });
        this.watch(id, r, a.type === 'promote' && res.status === 'ok');
        return res;
      }
      case 'monitor': {
        const expectPromoted = this.monitors.get(id)?.promoted ?? false;
        const m = await this.checkWithStorage(agent, ref, r, a.timeoutMs, a.intervalMs ?? 0);
        const res = verdict(m, expectPromoted);
        if (res.status !== 'ok') this.record(a, id, res, 0);
        this.watch(id, r, expectPromoted, a.intervalMs);
        return res;
      }
      default:
        return this.record(a, id, { status: 'errorHard', reason: `${a.type}: a ${r.kind} resource cannot live-migrate` }, 0);
    }
  }

  private async check(agent: ResourceAgent, ref: ResourceRef, timeoutMs: number, intervalMs: number): Promise<MonitorResult> {
    try {
      return await agent.monitor(ref, { timeoutMs, intervalMs });
    } catch (e) {
      return { status: 'error', state: 'failed', running: false, reason: e instanceof Error ? e.message : String(e) };
    }
  }

  /**
   * A check, with the role read from the storage when the resource's agent has none of its own (a
   * DRBD resource in a promotable clone run by a plain unit: Primary here is promoted).
   */
  private async checkWithStorage(agent: ResourceAgent, ref: ResourceRef, r: PrimitiveResource, timeoutMs: number, intervalMs: number, probe = false): Promise<MonitorResult> {
    const m = probe ? await agent.probe(ref, { timeoutMs, intervalMs }) : await this.check(agent, ref, timeoutMs, intervalMs);
    if (!r.storage || hasRoles(agent, ref) || m.status !== 'ok' || !m.running || !this.cloneOf(r)?.promotable) return m;
    const driver = this.opts.storage.get(r.storage.type);
    if (!driver) return m;
    const view = await driver.inspect(r.storage, { timeoutMs });
    this.keepReading(ref.id, view);
    if (view.error) return { status: 'error', state: 'failed', running: true, reason: `storage ${storageName(r.storage)}: ${view.error}` };
    return { ...m, role: storageRole(view) };
  }

  // ---- storage --------------------------------------------------------------------------------------

  /** A takeover step from a lost node: a plan action of its own, on the node that takes the storage over. */
  private async takeOver(a: PlanAction, id: ResourceId, r: PrimitiveResource): Promise<ActionResult> {
    const step = a.type.slice('storage_'.length) as TakeoverStep;
    if (!r.storage) return this.record(a, id, { status: 'errorFatal', reason: `${a.type}: resources.${r.id} holds no storage` }, 0);
    if (!a.target) return this.record(a, id, { status: 'errorFatal', reason: `${a.key}: the plan names no lost node` }, 0);
    const driver = this.opts.storage.get(r.storage.type);
    if (!driver) return this.record(a, id, { status: 'notInstalled', reason: `${a.type}: no ${r.storage.type} storage driver on this node` }, 0);
    const spec = r.storage;
    const lost = a.target;
    return this.storageTimed(a, id, r, step, () => driver.takeOver(spec, step, { lost, timeoutMs: a.timeoutMs }));
  }

  /** Acquire or release the storage of a resource, inside its start/stop (promote/demote). */
  private storageStep(a: PlanAction, id: ResourceId, r: PrimitiveResource, step: 'acquire' | 'release'): Promise<ActionResult> {
    const spec = r.storage!;
    const driver = this.opts.storage.get(spec.type);
    if (!driver) return Promise.resolve({ status: 'notInstalled', reason: `${step} ${storageName(spec)}: no ${spec.type} storage driver on this node` });
    return this.storageTimed(a, id, r, step, () => driver[step](spec, { timeoutMs: a.timeoutMs }), false);
  }

  private async storageTimed(a: PlanAction, id: ResourceId, r: PrimitiveResource, step: TakeoverStep | 'acquire' | 'release', fn: () => Promise<ActionResult>, own = true): Promise<ActionResult> {
    const spec = r.storage!;
    const t0 = performance.now();
    let res: ActionResult;
    try {
      res = await fn();
    } catch (e) {
      res = { status: 'error', reason: e instanceof Error ? e.message : String(e) };
    }
    const ms = Math.round(performance.now() - t0);
    this.opts.metrics.storageSteps.inc({ type: spec.type, step, status: res.status });
    this.opts.metrics.storageStepDuration.observe({ type: spec.type, step }, ms / 1000);
    const fields = { resource: id, storage: storageName(spec), type: spec.type, step, ms, ...(a.target ? { lost: a.target } : {}), status: res.status, reason: res.reason };
    if (res.status === 'ok') this.log.info(fields, `storage ${step} ok`);
    else if (own) this.record(a, id, res, ms);
    else this.log.warn(fields, `storage ${step} failed`);
    if (res.status !== 'ok' && !own) res = { ...res, reason: `storage ${storageName(spec)} ${step}: ${res.reason ?? res.status}` };
    this.refreshStorage(id, r);
    return res;
  }

  /** Read one resource's storage again (after a step of it), in the background. */
  private refreshStorage(id: ResourceId, r: PrimitiveResource): void {
    const spec = r.storage;
    const driver = spec && this.opts.storage.get(spec.type);
    if (!spec || !driver || this.closed) return;
    void driver.inspect(spec, { timeoutMs: 5000 }).then((v) => this.keepReading(id, v), () => undefined);
  }

  private keepReading(id: ResourceId, view: StorageView): void {
    this.storageReadings.set(primitiveOf(id), { resource: primitiveOf(id), view, readAtUnixMs: Date.now() });
  }

  /** What each storage resource looked like from here when last read (for `tsha status`), in id order. */
  storageViews(): StorageReading[] {
    this.storageAskedAt = performance.now();
    this.armStorageViews();
    const ids = new Set(Object.values(this.opts.config().resources).filter((r) => r.type === 'primitive' && r.storage).map((r) => r.id));
    for (const id of this.storageReadings.keys()) if (!ids.has(id)) this.storageReadings.delete(id);
    return [...this.storageReadings.values()].sort((a, b) => (a.resource < b.resource ? -1 : 1));
  }

  /** The failure series of each storage type the configuration holds, at 0 (alert rules read their increase). */
  initStorageMetrics(): void {
    for (const r of Object.values(this.opts.config().resources)) if (r.type === 'primitive' && r.storage) this.opts.metrics.initStorageSteps(r.storage.type);
  }

  /** Storage views are read every few seconds while someone asks for them (at once the first time), not when nobody has for a minute. */
  private armStorageViews(): void {
    if (this.storageTimer || this.closed) return;
    const tick = async (): Promise<void> => {
      const rs = Object.values(this.opts.config().resources).filter((r): r is PrimitiveResource => r.type === 'primitive' && r.storage !== null);
      await Promise.all(rs.map(async (r) => {
        const driver = this.opts.storage.get(r.storage!.type);
        if (!driver) return;
        try {
          this.keepReading(r.id, await driver.inspect(r.storage!, { timeoutMs: STORAGE_VIEW_INTERVAL_MS }));
        } catch (e) {
          this.log.warn({ resource: r.id, err: e instanceof Error ? e.message : String(e) }, 'storage view not read (a bug in its driver)');
        }
      }));
      if (this.closed || performance.now() - this.storageAskedAt > STORAGE_VIEW_IDLE_MS) {
        this.storageTimer = null;
        return;
      }
      this.storageTimer = setTimeout(() => void tick(), STORAGE_VIEW_INTERVAL_MS);
      this.storageTimer.unref();
    };
    this.storageTimer = setTimeout(() => void tick(), 0);
    this.storageTimer.unref();
  }

  /**
   * Probe every configured primitive (one-shot, read-only): what runs here, in which role. A clone
   * child is reported by its own id (the coordinator gives it an instance number).
   */
  async probeAll(): Promise<{ resource: ResourceId; role: ActiveRole }[]> {
    const found: { resource: ResourceId; role: ActiveRole }[] = [];
    const ids = Object.keys(this.opts.config().resources).sort();
    await Promise.all(ids.map(async (id) => {
      const r = this.primitive(id);
      if (!r || r.id !== id) return;
      const agent = this.opts.agents.get(r.kind);
      if (!agent) return;
      let res: MonitorResult;
      try {
        res = await this.checkWithStorage(agent, this.ref(id, r), r, r.operations.find((o) => o.name === 'monitor')?.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS, 0, true);
      } catch (e) {
        res = { status: 'error', state: 'failed', running: false, reason: e instanceof Error ? e.message : String(e) };
      }
      this.log.info({ resource: id, state: res.state, running: res.running, role: res.role, status: res.status, mainPid: res.mainPid }, 'probe');
      if (!res.running) return;
      const promoted = res.role === 'promoted';
      found.push({ resource: id, role: promoted ? 'promoted' : 'started' });
      this.watch(id, r, promoted);
    }));
    return found.sort((a, b) => (a.resource < b.resource ? -1 : 1));
  }

  /**
   * Probes of the resources this node does not run, at each one's monitor interval (like a
   * Pacemaker monitor with role=Stopped, on by default): a copy started by hand, or left running
   * by a stop that did not stop, is found and reported to the core (`found`), which holds it, so
   * the coordinator resolves it by the resource's multiple-active policy. A resource runs here
   * when it has a recurring monitor here (a start, promote, demote or monitor action, or the
   * startup probe, set one up); its operations and this probe take turns (one at a time per
   * resource). Clone children are left out: an instance found by hand is not told from a spare
   * one. A resource without a recurring monitor is only probed when the agent starts. Called
   * by the agent's housekeeping timer (every 2 s), so a probe comes at most that much late.
   */
  sweepStrayProbes(): void {
    if (this.closed) return;
    const now = performance.now();
    const config = this.opts.config();
    for (const id of Object.keys(config.resources).sort()) {
      const r = this.primitive(id);
      const interval = r?.operations.find((o) => o.name === 'monitor' && o.intervalMs > 0 && o.role === undefined)?.intervalMs;
      if (!r || r.id !== id || interval === undefined || this.cloneOf(r) || this.monitors.has(id)) {
        this.strayDue.delete(id);
        continue;
      }
      const due = this.strayDue.get(id);
      if (due === undefined) {
        this.strayDue.set(id, now + interval);
        continue;
      }
      if (now < due) continue;
      this.strayDue.set(id, now + interval);
      void this.enqueue(id, () => this.probeStray(id));
    }
  }

  private async probeStray(id: ResourceId): Promise<void> {
    if (this.closed || this.monitors.has(id)) return;
    const r = this.primitive(id);
    const agent = r && this.opts.agents.get(r.kind);
    if (!r || !agent) return;
    const timeoutMs = r.operations.find((o) => o.name === 'monitor')?.timeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    let res: MonitorResult;
    try {
      res = await this.slots.run(() => this.checkWithStorage(agent, this.ref(id, r), r, timeoutMs, 0, true));
    } catch (e) {
      res = { status: 'error', state: 'failed', running: false, reason: e instanceof Error ? e.message : String(e) };
    }
    // an operation of the plan may have set up a monitor meanwhile: then it speaks for the resource
    if (this.closed || this.monitors.has(id) || !res.running) return;
    const promoted = res.role === 'promoted';
    this.log.warn({ resource: id, state: res.state, role: res.role }, 'probe: running here although the cluster does not run it here; reporting it (its multiple-active policy resolves it)');
    this.watch(id, r, promoted);
    this.opts.found({ resource: id, role: promoted ? 'promoted' : 'started' });
  }

  /** A clone instance found running under its child's id got its instance number: monitor it under that. */
  renamed(from: ResourceId, to: ResourceId): void {
    const m = this.monitors.get(from);
    if (!m) return;
    this.unwatch(from);
    const r = this.primitive(to);
    if (!r) return;
    this.watch(to, r, m.promoted);
    const moved = this.monitors.get(to);
    if (moved) moved.healthy = m.healthy; // a failure it reported is not reported again
  }

  // ---- recurring monitors -------------------------------------------------------------------------

  /** The recurring monitor of a resource here (in its role): (re)started with its first check one interval away. */
  private watch(id: ResourceId, r: PrimitiveResource, promoted: boolean, intervalMs?: number): void {
    if (this.closed) return;
    const role = promoted ? 'promoted' : 'unpromoted';
    const monitors = r.operations.filter((o) => o.name === 'monitor' && o.intervalMs > 0);
    const op = monitors.find((o) => o.intervalMs === intervalMs) ?? monitors.find((o) => o.role === role) ?? monitors.find((o) => o.role === undefined);
    const prev = this.monitors.get(id);
    if (prev?.timer) clearTimeout(prev.timer);
    if (!op) {
      this.monitors.delete(id);
      return;
    }
    const m: Monitor = { timer: null, op, promoted, healthy: prev?.healthy ?? true };
    this.monitors.set(id, m);
    this.arm(id, m);
  }

  private unwatch(id: ResourceId): void {
    const m = this.monitors.get(id);
    if (m?.timer) clearTimeout(m.timer);
    this.monitors.delete(id);
  }

  private arm(id: ResourceId, m: Monitor): void {
    m.timer = setTimeout(() => {
      m.timer = null;
      void this.enqueue(id, async () => {
        if (this.closed || this.monitors.get(id) !== m) return;
        const r = this.primitive(id);
        const agent = r && this.opts.agents.get(r.kind);
        if (!r || !agent) return;
        const t0 = performance.now();
        const res = await this.slots.run(() => this.checkWithStorage(agent, this.ref(id, r), r, m.op.timeoutMs, m.op.intervalMs));
        if (this.closed || this.monitors.get(id) !== m) return;
        this.opts.metrics.resourceActions.inc({ kind: r.kind, operation: 'monitor', status: res.status });
        const v = verdict(res, m.promoted);
        const healthy = v.status === 'ok';
        if (healthy !== m.healthy) {
          m.healthy = healthy;
          if (!healthy) {
            this.record({ type: 'monitor', intervalMs: m.op.intervalMs }, id, v, Math.round(performance.now() - t0));
            this.log.warn({ resource: id, state: res.state, status: res.status, reason: v.reason }, 'monitor: the resource failed; reporting it (recovery follows the on-fail policy)');
          } else {
            this.log.info({ resource: id }, 'monitor: the resource runs again');
          }
          this.opts.monitored({ resource: id, intervalMs: m.op.intervalMs, result: v, running: res.running, promoted: res.role === 'promoted' });
        }
        this.arm(id, m);
      });
    }, m.op.intervalMs);
    m.timer.unref();
  }

  // ---- bookkeeping --------------------------------------------------------------------------------

  private async timed(a: PlanAction, id: ResourceId, kind: string, fn: () => Promise<ActionResult>): Promise<ActionResult> {
    const t0 = performance.now();
    let res: ActionResult;
    try {
      res = await fn();
    } catch (e) {
      res = { status: 'error', reason: e instanceof Error ? e.message : String(e) };
    }
    const ms = Math.round(performance.now() - t0);
    this.opts.metrics.resourceActions.inc({ kind, operation: a.type, status: res.status });
    this.opts.metrics.resourceActionDuration.observe({ kind, operation: a.type }, ms / 1000);
    if (res.status !== 'ok') this.record(a, id, res, ms);
    else this.log.info({ resource: id, operation: a.type, ms, reason: res.reason }, `${a.type} ok`);
    return res;
  }

  private record(a: { type: string; intervalMs?: number }, id: ResourceId, res: ActionResult, durationMs: number): ActionResult {
    this.log.warn({ resource: id, operation: a.type, status: res.status, exitCode: res.exitCode, reason: res.reason }, `${a.type} failed`);
    this.failedActions.push({
      resource: id, operation: a.type, intervalMs: a.intervalMs ?? 0, node: this.opts.node, status: res.status, exitCode: res.exitCode ?? -1,
      reason: res.reason ?? '', timeUnixMs: Date.now(), durationMs,
    });
    if (this.failedActions.length > FAILED_ACTIONS_KEPT) this.failedActions.shift();
    return res;
  }

  /** `tsha resource cleanup`: forget this node's failed actions of a resource (or of all its instances). */
  clearFailures(id: ResourceId): void {
    for (let i = this.failedActions.length - 1; i >= 0; i--) {
      const r = this.failedActions[i]!.resource;
      if (r === id || primitiveOf(r) === id) this.failedActions.splice(i, 1);
    }
  }

  /** Stop monitors and wait for operations in flight; resources keep running (re-adopted next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.storageTimer) clearTimeout(this.storageTimer);
    for (const id of [...this.monitors.keys()]) this.unwatch(id);
    await Promise.race([Promise.all([...this.chains.values()]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

/** Now on the monotonic clock, as epoch milliseconds (the clock's origin is the process's start on the wall clock). */
function monotonicEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The resource has roles of its own (its agent promotes and demotes it), else its storage gives it its role. */
function hasRoles(agent: ResourceAgent, ref: ResourceRef): boolean {
  return agent.promote !== undefined && (agent.hasRoles?.(ref) ?? true);
}

/** The role a storage view gives a promotable resource: Primary here is promoted. */
function storageRole(v: StorageView): 'promoted' | 'unpromoted' {
  return v.type === 'drbd' ? (v.role === 'Primary' ? 'promoted' : 'unpromoted') : v.holders.some((h) => h.local) ? 'promoted' : 'unpromoted';
}

/** A monitor's reading as an action outcome: ok only when the resource runs (in the role expected). */
function verdict(m: MonitorResult, expectPromoted: boolean): ActionResult {
  const base = { ...(m.exitCode !== undefined ? { exitCode: m.exitCode } : {}) };
  if (m.status !== 'ok') return { status: m.status, ...base, reason: m.reason ?? m.state };
  if (!m.running) return { status: 'error', ...base, reason: `not running (${m.state})` };
  if (expectPromoted && m.role !== 'promoted') return { status: 'error', ...base, reason: 'running, but no longer promoted' };
  return { status: 'ok', ...base };
}
