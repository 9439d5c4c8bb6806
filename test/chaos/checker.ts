// The outside checker of a chaos campaign: reads only what an observer outside the agents saw (the
// harness's D-Bus sampler timeline of the unit on every node, the fence device's log) and the
// record of what the campaign did, and reports every violation of:
//   one-copy      never two copies: no sampled instant at which two nodes may run the unit
//                 (harness overlap(): 'unknown' counts as running while the node's processes live)
//   recovery      after each fault is undone, exactly one copy (one node 'active', every other node
//                 inactive, failed or down, held for STABLE_MS) within the bound
//   fence-target  every fence (off or reboot) targets a node the fault running at that time touched
//   fence-reason  every fence the device carried out is in the cluster's fence history, with why
//                 (read once at the end from an agent's `tsha status`: the replicated record)
//   rejoin        after each undo, every node back in one quorate partition (checked by the campaign)
import type { FenceEvent } from '../../src/ports/control.js';
import { overlap, type FenceLogEntry, type SampledState, type Tick, type Timeline } from '../cluster/harness.js';

export type Rule = 'one-copy' | 'recovery' | 'fence-target' | 'fence-reason' | 'rejoin';

export interface Violation {
  readonly seed: number;
  /** index of the fault during or after which it happened (null: before the first fault) */
  readonly fault: number | null;
  readonly rule: Rule;
  /** ms since the campaign's first fault */
  readonly at: number;
  readonly detail: string;
}

/** What the campaign did for one fault, on the harness clock. */
export interface FaultRecord {
  readonly i: number;
  readonly kind: string;
  /** the nodes (or the witness) the fault touched */
  readonly nodes: readonly string[];
  /**
   * those whose fencing is legitimate while the fault and its recovery last: powered off, cut off,
   * paused or killed. Not a node whose agent exited gracefully (SIGTERM), not the witness.
   */
  readonly fenceable: readonly string[];
  /** when the fault took effect */
  readonly at: number;
  /** when its undo (heal, SIGCONT, power-on and agent start) was complete */
  undoneAt?: number;
  /** when the campaign was done with it: recovered and quorate again, or gave up waiting */
  settledAt?: number;
}

/** A node being powered on: from the start of its boot until its systemd answered (power 'up'). */
export interface BootWindow {
  readonly node: string;
  readonly from: number;
  readonly to: number;
}

/** How long exactly one copy must hold to count as recovered. */
export const STABLE_MS = 1000;
const SETTLED: ReadonlySet<SampledState> = new Set(['inactive', 'failed', 'maintenance', 'down']);

/** Exactly one node runs the unit ('active') and every other node is known not to run it. */
export function exactlyOne(tick: Tick): boolean {
  const st = Object.values(tick.states);
  return st.filter((s) => s === 'active').length === 1 && st.every((s) => s === 'active' || SETTLED.has(s));
}

/** A node losing power (the harness's powerLoss, from a fault or from the fence device): when the first SIGKILL went out. */
export interface PowerCut {
  readonly node: string;
  readonly t: number;
}

/**
 * The timeline as it bears on the rules, for nodes whose power the harness controls. The sampler
 * reads a node whose systemd does not answer while some process of it lives as 'unknown' (maybe
 * running); two such windows say nothing new about the unit:
 * - booting (BootWindow): the node's fresh processes live (wireguard-go, systemd starting) but its
 *   systemd does not answer yet. No copy can run there: /run is empty, systemd starts no unit by
 *   itself, and the campaign starts the node's agent only after the boot. Read as 'down'.
 * - dying (PowerCut until the node first reads 'down'): its processes are being SIGKILLed. A power
 *   cut starts nothing: the unit is read as it was at the last tick before the cut (a holder's copy
 *   stays running until every process is gone; an idle node's stays stopped).
 * Every other reading is kept as sampled.
 */
export function outsideView(tl: Timeline, boots: readonly BootWindow[], cuts: readonly PowerCut[] = []): Timeline {
  if (boots.length === 0 && cuts.length === 0) return tl;
  const ticks = tl.ticks.map((k) => ({ ...k, states: { ...k.states } as Record<string, SampledState> }));
  for (const b of boots) for (const k of ticks) if (k.t >= b.from && k.t <= b.to && k.states[b.node] === 'unknown') k.states[b.node] = 'down';
  for (const cut of cuts) {
    let before: SampledState | undefined;
    for (const k of ticks) {
      const st = k.states[cut.node];
      if (st === undefined) break;
      if (k.t < cut.t) {
        before = st;
        continue;
      }
      if (st === 'down') break;
      if (st === 'unknown' && before !== undefined) k.states[cut.node] = before;
    }
  }
  return { ...tl, ticks };
}

/** First tick time at or after `from` where exactlyOne holds for STABLE_MS of ticks, or undefined. */
export function recoveredAt(tl: Timeline, from: number): number | undefined {
  let start: number | undefined;
  for (const k of tl.ticks) {
    if (k.t < from) continue;
    if (!exactlyOne(k)) {
      start = undefined;
      continue;
    }
    start ??= k.t;
    if (k.t - start >= STABLE_MS) return start;
  }
  return undefined;
}

/** The fault during or after which time t falls (the last one started at or before t). */
export function faultAt(faults: readonly FaultRecord[], t: number): number | null {
  let at: number | null = null;
  for (const f of faults) if (f.at <= t) at = f.i;
  return at;
}

export interface CheckInput {
  readonly seed: number;
  /** the unit's sampled timeline, the whole campaign */
  readonly timeline: Timeline;
  readonly fenceLog: readonly FenceLogEntry[];
  readonly faults: readonly FaultRecord[];
  readonly boots: readonly BootWindow[];
  /** every power cut of the campaign (the harness's power-loss events) */
  readonly cuts: readonly PowerCut[];
  /** harness time of the first fault (violation times are relative to it) */
  readonly t0: number;
  /** recovery bound, ms from each undo */
  readonly recoveryBoundMs: number;
  /**
   * the cluster's fence history as an agent reported it after the last fault (`tsha status`,
   * every record it keeps, with how many it keeps at most); null: no agent answered
   */
  readonly fenceHistory: { readonly events: readonly FenceEvent[]; readonly keeps: number } | null;
}

/** How far a history record's time may lie from the device's log line (clock mapping, commit delay). */
export const FENCE_RECORD_SLACK_MS = 30_000;

export interface CheckResult {
  readonly violations: Violation[];
  /** per fault: ms from its undo to exactly one copy (null: not within the timeline) */
  readonly recoveryMs: (number | null)[];
  /**
   * per fault: sampled time between the fault and the campaign settling it in which the unit was
   * not on exactly one node (stopped everywhere, moving, or unknown): what the fault cost the service
   */
  readonly unsettledMs: number[];
  readonly overlapMs: number;
}

export function check(inp: CheckInput): CheckResult {
  const violations: Violation[] = [];
  const rel = (t: number): number => Math.round(t - inp.t0);
  const tl = outsideView(inp.timeline, inp.boots, inp.cuts);

  const ov = overlap(tl);
  for (const iv of ov.intervals) {
    violations.push({ seed: inp.seed, fault: faultAt(inp.faults, iv.from), rule: 'one-copy', at: rel(iv.from), detail: `${iv.nodes.join('+')} may both run the unit for ${Math.round(iv.to - iv.from)} ms` });
  }

  const recoveryMs = inp.faults.map((f) => {
    if (f.undoneAt === undefined) return null;
    const r = recoveredAt(tl, f.undoneAt);
    const ms = r === undefined ? null : Math.round(r - f.undoneAt);
    if (ms === null || ms > inp.recoveryBoundMs) {
      violations.push({ seed: inp.seed, fault: f.i, rule: 'recovery', at: rel(f.undoneAt), detail: ms === null ? `no stable single copy after the undo (${f.kind} on ${f.nodes.join(',')})` : `single copy only ${ms} ms after the undo, bound ${inp.recoveryBoundMs} ms` });
    }
    return ms;
  });

  const unsettledMs = inp.faults.map((f) => {
    let ms = 0;
    tl.ticks.forEach((k, i) => {
      if (k.t < f.at || k.t > (f.settledAt ?? Infinity) || exactlyOne(k)) return;
      ms += (tl.ticks[i + 1]?.t ?? k.t + tl.everyMs) - k.t;
    });
    return Math.round(ms);
  });

  for (const e of inp.fenceLog) {
    if (e.action !== 'off' && e.action !== 'reboot') continue;
    const ok = inp.faults.some((f) => e.plug !== undefined && f.fenceable.includes(e.plug) && e.t >= f.at && e.t <= (f.settledAt ?? Infinity));
    if (!ok) {
      const fi = faultAt(inp.faults, e.t);
      violations.push({ seed: inp.seed, fault: fi, rule: 'fence-target', at: rel(e.t), detail: `${e.action} of ${e.plug ?? '?'}, not touched by ${fi === null ? 'any fault' : `fault ${fi} (${inp.faults[fi]!.kind} on ${inp.faults[fi]!.nodes.join(',')}, fenceable ${inp.faults[fi]!.fenceable.join(',') || 'none'})`}` });
    }
  }
  violations.push(...fenceReasons(inp));
  return { violations: violations.sort((a, b) => a.at - b.at), recoveryMs, unsettledMs, overlapMs: Math.round(ov.ms) };
}

/**
 * Every power-off or reboot the device confirmed has its record in the fence history: the target,
 * the action, and why (the reason after the cause: what the lost node ran, a failed stop, an
 * operator's request). One record per fence; times within FENCE_RECORD_SLACK_MS. When the history
 * is full, fences older than its oldest record are not judged (they fell out of it).
 */
export function fenceReasons(inp: Pick<CheckInput, 'seed' | 'fenceLog' | 'faults' | 't0' | 'fenceHistory'>): Violation[] {
  const fences = inp.fenceLog.filter((e) => (e.action === 'off' || e.action === 'reboot') && e.response.ok && e.plug !== undefined);
  if (fences.length === 0) return [];
  const at = (t: number): number => Math.round(t - inp.t0);
  if (inp.fenceHistory === null) return [{ seed: inp.seed, fault: null, rule: 'fence-reason', at: at(fences.at(-1)!.t), detail: `${fences.length} fences, and no agent answered for the fence history` }];
  const records = inp.fenceHistory.events.filter((e) => e.status === 'ok' && (e.action === 'off' || e.action === 'reboot'));
  const full = inp.fenceHistory.events.length >= inp.fenceHistory.keeps;
  const oldest = Math.min(...inp.fenceHistory.events.map((e) => e.timeUnixMs));
  const used = new Set<FenceEvent>();
  const out: Violation[] = [];
  for (const f of fences) {
    if (full && f.t < oldest - FENCE_RECORD_SLACK_MS) continue;
    const rec = records.find((r) => !used.has(r) && r.target === f.plug && Math.abs(r.timeUnixMs - f.t) <= FENCE_RECORD_SLACK_MS);
    const fault = faultAt(inp.faults, f.t);
    if (!rec) {
      out.push({ seed: inp.seed, fault, rule: 'fence-reason', at: at(f.t), detail: `${f.action} of ${f.plug} by the device has no record in the fence history` });
      continue;
    }
    used.add(rec);
    // the cluster's record says why: "fenced: <reason> (term …)", or an operator asked
    if (!/^(operator request; )?fenced: \S/.test(rec.reason)) {
      out.push({ seed: inp.seed, fault, rule: 'fence-reason', at: at(f.t), detail: `${f.action} of ${f.plug} recorded without a reason: "${rec.reason}"` });
    }
  }
  return out;
}
