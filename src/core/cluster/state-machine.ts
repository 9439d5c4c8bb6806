// The replicated cluster state: what every node applies, in log order, from committed entries.
// A new coordinator continues from exactly this (DESIGN.md "Coordinator"). It is the input of the
// scheduler (coordination.ts builds the snapshot from it) and the record of what the cluster did:
// where each resource runs and in which role (`active`, Pacemaker's status section), the current
// transition and its results, failures, operator overrides and fence records.

import type { NodeName, ResourceId, TargetRole } from '../../config/types.js';
import type { ActionStatus } from '../scheduler/types.js';
import type { ActiveRole, Command, CommittedResult, OutdateOutcome, TransitionPlan } from './commands.js';
import { primitiveOf } from '../../config/types.js';

export interface FenceRecord {
  node: NodeName;
  /** unfenced: a fence history record only (action on), never a reason a node is down */
  cause: 'fenced' | 'lease-expired' | 'unfenced';
  term: number;
  index: number;
  /** cluster time it was committed */
  at: number;
  /** an operator's fence (`tsha fence`): who asked, and the action asked for */
  by?: string;
  /** the coordinator whose fencer confirmed it, and the device(s) that did (fenced only) */
  executor?: NodeName;
  device?: string;
  action?: 'off' | 'reboot' | 'on';
  /** why it was fenced, in words (lost while it may run resources, a failed stop, an operator's request) */
  reason?: string;
}

/** A fence an operator asked for (`tsha fence NODE`) that the cluster has not carried out yet. */
export interface FenceRequestRecord {
  action: 'off' | 'reboot';
  by: string;
  /** log index of the request */
  index: number;
  /** cluster time it was committed */
  at: number;
}

/** An operator location override: -INFINITY bans, a positive score prefers (move). */
export interface BanRecord {
  resource: ResourceId;
  node: NodeName;
  score: number;
  /** cluster time it ends, or null: until cleared */
  until: number | null;
}

/** Failures of one operation of a resource on a node. */
export interface FailureEntry {
  resource: ResourceId;
  node: NodeName;
  operation: string;
  intervalMs: number;
  count: number;
  /** cluster time of the last failure */
  at: number;
  /** a hard error (errorHard, notInstalled): not on this node again until cleaned up */
  hard: boolean;
  /** a fatal error (errorFatal): not anywhere until cleaned up */
  fatal: boolean;
  status: ActionStatus;
  exitCode: number;
  reason: string;
}

/** A storage takeover step of a committed transition (RBD blocklist / break lock, DRBD outdate peer) and its outcome. */
export interface StorageRecord {
  resource: ResourceId;
  step: 'blocklist' | 'break_lock' | 'outdate_peer';
  /** the node that took the storage over */
  node: NodeName;
  /** the lost node it was taken from */
  lost: NodeName;
  status: ActionStatus;
  reason: string;
  /** the transition (its log index) */
  transition: number;
  /** cluster time the result was committed */
  at: number;
}

/** One thing the cluster did, as `tsha history` shows it: what the committed entry changed, in words. */
export interface HistoryEvent {
  /** cluster time of the entry (the last committed time before it, for entries without one) */
  at: number;
  /** its log index */
  index: number;
  kind: 'node-down' | 'node-up' | 'restarting' | 'standby' | 'maintenance' | 'constraint' | 'override' | 'cleanup' | 'failure' | 'transition' | 'failover' | 'transition-end' | 'storage' | 'voters' | 'fence-request' | 'unfence';
  node?: NodeName;
  resource?: ResourceId;
  text: string;
}

export interface TransitionRecord {
  /** the log index of its `transition` entry */
  id: number;
  term: number;
  coordinator: NodeName;
  plan: TransitionPlan;
  /** the input version it was computed from */
  inputs: number;
  /** cluster time it was committed */
  at: number;
  /** committed outcomes by action id */
  results: Record<number, CommittedResult>;
  outcome: 'running' | 'complete' | 'aborted';
  reason: string | null;
  /** the log index of its transitionEnd, once ended */
  endIndex: number | null;
}

export interface RestartRecord {
  incarnation: number;
  graceMs: number;
  index: number;
  /** 'crash': proposed by the coordinator for a crashed agent; 'stop': the agent announced it on SIGTERM */
  cause: 'stop' | 'crash';
}

/** A DRBD fence-peer handler's request that a live peer outdate its disk, and the peer's answer once committed. */
export interface OutdateRequestRecord {
  id: string;
  /** the DRBD resource name */
  resource: string;
  /** the node asked to outdate its disk */
  node: NodeName;
  /** the node whose handler asked */
  by: NodeName;
  /** log index of the request */
  index: number;
  answer: { outcome: OutdateOutcome; reason: string } | null;
}

export interface ClusterState {
  voters: NodeName[];
  /** nodes down (fenced or lease expired) and not yet back: they run nothing */
  down: Record<NodeName, FenceRecord>;
  standby: NodeName[];
  /** nodes in maintenance */
  maintenance: NodeName[];
  bans: BanRecord[];
  /** run-time target role / managed overrides by resource id */
  overrides: Record<ResourceId, { targetRole?: TargetRole; managed?: boolean }>;
  failures: FailureEntry[];
  /** per node: the last failure report counted (so a report is counted once, and cleanup sticks) */
  failureAck: Record<NodeName, { incarnation: number; seq: number }>;
  /** where each resource (instance) runs, per node, and in which role */
  active: Record<NodeName, Record<ResourceId, ActiveRole>>;
  /** the current (or last) transition */
  transition: TransitionRecord | null;
  /** the last fence records, newest last (bounded) */
  fenceHistory: FenceRecord[];
  /** the last storage takeover steps, newest last (bounded) */
  storageHistory: StorageRecord[];
  /** what the cluster did, newest last (bounded): `tsha history` */
  history: HistoryEvent[];
  /** resources that ran on a node when it went down, until a transition starts them again (history's failovers) */
  recovering: Record<ResourceId, NodeName>;
  /** nodes unfenced since they joined (fabric-fencing devices ran `on` for them), by node, with the record's log index; a node going down loses its entry */
  unfenced: Record<NodeName, number>;
  /** operator fence requests not carried out yet, by node */
  fenceRequests: Record<NodeName, FenceRequestRecord>;
  /** agents that announced a restart (or whose crash the coordinator rides out) */
  restarting: Record<NodeName, RestartRecord>;
  /** bumped by every committed change of the scheduler's input (not by a transition's own results) */
  inputs: number;
  /** the highest cluster time committed (clock.ts) */
  clock: number;
  /** the last DRBD outdate requests, newest last (bounded) */
  outdateRequests: OutdateRequestRecord[];
}

/** How many fence records the cluster state keeps (the oldest go first). */
export const FENCE_HISTORY = 32;
const STORAGE_HISTORY = 32;
const HISTORY = 200;
/** a transition's actions named in its history line, at most */
const HISTORY_ACTIONS = 8;

function remember(s: ClusterState, e: Omit<HistoryEvent, 'at' | 'index'>, index: number, at: number = s.clock): void {
  const h = s.history;
  h.push({ at, index, ...e });
  if (h.length > HISTORY) h.shift();
}

function lifetime(until: number | null | undefined, at: number): string {
  return until === null || until === undefined ? '' : ` for ${Math.max(0, Math.round((until - at) / 1000))} s`;
}
const OUTDATE_REQUESTS = 32;

export function initialClusterState(voters: NodeName[]): ClusterState {
  return {
    voters: [...voters], down: {}, standby: [], maintenance: [], bans: [], overrides: {}, failures: [], failureAck: {}, active: {},
    transition: null, fenceHistory: [], fenceRequests: {}, unfenced: {}, storageHistory: [], history: [], recovering: {}, restarting: {}, inputs: 0, clock: 0, outdateRequests: [],
  };
}

/** Copy-on-write clone: entries are applied to a fresh object so snapshots stay immutable. */
export function cloneClusterState(s: ClusterState): ClusterState {
  const active: ClusterState['active'] = {};
  for (const [n, m] of Object.entries(s.active)) active[n] = { ...m };
  return {
    voters: [...s.voters],
    down: { ...s.down },
    standby: [...s.standby],
    maintenance: [...s.maintenance],
    bans: [...s.bans],
    overrides: { ...s.overrides },
    failures: [...s.failures],
    failureAck: { ...s.failureAck },
    active,
    transition: s.transition && { ...s.transition, results: { ...s.transition.results } },
    fenceHistory: [...s.fenceHistory],
    fenceRequests: { ...s.fenceRequests },
    unfenced: { ...s.unfenced },
    storageHistory: [...s.storageHistory],
    history: [...s.history],
    recovering: { ...s.recovering },
    restarting: { ...s.restarting },
    inputs: s.inputs,
    clock: s.clock,
    outdateRequests: [...s.outdateRequests],
  };
}

function setRole(s: ClusterState, node: NodeName, resource: ResourceId, role: ActiveRole | null): void {
  const m = s.active[node] ?? {};
  if (role === null) delete m[resource];
  else m[resource] = role;
  if (Object.keys(m).length === 0) delete s.active[node];
  else s.active[node] = m;
}

function addFailure(s: ClusterState, f: Omit<FailureEntry, 'count'>): void {
  const i = s.failures.findIndex((x) => x.resource === f.resource && x.node === f.node && x.operation === f.operation);
  const prev = i >= 0 ? s.failures[i]! : null;
  const next: FailureEntry = {
    ...f, count: (prev?.count ?? 0) + 1, hard: f.hard || (prev?.hard ?? false), fatal: f.fatal || (prev?.fatal ?? false),
  };
  if (i >= 0) s.failures[i] = next;
  else s.failures.push(next);
}

const isHard = (status: ActionStatus): boolean => status === 'errorHard' || status === 'notInstalled';

/** Apply one committed command. Mutates `s` (the caller owns a private copy). */
export function applyCommand(s: ClusterState, cmd: Command, index: number): void {
  if ('at' in cmd && typeof cmd.at === 'number' && cmd.at > s.clock) s.clock = cmd.at;
  recordHistory(s, cmd, index);
  applyChange(s, cmd, index);
}

/** What `cmd` does, in words, before it is applied (a transition's end names the transition it ends). */
function recordHistory(s: ClusterState, cmd: Command, index: number): void {
  switch (cmd.type) {
    case 'nodeDown': {
      const ran = Object.keys(s.active[cmd.node] ?? {}).sort();
      const rec = s.recovering;
      for (const r of ran) rec[r] = cmd.node;
      const what = ran.length > 0 ? ` (it ran ${ran.join(', ')})` : '';
      const how = [cmd.device ? `device ${cmd.device}` : '', cmd.executor ? `by ${cmd.executor}` : ''].filter(Boolean).join(', ');
      remember(s, { kind: 'node-down', node: cmd.node, text: cmd.cause === 'fenced' ? `${cmd.node} fenced${how ? ` (${how})` : ''}${cmd.reason ? `: ${cmd.reason}` : ''}${what}` : `${cmd.node} down: its lease expired (and its watchdog reset it)${what}` }, index);
      return;
    }
    case 'nodeUp':
      if (s.down[cmd.node]) remember(s, { kind: 'node-up', node: cmd.node, text: `${cmd.node} rejoined` }, index);
      return;
    case 'restarting':
      if (cmd.cause === 'stop' && s.restarting[cmd.node]?.incarnation === cmd.incarnation) return;
      remember(s, {
        kind: 'restarting', node: cmd.node,
        text: cmd.cause === 'stop' ? `${cmd.node}'s agent restarting: resources kept for ${cmd.graceMs} ms` : `${cmd.node}'s agent crashed, host up: resources kept for ${cmd.graceMs} ms`,
      }, index);
      return;
    case 'standby':
      remember(s, { kind: 'standby', node: cmd.node, text: `${cmd.node} ${cmd.on ? 'in standby' : 'out of standby'}` }, index);
      return;
    case 'maintenance':
      remember(s, { kind: 'maintenance', node: cmd.node, text: `${cmd.node} ${cmd.on ? 'in maintenance' : 'out of maintenance'}` }, index);
      return;
    case 'ban': {
      const score = cmd.score ?? -1_000_000;
      const text = !cmd.on ? `${cmd.resource}: ban or preference on ${cmd.node} cleared`
        : score <= -1_000_000 ? `${cmd.resource} banned from ${cmd.node}${lifetime(cmd.until, s.clock)}`
        : `${cmd.resource} prefers ${cmd.node}${lifetime(cmd.until, s.clock)}`;
      remember(s, { kind: 'constraint', node: cmd.node, resource: cmd.resource, text }, index);
      return;
    }
    case 'override': {
      const parts: string[] = [];
      if (cmd.targetRole !== undefined) parts.push(cmd.targetRole === null ? 'target role back to the configuration\'s' : `target role ${cmd.targetRole}`);
      if (cmd.managed !== undefined) parts.push(cmd.managed === null ? 'managed as configured' : cmd.managed ? 'managed' : 'unmanaged');
      remember(s, { kind: 'override', resource: cmd.resource, text: `${cmd.resource}: ${parts.join(', ')}` }, index);
      return;
    }
    case 'cleanup':
      remember(s, { kind: 'cleanup', resource: cmd.resource, ...(cmd.node ? { node: cmd.node } : {}), text: `${cmd.resource}: failures${cmd.operation ? ` of ${cmd.operation}` : ''} cleaned up${cmd.node ? ` on ${cmd.node}` : ''}` }, index);
      return;
    case 'failure':
      remember(s, { kind: 'failure', node: cmd.node, resource: cmd.resource, text: `${cmd.resource} ${cmd.operation} failed on ${cmd.node}: ${cmd.status}${cmd.reason ? ` (${cmd.reason})` : ''}` }, index, cmd.at);
      return;
    case 'transition': {
      const keys = cmd.plan.actions.filter((a) => a.type !== 'monitor').map((a) => a.key);
      const named = keys.slice(0, HISTORY_ACTIONS).join(', ') + (keys.length > HISTORY_ACTIONS ? `, … (${keys.length - HISTORY_ACTIONS} more)` : '');
      remember(s, { kind: 'transition', text: `transition ${index} by ${cmd.coordinator} (term ${cmd.term}): ${keys.length === 0 ? 'monitors only' : named}` }, index, cmd.at);
      // a start of what a lost node ran (in this plan, after its fence, or in a later one)
      const rec = s.recovering;
      for (const a of cmd.plan.actions) {
        if (a.resource === null || (a.type !== 'start' && a.type !== 'migrate_from')) continue;
        const from = rec[a.resource] ?? (a.reason.startsWith('recover from lost node ') ? a.reason.slice('recover from lost node '.length) : undefined);
        if (from === undefined) continue;
        delete rec[a.resource];
        remember(s, { kind: 'failover', node: a.node, resource: a.resource, text: `${a.resource} recovered on ${a.node}, lost with ${from}` }, index, cmd.at);
      }
      return;
    }
    case 'results': {
      const t = s.transition;
      if (!t || t.id !== cmd.transition) return;
      for (const r of cmd.results) {
        const a = t.plan.actions[r.action];
        if (!a || t.results[r.action]) continue;
        // a resource that runs again is no longer waiting to be recovered (its fence may have come after the plan that restarted it)
        if ((a.type === 'start' || a.type === 'migrate_from') && r.status === 'ok' && a.resource !== null && s.recovering) delete s.recovering[a.resource];
        if (a.type === 'storage_blocklist' || a.type === 'storage_break_lock' || a.type === 'storage_outdate_peer') {
          remember(s, { kind: 'storage', node: a.node, ...(a.resource ? { resource: a.resource } : {}), text: `${a.key}: ${r.status}${r.reason ? ` (${r.reason})` : ''}` }, index, cmd.at);
        } else if (r.status !== 'ok' && a.type !== 'fence') {
          remember(s, { kind: 'failure', node: a.node, ...(a.resource ? { resource: a.resource } : {}), text: `${a.key} failed: ${r.status}${r.reason ? ` (${r.reason})` : ''}` }, index, cmd.at);
        }
      }
      return;
    }
    case 'transitionEnd': {
      const t = s.transition;
      if (!t || t.id !== cmd.transition || t.outcome !== 'running') return;
      remember(s, { kind: 'transition-end', text: `transition ${cmd.transition} ${cmd.outcome}${cmd.reason ? `: ${cmd.reason}` : ''}` }, index);
      return;
    }
    case 'voters':
      remember(s, { kind: 'voters', text: `voters: ${cmd.voters.join(', ')}` }, index);
      return;
    case 'unfenced':
      remember(s, { kind: 'unfence', node: cmd.node, text: `${cmd.node} unfenced (device ${cmd.device}, by ${cmd.executor}): it may run resources` }, index);
      return;
    case 'fenceRequest':
      remember(s, { kind: 'fence-request', node: cmd.node, text: cmd.on ? `${cmd.by} asked to fence ${cmd.node} (${cmd.action})` : `${cmd.by} withdrew the fence request for ${cmd.node}` }, index);
      return;
    case 'outdateRequest':
      if (s.outdateRequests.some((r) => r.id === cmd.id)) return;
      remember(s, { kind: 'storage', node: cmd.node, text: `${cmd.by} asked ${cmd.node} to outdate its DRBD disk of ${cmd.resource}` }, index);
      return;
    case 'outdateAnswer': {
      const r = s.outdateRequests.find((x) => x.id === cmd.id && x.node === cmd.node && x.answer === null);
      if (!r) return;
      remember(s, { kind: 'storage', node: cmd.node, text: `${cmd.node} answered ${r.by}'s outdate request for ${r.resource}: ${cmd.outcome}${cmd.reason ? ` (${cmd.reason})` : ''}` }, index);
      return;
    }
    default:
      return;
  }
}

function applyChange(s: ClusterState, cmd: Command, index: number): void {
  switch (cmd.type) {
    case 'noop':
      return;
    case 'nodeDown': {
      const rec: FenceRecord = {
        node: cmd.node, cause: cmd.cause, term: cmd.term, index, at: cmd.at ?? s.clock,
        ...(cmd.executor ? { executor: cmd.executor } : {}), ...(cmd.device ? { device: cmd.device } : {}), ...(cmd.reason ? { reason: cmd.reason } : {}),
      };
      // the node is down: an operator's request for it is done (or moot)
      const asked = s.fenceRequests[cmd.node];
      if (asked) {
        if (cmd.cause === 'fenced') Object.assign(rec, { by: asked.by, action: asked.action });
        const rest = { ...s.fenceRequests };
        delete rest[cmd.node];
        s.fenceRequests = rest;
      }
      s.down[cmd.node] = rec;
      // a node that went down is unfenced again when it rejoins (Pacemaker: unfencing at join)
      if (s.unfenced[cmd.node] !== undefined) {
        const rest = { ...s.unfenced };
        delete rest[cmd.node];
        s.unfenced = rest;
      }
      delete s.restarting[cmd.node];
      delete s.active[cmd.node];
      // a node that was reset starts afresh: its failures went with it (Pacemaker's transient attributes)
      s.failures = s.failures.filter((f) => f.node !== cmd.node);
      s.fenceHistory.push(rec);
      if (s.fenceHistory.length > FENCE_HISTORY) s.fenceHistory.shift();
      // the outcome a running transition's fence action waits for is not a change of its input
      const t = s.transition;
      if (!(t && t.outcome === 'running' && t.plan.actions.some((a) => a.type === 'fence' && a.node === cmd.node))) s.inputs++;
      return;
    }
    case 'nodeUp':
      delete s.down[cmd.node];
      delete s.restarting[cmd.node];
      s.inputs++;
      return;
    case 'restarting':
      // a stopping agent may propose its announcement again (liveness.ts): the first one counts
      if (cmd.cause === 'stop' && s.restarting[cmd.node]?.incarnation === cmd.incarnation && s.restarting[cmd.node]?.cause === 'stop') return;
      s.restarting = { ...s.restarting, [cmd.node]: { incarnation: cmd.incarnation, graceMs: cmd.graceMs, index, cause: cmd.cause } };
      s.inputs++;
      return;
    case 'standby':
      s.standby = s.standby.filter((n) => n !== cmd.node);
      if (cmd.on) s.standby.push(cmd.node);
      s.inputs++;
      return;
    case 'maintenance':
      s.maintenance = s.maintenance.filter((n) => n !== cmd.node);
      if (cmd.on) s.maintenance.push(cmd.node);
      s.inputs++;
      return;
    case 'ban':
      s.bans = s.bans.filter((b) => !(b.resource === cmd.resource && b.node === cmd.node));
      if (cmd.on) s.bans.push({ resource: cmd.resource, node: cmd.node, score: cmd.score ?? -1_000_000, until: cmd.until ?? null });
      s.inputs++;
      return;
    case 'override': {
      const o = { ...(s.overrides[cmd.resource] ?? {}) };
      if (cmd.targetRole === null) delete o.targetRole;
      else if (cmd.targetRole !== undefined) o.targetRole = cmd.targetRole;
      if (cmd.managed === null) delete o.managed;
      else if (cmd.managed !== undefined) o.managed = cmd.managed;
      if (Object.keys(o).length === 0) delete s.overrides[cmd.resource];
      else s.overrides[cmd.resource] = o;
      s.inputs++;
      return;
    }
    case 'cleanup': {
      s.failures = s.failures.filter((f) => !(
        (f.resource === cmd.resource || primitiveOf(f.resource) === cmd.resource) &&
        (cmd.node === null || f.node === cmd.node) &&
        (cmd.operation === undefined || cmd.operation === null || f.operation === cmd.operation)
      ));
      s.inputs++;
      return;
    }
    case 'failure': {
      s.failureAck[cmd.node] = { incarnation: cmd.incarnation, seq: cmd.seq };
      addFailure(s, {
        resource: cmd.resource, node: cmd.node, operation: cmd.operation, intervalMs: cmd.intervalMs, at: cmd.at,
        hard: isHard(cmd.status), fatal: cmd.status === 'errorFatal', status: cmd.status, exitCode: cmd.exitCode, reason: cmd.reason,
      });
      if (s.active[cmd.node]?.[cmd.resource] !== undefined) setRole(s, cmd.node, cmd.resource, 'failed');
      s.inputs++;
      return;
    }
    case 'observed':
      if (Object.keys(cmd.active).length === 0) delete s.active[cmd.node];
      else s.active[cmd.node] = { ...cmd.active };
      s.inputs++;
      return;
    case 'transition':
      s.transition = {
        id: index, term: cmd.term, coordinator: cmd.coordinator, plan: cmd.plan, inputs: cmd.inputs, at: cmd.at,
        results: {}, outcome: 'running', reason: null, endIndex: null,
      };
      // What a start or promotion may begin counts as running from now on, until an outcome or the
      // node's own report (once it settled) says otherwise: a node lost mid-transition is fenced
      // before anything it may have started moves, whichever coordinator plans next.
      for (const a of cmd.plan.actions) {
        if (a.resource === null) continue;
        if ((a.type === 'start' || a.type === 'migrate_from') && s.active[a.node]?.[a.resource] === undefined) setRole(s, a.node, a.resource, 'started');
        else if (a.type === 'promote') setRole(s, a.node, a.resource, 'promoted');
      }
      return;
    case 'results': {
      const t = s.transition;
      if (!t || t.id !== cmd.transition) return;
      t.results = { ...t.results };
      for (const r of cmd.results) {
        if (t.results[r.action]) continue;
        const a = t.plan.actions[r.action];
        if (!a) continue;
        t.results[r.action] = r;
        if (a.resource !== null && r.role !== undefined) setRole(s, a.node, a.resource, r.role);
        if (a.resource !== null && a.target !== undefined && (a.type === 'storage_blocklist' || a.type === 'storage_break_lock' || a.type === 'storage_outdate_peer')) {
          const h = s.storageHistory;
          h.push({
            resource: a.resource, step: a.type.slice('storage_'.length) as StorageRecord['step'], node: a.node, lost: a.target,
            status: r.status, reason: r.reason ?? '', transition: t.id, at: cmd.at,
          });
          if (h.length > STORAGE_HISTORY) h.shift();
        }
        if (r.status !== 'ok' && a.resource !== null && a.type !== 'fence') {
          addFailure(s, {
            resource: a.resource, node: a.node, operation: a.type, intervalMs: a.intervalMs ?? 0, at: cmd.at,
            hard: isHard(r.status), fatal: r.status === 'errorFatal', status: r.status, exitCode: r.exitCode ?? -1, reason: r.reason ?? '',
          });
        }
      }
      return;
    }
    case 'transitionEnd': {
      const t = s.transition;
      if (!t || t.id !== cmd.transition || t.outcome !== 'running') return;
      s.transition = { ...t, outcome: cmd.outcome, reason: cmd.reason, endIndex: index };
      return;
    }
    case 'voters':
      s.voters = [...cmd.voters];
      s.inputs++;
      return;
    // DRBD fence-peer requests and answers: recorded for the nodes that act on them, not scheduler inputs
    case 'outdateRequest': {
      const rs = s.outdateRequests;
      if (rs.some((r) => r.id === cmd.id)) return; // proposed again while the first was in flight
      s.outdateRequests = [...rs, { id: cmd.id, resource: cmd.resource, node: cmd.node, by: cmd.by, index, answer: null }].slice(-OUTDATE_REQUESTS);
      return;
    }
    case 'outdateAnswer': {
      const rs = s.outdateRequests;
      const i = rs.findIndex((r) => r.id === cmd.id && r.node === cmd.node && r.answer === null);
      if (i < 0) return;
      s.outdateRequests = rs.map((r, j) => (j === i ? { ...r, answer: { outcome: cmd.outcome, reason: cmd.reason } } : r));
      return;
    }
    case 'unfenced': {
      if (s.down[cmd.node]) return; // down again before it was recorded: the next join unfences it
      s.unfenced = { ...s.unfenced, [cmd.node]: index };
      s.fenceHistory.push({ node: cmd.node, cause: 'unfenced', action: 'on', term: cmd.term, index, at: cmd.at ?? s.clock, executor: cmd.executor, device: cmd.device });
      if (s.fenceHistory.length > FENCE_HISTORY) s.fenceHistory.shift();
      s.inputs++;
      return;
    }
    case 'fenceRequest': {
      const rest = { ...s.fenceRequests };
      if (cmd.on) rest[cmd.node] = { action: cmd.action, by: cmd.by, index, at: cmd.at ?? s.clock };
      else delete rest[cmd.node];
      s.fenceRequests = rest;
      s.inputs++;
      return;
    }
  }
}

/** Failures of a resource on a node, all operations summed. */
export function failCount(s: ClusterState, resource: ResourceId, node: NodeName): number {
  return s.failures.filter((f) => f.resource === resource && f.node === node).reduce((n, f) => n + f.count, 0);
}
