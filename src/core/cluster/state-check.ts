// The shape check of a replicated cluster state (state-machine.ts ClusterState) that arrives from
// outside the core: in an InstallSnapshot from a peer, or in the snapshot file. One table per record
// type, beside checkCommand's (commands.ts): the core applies entries and schedules from this state
// without checking it again, so a value of the wrong shape anywhere in it would throw later, in a
// step, and stop the agent.

import type { ClusterState } from './state-machine.js';
import { isBool, isCount, isNum, isObj, isPlan, isResult, isRole, isStatus, isStr, isTargetRole, nullable, oneOf, optional, type Obj } from './commands.js';

/** A check; one of a list or map also names its items' check, so an error can name the item. */
type Check = ((v: unknown) => boolean) & { item?: Check };

/** An object with these fields (optional ones may be absent, others are not checked). */
const record = (fields: Record<string, Check>): Check => (v) => isObj(v) && Object.entries(fields).every(([k, check]) => check(v[k]));
const listOf = (item: Check): Check => Object.assign((v: unknown) => Array.isArray(v) && v.every(item), { item });
const mapOf = (item: Check): Check => Object.assign((v: unknown) => isObj(v) && Object.values(v).every(item), { item });
/** absent, or a list or map of such items */
const optionalOf = (check: Check): Check => Object.assign(optional(check), { item: check.item });

const fenceRecord = record({
  node: isStr, cause: oneOf('fenced', 'lease-expired', 'unfenced'), term: isCount, index: isCount, at: isNum,
  by: optional(isStr), executor: optional(isStr), device: optional(isStr), action: optional(oneOf('off', 'reboot', 'on')), reason: optional(isStr),
});
const fenceRequestRecord = record({ action: oneOf('off', 'reboot'), by: isStr, index: isCount, at: isNum });
const banRecord = record({ resource: isStr, node: isStr, score: isNum, until: nullable(isNum) });
const failureEntry = record({
  resource: isStr, node: isStr, operation: isStr, intervalMs: isCount, count: isCount, at: isNum, hard: isBool, fatal: isBool,
  status: isStatus, exitCode: isNum, reason: isStr,
});
const storageRecord = record({
  resource: isStr, step: oneOf('blocklist', 'break_lock', 'outdate_peer'), node: isStr, lost: isStr, status: isStatus, reason: isStr,
  transition: isCount, at: isNum,
});
const historyEvent = record({ at: isNum, index: isCount, kind: isStr, node: optional(isStr), resource: optional(isStr), text: isStr });
const transitionRecord = record({
  id: isCount, term: isCount, coordinator: isStr, plan: isPlan, inputs: isCount, at: isNum, results: mapOf(isResult),
  outcome: oneOf('running', 'complete', 'aborted'), reason: (v) => v === null || isStr(v), endIndex: (v) => v === null || isCount(v),
});
const restartRecord = record({ incarnation: isNum, graceMs: isCount, index: isCount, cause: oneOf('stop', 'crash') });
const outdateRequestRecord = record({
  id: isStr, resource: isStr, node: isStr, by: isStr, index: isCount,
  answer: (v) => v === null || record({ outcome: oneOf('outdated', 'primary', 'failed'), reason: isStr })(v),
});

const FIELDS: Record<keyof ClusterState, Check> = {
  voters: listOf(isStr),
  down: mapOf(fenceRecord),
  standby: listOf(isStr),
  maintenance: listOf(isStr),
  bans: listOf(banRecord),
  overrides: mapOf(record({ targetRole: optional(isTargetRole), managed: optional(isBool) })),
  failures: listOf(failureEntry),
  failureAck: mapOf(record({ incarnation: isNum, seq: isCount })),
  active: mapOf(mapOf(isRole)),
  transition: (v) => v === null || transitionRecord(v),
  fenceHistory: listOf(fenceRecord),
  storageHistory: optionalOf(listOf(storageRecord)),
  history: optionalOf(listOf(historyEvent)),
  recovering: optionalOf(mapOf(isStr)),
  fenceRequests: optionalOf(mapOf(fenceRequestRecord)),
  restarting: mapOf(restartRecord),
  unfenced: optionalOf(mapOf(isCount)),
  inputs: isCount,
  clock: isNum,
  outdateRequests: optionalOf(listOf(outdateRequestRecord)),
};

/** The path of the first value `check` refuses, under `path` (into lists and maps). */
function whereBad(check: Check, v: unknown, path: string): string {
  const item = check.item;
  if (item && Array.isArray(v)) {
    const i = v.findIndex((x) => !item(x));
    if (i >= 0) return whereBad(item, v[i], `${path}[${i}]`);
  } else if (item && isObj(v)) {
    const k = Object.keys(v).find((key) => !item(v[key]));
    if (k !== undefined) return whereBad(item, v[k], `${path}.${k}`);
  }
  return path;
}

/** null when `s` is a cluster state the core can take, else the first place that is not ("state.bans[2]"). */
export function checkClusterState(s: unknown): string | null {
  if (!isObj(s)) return 'state is not an object';
  for (const k of Object.keys(s)) if (!Object.hasOwn(FIELDS, k)) return `state: unknown field ${k}`;
  for (const [k, check] of Object.entries(FIELDS) as [string, Check][]) if (!check((s as Obj)[k])) return whereBad(check, (s as Obj)[k], `state.${k}`);
  return null;
}
