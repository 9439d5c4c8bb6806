// How running agents reach a golden scenario's scheduler input (test/scenarios/<name>/input.json):
// which agents run, the ClusterState every agent starts from (its state directory's snapshot),
// what each node's probe finds (exec resources whose state is a file per node), which operations
// are made to fail, and the snapshot the coordinator is then expected to schedule.
//
//   online node      its agent runs; its probe finds what the scenario observes there
//   offline node     no agent, nothing in the record: after the failure timeout it is lost and runs
//                    nothing, so the coordinator sees it offline (its observations are dropped: the
//                    scheduler ignores an offline node's observations anyway)
//   unclean node     no agent, the record says what it runs: lost while it may run something, so it
//                    must be fenced (the test fence agents confirm after a delay, so the coordinator
//                    plans with the node still unclean, as the scenario has it)
//   unclean, fenced  the record holds its confirmed fence (down, cause fenced): the scheduler treats
//                    an unclean node that is fenced as offline, and the runtime shows it so
//   failed resource  the probe finds it running and its next monitor fails (the monitor interval of
//                    that resource is made short, so the failure is counted before the first plan);
//                    a failed start or stop is reached by a first transition whose start or stop
//                    fails (the prelude), the scenario's plan being the next one
//   failures, bans, standby, maintenance, overrides, the cluster time: in the record as they are
//
// Everything here is pure; test/agent/golden-replay/cluster.ts builds the files and processes.

import { INFINITY, type CompiledConfig, type NodeName, type ResourceId, type TargetRole } from '../../../src/config/types.js';
import type { ActiveRole } from '../../../src/core/cluster/commands.js';
import { initialClusterState, type ClusterState } from '../../../src/core/cluster/state-machine.js';
import { baseId, isPromotable } from '../../../src/core/scheduler/apply-results.js';
import { schedule } from '../../../src/core/scheduler/schedule.js';
import { injectNodeFailures, type SimulateOptions } from '../../../src/core/scheduler/simulate.js';
import type { Plan, SchedulerInput } from '../../../src/core/scheduler/types.js';
import type { ClusterSnapshot, FailureRecord, ResourceObservation } from '../../../src/core/snapshot.js';

/** The monitor interval of a resource whose monitor is made to fail: its first check comes before the first plan. */
export const FAILING_MONITOR_INTERVAL_MS = 200;

/** A resource state file: what the exec resource `key` is on `node` (the file is absent when stopped). */
export interface ResourceFile {
  node: NodeName;
  /** file name: the instance id, or the clone child's id when a node runs at most one instance of it */
  key: string;
  state: 'started' | 'promoted';
}

/** An operation of an exec resource on a node that fails with `exitCode` (OCF codes). */
export interface Injection {
  node: NodeName;
  key: string;
  /** monitor: the probe still finds it running, every later check fails, until a stop */
  operation: 'monitor' | 'start' | 'stop';
  exitCode: number;
}

export interface ReplaySetup {
  name: string;
  /** the scheduler input the replay reaches (a simulated node failure already applied) */
  input: SchedulerInput;
  /** what `tsha simulate` does with it besides (operation failures) */
  simulate: SimulateOptions;
  /** the configuration the agents run (input.config with exec resources' short failing monitors) */
  config: CompiledConfig;
  /** nodes whose agents run */
  running: NodeName[];
  /** the ClusterState every agent starts from */
  record: ClusterState;
  files: ResourceFile[];
  injections: Injection[];
  /** nodes no fence device can power off (every attempt fails) */
  fenceFails: NodeName[];
  /** the plan of the transition before the scenario's (its injected start or stop fails), or null */
  prelude: Plan | null;
  /** what the coordinator is expected to schedule: the input as the runtime can hold it */
  expected: ClusterSnapshot;
  /** a partition without quorum: no coordinator; the lone node's own no-quorum stop is the plan */
  local: boolean;
  /**
   * Why a run may miss the input by timing alone, which nothing in the scenario fixes (a run that
   * did is tried again), or null:
   *   - the plan fences a node that runs an agent, and that node may be the coordinator: it then
   *     resets itself for its own fence action, and the next coordinator plans the rest anew;
   *   - a resource fails on a node in maintenance: the coordinator does not wait for such a node's
   *     report before it plans, so its first plan may come before the failure is counted.
   */
  racy: string | null;
}

export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

const OCF_ERR_GENERIC = 1;
const OCF_ERR_ARGS = 2;
const OCF_ERR_CONFIGURED = 6;

function sortById<T>(items: T[], key: (t: T) => string): T[] {
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * A clone child (or member of a cloned group) that runs at most once per node: its file is keyed by
 * the child's id, since a probe asks for the child and the coordinator numbers the instance found.
 */
export function keyedByChild(config: CompiledConfig, base: ResourceId): boolean {
  for (const r of Object.values(config.resources)) {
    if (r.type !== 'clone') continue;
    const child = config.resources[r.child];
    if (r.child === base || (child?.type === 'group' && child.members.includes(base))) return r.maxPerNode === 1;
  }
  return false;
}

/** The id of a clone's child (or of a member of a cloned group) itself: an instance without its number. */
function isCloneChild(config: CompiledConfig, id: ResourceId): boolean {
  return Object.values(config.resources).some((r) => r.type === 'clone' && (r.child === id || (config.resources[r.child]?.type === 'group' && (config.resources[r.child] as { members: string[] }).members.includes(id))));
}

/** The id a node's probe finds a resource under, and so reports its monitor's failures by: a clone's child by the child's id. */
function probedId(config: CompiledConfig, resource: ResourceId): ResourceId {
  const base = baseId(config, resource);
  return isCloneChild(config, base) ? base : resource;
}

export function fileKey(config: CompiledConfig, resource: ResourceId): string {
  const base = baseId(config, resource);
  return keyedByChild(config, base) ? base : resource;
}

/** The role a running instance has in the record (a running copy of a promotable clone is unpromoted). */
function recordRole(config: CompiledConfig, o: ResourceObservation): ActiveRole {
  if (o.role === 'promoted') return 'promoted';
  if (o.role === 'failed') return 'failed';
  return isPromotable(config, o.resource) ? 'unpromoted' : 'started';
}

/** The OCF exit code that gives a failure of this reach (exec-agent.ts): generic, hard (not here), fatal (nowhere). */
function exitCodeOf(f: { hard?: boolean; fatal?: boolean } | undefined): number {
  return f?.fatal ? OCF_ERR_CONFIGURED : f?.hard ? OCF_ERR_ARGS : OCF_ERR_GENERIC;
}

/** The failures of a failed instance on a node (recorded by the primitive's id or the instance's). */
function failuresOf(snapshot: ClusterSnapshot, config: CompiledConfig, o: ResourceObservation): FailureRecord[] {
  const base = baseId(config, o.resource);
  return snapshot.failures.filter((f) => f.node === o.node && (f.resource === o.resource || f.resource === base));
}

/**
 * The setup that reaches `input` with running agents, or UnreachableError. Checks only what the
 * runtime cannot hold at all; whether the reached input plans like the scenario is the caller's
 * check (the golden plan must come out of `expected` with `config`).
 */
export function reach(name: string, original: SchedulerInput, simulate: SimulateOptions = {}): ReplaySetup {
  const input = simulate.nodeFail?.length ? injectNodeFailures(original, simulate.nodeFail) : structuredClone(original);
  const opts: SimulateOptions = simulate.opFail ? { opFail: simulate.opFail } : {};
  const { snapshot } = input;
  const config = structuredClone(input.config);
  const state = (n: NodeName) => snapshot.nodes.find((x) => x.name === n)?.state ?? 'offline';
  const fenced = new Set(snapshot.fenced);
  const running = snapshot.nodes.filter((n) => n.state === 'online').map((n) => n.name);

  for (const n of snapshot.nodes) {
    const cfg = config.nodes.find((c) => c.name === n.name);
    for (const [k, v] of Object.entries(n.attributes)) {
      if (cfg?.attributes[k] !== v) throw new UnreachableError(`node ${n.name}'s attribute ${k} is set at run time; tsha takes node attributes from the configuration only`);
    }
    if (n.state === 'offline' && fenced.has(n.name)) throw new UnreachableError(`offline node ${n.name} is listed as fenced`);
  }
  for (const o of snapshot.observations) {
    if (!config.resources[baseId(config, o.resource)]) throw new UnreachableError(`${o.resource} on ${o.node} is not configured: agents probe configured resources only`);
  }

  // What compile() gives a stop without fencing (a builder's compiled config may say "fence",
  // which validation refuses without fencing; the scheduler does not fence without fencing either).
  if (!config.fencing.enabled) {
    for (const r of Object.values(config.resources)) {
      if (r.type === 'primitive') for (const op of r.operations) if (op.onFail === 'fence') op.onFail = op.name === 'stop' ? 'block' : op.onFail;
    }
  }

  const record = initialClusterState(config.nodes.map((n) => n.name).sort());
  record.clock = input.now;
  record.standby = snapshot.nodes.filter((n) => n.standby).map((n) => n.name);
  record.maintenance = snapshot.nodes.filter((n) => n.maintenance).map((n) => n.name);
  record.bans = snapshot.bans.map((b) => ({ resource: b.resource, node: b.node, score: b.score, until: null }));
  for (const o of snapshot.overrides) {
    record.overrides[o.resource] = {
      ...(o.targetRole !== undefined ? { targetRole: o.targetRole as TargetRole } : {}),
      ...(o.managed !== undefined ? { managed: o.managed } : {}),
    };
  }
  for (const n of snapshot.nodes) {
    if (n.state === 'unclean' && fenced.has(n.name)) {
      record.down[n.name] = { node: n.name, cause: 'fenced', term: 0, index: 0, at: input.now };
      record.fenceHistory.push(record.down[n.name]!);
    }
  }

  const files: ResourceFile[] = [];
  const injections: Injection[] = [];
  /** failure records the runtime adds itself (the injected failure), and the ones seeded less them */
  const seeded = snapshot.failures.map((f) => ({ ...f }));
  const added: FailureRecord[] = [];
  /** the observations before the prelude (a failed start: not running; a failed stop: running) */
  const pre: ResourceObservation[] = [];
  let preludeAction: { type: 'start' | 'stop'; resource: ResourceId; node: NodeName } | null = null;
  const expectedObs: ResourceObservation[] = [];

  for (const o of snapshot.observations) {
    const st = state(o.node);
    if (o.role === 'stopped') continue;
    if (st === 'offline' || (st === 'unclean' && fenced.has(o.node))) continue; // the scheduler ignores them
    if (isCloneChild(config, o.resource)) {
      // found running by the node's probe (which asks for the child): not in the record; the
      // coordinator gives it the lowest instance number free before it schedules
      if (st !== 'online' || o.role === 'failed') throw new UnreachableError(`${o.resource} on ${o.node}: an instance without a number is only ever a running one an online node's probe found`);
      let k = 0;
      while (snapshot.observations.some((x) => x.resource === `${o.resource}:${k}`)) k++;
      expectedObs.push({ resource: `${o.resource}:${k}`, node: o.node, role: recordRole(config, o) === 'unpromoted' ? 'unpromoted' : o.role });
      files.push({ node: o.node, key: fileKey(config, o.resource), state: o.role === 'promoted' ? 'promoted' : 'started' });
      pre.push(o);
      continue;
    }
    expectedObs.push({ ...o, role: recordRole(config, o) === 'unpromoted' ? 'unpromoted' : o.role });
    if (st === 'unclean') {
      record.active[o.node] = { ...(record.active[o.node] ?? {}), [o.resource]: recordRole(config, o) };
      pre.push(o);
      continue;
    }
    const key = fileKey(config, o.resource);
    if (o.role !== 'failed') {
      files.push({ node: o.node, key, state: o.role === 'promoted' ? 'promoted' : 'started' });
      record.active[o.node] = { ...(record.active[o.node] ?? {}), [o.resource]: recordRole(config, o) };
      pre.push(o);
      continue;
    }
    // failed: by its monitor, or by the prelude's start or stop
    const fs = failuresOf(snapshot, config, o);
    const ops = new Set(fs.map((f) => f.operation));
    const startOrStop = fs.find((f) => f.operation === 'start' || f.operation === 'stop');
    if (ops.size > 1) throw new UnreachableError(`${o.resource} on ${o.node} failed in more than one operation`);
    if (startOrStop) {
      if (preludeAction) throw new UnreachableError('more than one failed start or stop: one prelude transition reaches one');
      if (startOrStop.count !== 1) throw new UnreachableError(`${o.resource} on ${o.node}: ${startOrStop.count} failed ${startOrStop.operation}s: the prelude reaches one`);
      const op = startOrStop.operation as 'start' | 'stop';
      preludeAction = { type: op, resource: o.resource, node: o.node };
      injections.push({ node: o.node, key, operation: op, exitCode: op === 'stop' ? OCF_ERR_GENERIC : exitCodeOf(startOrStop) });
      seeded.find((f) => f.resource === startOrStop.resource && f.node === o.node && f.operation === op)!.count -= 1;
      if (op === 'stop') {
        files.push({ node: o.node, key, state: 'started' });
        record.active[o.node] = { ...(record.active[o.node] ?? {}), [o.resource]: recordRole(config, { ...o, role: 'started' }) };
        pre.push({ ...o, role: isPromotable(config, o.resource) ? 'unpromoted' : 'started' });
      }
      continue;
    }
    const f = fs[0];
    injections.push({ node: o.node, key, operation: 'monitor', exitCode: exitCodeOf(f) });
    files.push({ node: o.node, key, state: 'started' });
    record.active[o.node] = { ...(record.active[o.node] ?? {}), [o.resource]: recordRole(config, { ...o, role: 'started' }) };
    pre.push({ ...o, role: isPromotable(config, o.resource) ? 'unpromoted' : 'started' });
    if (f) {
      seeded.find((x) => x.resource === f.resource && x.node === f.node && x.operation === f.operation)!.count -= 1;
    } else {
      // a failed role always comes with its failure in the runtime: the monitor's is counted
      added.push({ resource: probedId(config, o.resource), node: o.node, operation: 'monitor', count: 1, lastFailureAt: input.now });
    }
    const base = baseId(config, o.resource);
    const def = config.resources[base];
    if (def?.type === 'primitive') {
      for (const op of def.operations) if (op.name === 'monitor') op.intervalMs = FAILING_MONITOR_INTERVAL_MS;
    }
  }

  record.failures = seeded.filter((f) => f.count > 0).map((f) => ({
    resource: f.resource, node: f.node, operation: f.operation, intervalMs: intervalOf(config, f), count: f.count, at: f.lastFailureAt,
    hard: f.hard === true, fatal: f.fatal === true, status: f.fatal ? 'errorFatal' : f.hard ? 'errorHard' : 'error', exitCode: exitCodeOf(f), reason: 'recorded by the golden scenario',
  }));

  const local = !snapshot.quorate;
  if (local) {
    // a partition without quorum is reached by the nodes that run being too few to be quorate
    const votes = (ns: NodeName[]) => ns.reduce((s, n) => s + (config.nodes.find((c) => c.name === n)?.votes ?? 0), 0);
    const total = votes(config.nodes.map((n) => n.name));
    if (config.quorumMode !== 'majority' || 2 * votes(running) > total) {
      throw new UnreachableError(`no quorum with ${running.join(', ')} online: agents that hear each other are quorate`);
    }
    if (snapshot.nodes.some((n) => n.state === 'unclean')) throw new UnreachableError('no quorum with a lost node: without a coordinator nothing tells the lone node that another one is lost');
  }
  if (config.quorumMode === 'two_node' && snapshot.nodes.some((n) => n.state !== 'online')) {
    throw new UnreachableError('two_node with its peer lost: the survivor is quorate only once it fenced the peer, so it never schedules with the peer unclean');
  }
  for (const n of snapshot.nodes) {
    if (n.state === 'unclean' && !fenced.has(n.name) && n.leaseExpiredAt === null && config.fencing.watchdog) {
      throw new UnreachableError(`node ${n.name}'s lease end is unknown: the coordinator always knows when a lost node's lease ended`);
    }
  }

  const fenceFails = (opts.opFail ?? []).filter((f) => f.operation === 'fence').map((f) => f.node);
  for (const f of opts.opFail ?? []) {
    if (f.operation === 'fence') continue;
    if (f.operation !== 'start' && f.operation !== 'stop') throw new UnreachableError(`a simulated ${f.operation} failure`);
    injections.push({ node: f.node, key: fileKey(config, f.resource), operation: f.operation, exitCode: exitCodeOf({ fatal: f.status === 'errorFatal', hard: f.status === 'errorHard' }) });
  }

  const expected: ClusterSnapshot = {
    now: input.now,
    quorate: snapshot.quorate,
    nodes: snapshot.nodes.map((n) => ({
      name: n.name, state: n.state === 'unclean' && fenced.has(n.name) ? 'offline' : n.state, standby: n.standby, maintenance: n.maintenance,
      attributes: { ...(config.nodes.find((c) => c.name === n.name)?.attributes ?? {}) },
      // the coordinator sets it for every unclean node; when is its own business (not compared)
      ...(n.state === 'unclean' && !fenced.has(n.name) ? { leaseExpiredAt: n.leaseExpiredAt ?? input.now } : {}),
    })),
    observations: expectedObs,
    failures: [...snapshot.failures, ...added],
    bans: snapshot.bans.map((b) => ({ ...b, score: Math.max(-INFINITY, Math.min(INFINITY, b.score)) })),
    overrides: sortById(snapshot.overrides, (o) => o.resource),
    fenced: [...fenced].sort(),
    fenceRequests: snapshot.fenceRequests,
  };

  let prelude: Plan | null = null;
  if (preludeAction) {
    const a = preludeAction;
    const before: ClusterSnapshot = { ...structuredClone(expected), observations: pre.map((o) => ({ ...o })), failures: [...seeded.filter((f) => f.count > 0)] };
    prelude = schedule(before, config, input.now);
    if (!prelude.actions.some((x) => x.type === a.type && x.resource === a.resource && x.node === a.node)) {
      throw new UnreachableError(`the prelude plan has no ${a.type} of ${a.resource} on ${a.node} to fail`);
    }
  }

  const fencesOnline = schedule(expected, config, input.now).actions.some((a) => a.type === 'fence' && running.includes(a.node));
  const maintenanceFailure = injections.some((i) => i.operation === 'monitor' && record.maintenance.includes(i.node));
  const racy = fencesOnline ? 'the plan fences a node that may be the coordinator' :
    maintenanceFailure ? 'the coordinator may plan before it hears the failure on a node in maintenance' : null;
  return { name, input, simulate: opts, config, running, record, files, injections, fenceFails, prelude, expected, local, racy };
}

function intervalOf(config: CompiledConfig, f: FailureRecord): number {
  if (f.operation !== 'monitor') return 0;
  const def = config.resources[baseId(config, f.resource)];
  return def?.type === 'primitive' ? (def.operations.find((o) => o.name === 'monitor')?.intervalMs ?? 0) : 0;
}
