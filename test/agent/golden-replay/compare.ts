// What the agents carried out, against the golden plan: the same actions (type, resource, node;
// recurring monitors included, their interval aside: a failing monitor's is shortened), each with
// the outcome the simulation gives it, and for every edge before → after of the plan, `after`
// began once `before` had ended.
//
// Times are epoch milliseconds on one machine: the agents' "plan action done" lines carry the
// monotonic clock as epoch ms (performance.timeOrigin + performance.now()); the test fence agents
// log the wall clock (`date +%s.%N`); a watchdog fence ends when the coordinator proposes the lost
// node down, and only pino's wall-clock `time` (whole ms) says when: there an `after` that began in
// that same millisecond is not counted as a violation.

import type { NodeName } from '../../../src/config/types.js';
import type { SimulationResult } from '../../../src/core/scheduler/simulate.js';
import type { ActionStatus, PlanAction } from '../../../src/core/scheduler/types.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot.js';
import type { FenceAttempt, LogLine } from './cluster.js';

export interface CarriedOut {
  /** "<type> <resource|-> <node>" */
  id: string;
  /** who carried it out: the node's agent, or "fence agent" */
  by: string;
  ok: boolean;
  status: string;
  beganAt: number;
  endedAt: number;
  /** endedAt is pino's whole-millisecond time */
  coarse?: boolean;
}

export function actionId(type: string, resource: string | null, node: NodeName): string {
  return `${type} ${resource ?? '-'} ${node}`;
}

const idOf = (a: PlanAction): string => actionId(a.type, a.resource, a.node);

/** The "plan action done" lines of one transition, as carried-out actions. */
export function actionsOf(lines: LogLine[], transition: number): CarriedOut[] {
  return lines.filter((l) => l.msg === 'plan action done' && l.transition === transition).map((l) => {
    const [type, resource, node] = String(l.key).split(' ');
    return { id: actionId(type!, resource!, node!), by: l.node, ok: l.status === 'ok', status: String(l.status), beganAt: Number(l.beganAt), endedAt: Number(l.endedAt) };
  });
}

/** Fences: one per target, by the fence agents' attempts (ended at the first confirmation), or by the coordinator's watchdog recovery. */
export function fencesOf(attempts: FenceAttempt[], lines: LogLine[], watchdogTargets: NodeName[]): CarriedOut[] {
  const out: CarriedOut[] = [];
  for (const target of [...new Set(attempts.map((a) => a.target))].sort()) {
    const mine = attempts.filter((a) => a.target === target);
    const ok = mine.find((a) => a.ok);
    out.push({
      id: actionId('fence', null, target), by: `fence agent ${mine.map((a) => `${a.agent}:${a.ok ? 'ok' : 'failed'}`).join(',')}`, ok: ok !== undefined,
      status: ok ? 'ok' : 'error', beganAt: mine[0]!.beganAt, endedAt: ok ? ok.endedAt : mine.at(-1)!.endedAt,
    });
  }
  for (const target of watchdogTargets) {
    const l = lines.find((x) => x.msg === 'recover' && new RegExp(`(^|, )${target} lease-expired`).test(String(x.cause)));
    if (l) out.push({ id: actionId('fence', null, target), by: `${l.node} (lease and watchdog time passed)`, ok: true, status: 'ok', beganAt: l.time, endedAt: l.time + 1, coarse: true });
  }
  return out;
}

/** Differences between the simulation of the golden plan and what the agents did; empty when they agree. */
export function compareWithPlan(sim: SimulationResult, carried: CarriedOut[]): string[] {
  const problems: string[] = [];
  const plan = sim.plan;
  const expected = new Map<string, { action: PlanAction; status: ActionStatus }>();
  for (const r of sim.results) {
    const a = plan.actions[r.actionId]!;
    expected.set(idOf(a), { action: a, status: r.result.status });
  }
  const done = new Map<string, CarriedOut>();
  for (const c of carried) {
    if (done.has(c.id)) problems.push(`carried out twice: ${c.id} (by ${done.get(c.id)!.by} and by ${c.by})`);
    else done.set(c.id, c);
  }
  for (const [id, e] of expected) {
    const c = done.get(id);
    if (!c) problems.push(`missing: ${id} (the plan's [${e.action.id}], ${e.status} in the simulation)`);
    else if (c.ok !== (e.status === 'ok')) problems.push(`outcome: ${id} was ${c.status} (by ${c.by}), ${e.status} in the simulation`);
  }
  for (const [id, c] of done) {
    if (!expected.has(id)) problems.push(`extra: ${id} (by ${c.by}, ${c.status})${plan.actions.some((a) => idOf(a) === id) ? ': the simulation does not get that far' : ''}`);
  }
  for (const e of plan.edges) {
    const before = plan.actions[e.before]!;
    const after = plan.actions[e.after]!;
    const b = done.get(idOf(before));
    const a = done.get(idOf(after));
    if (!a) continue;
    if (!b || !b.ok) {
      problems.push(`edge [${before.id}] ${idOf(before)} → [${after.id}] ${idOf(after)}: ${idOf(after)} was carried out, ${idOf(before)} ${b ? 'failed' : 'never was'}`);
      continue;
    }
    const limit = b.coarse ? b.endedAt - 1 : b.endedAt;
    if (a.beganAt < limit) {
      problems.push(`edge [${before.id}] ${idOf(before)} → [${after.id}] ${idOf(after)}: ${idOf(after)} began ${(b.endedAt - a.beganAt).toFixed(3)} ms before ${idOf(before)} ended`);
    }
  }
  return problems;
}

/** A snapshot as the comparison of inputs sees it, one line per fact: order, time stamps and lease ends aside. */
export function snapshotFacts(s: ClusterSnapshot): string[] {
  const attrs = (a: Record<string, string>) => Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
  return [
    `quorate ${s.quorate}`,
    ...s.nodes.map((n) => `node ${n.name} ${n.state}${n.standby ? ' standby' : ''}${n.maintenance ? ' maintenance' : ''} {${attrs(n.attributes)}}`),
    ...s.observations.map((o) => `observed ${o.resource} on ${o.node}: ${o.role}`),
    ...s.failures.map((f) => `failure ${f.resource} on ${f.node}: ${f.operation} x${f.count}${f.hard ? ' hard' : ''}${f.fatal ? ' fatal' : ''}`),
    ...s.bans.map((b) => `ban ${b.resource} on ${b.node}: ${b.score}`),
    ...s.overrides.map((o) => `override ${o.resource}: targetRole=${o.targetRole ?? '-'} managed=${o.managed ?? '-'}`),
    ...s.fenced.map((n) => `fenced ${n}`),
  ].sort();
}

export function sameSnapshot(a: ClusterSnapshot, b: ClusterSnapshot): boolean {
  return snapshotFacts(a).join('\n') === snapshotFacts(b).join('\n');
}

/** What differs between two snapshots, one fact a line: "- " expected only, "+ " actual only. */
export function snapshotDiff(expected: ClusterSnapshot, actual: ClusterSnapshot): string {
  const e = snapshotFacts(expected);
  const a = snapshotFacts(actual);
  const out = [...e.filter((l) => !a.includes(l)).map((l) => `- ${l}`), ...a.filter((l) => !e.includes(l)).map((l) => `+ ${l}`)];
  return out.length > 0 ? out.join('\n') : '(same)';
}
