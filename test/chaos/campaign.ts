// One chaos campaign on the real-cluster harness: a fresh cluster (3 nodes, or 2 nodes + witness)
// of real agents from dist/ with one systemd unit resource (`sleep infinity`) and the harness's
// test fence device; the seeded schedule's faults one after another, each undone after its hold,
// then the cluster given time to recover (and checked live for it) before a quiet gap and the next
// fault. The unit is sampled from outside over D-Bus every 20 ms through the whole campaign; the
// checker (checker.ts) judges the timeline and the fence log afterwards. A campaign with a
// violation keeps the evidence (agent logs, timeline, fence log, schedule) in a temp dir.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCluster, now, sleep, type Cluster, type ClusterNode, type UnitSampler } from '../cluster/harness.js';
import { TshaCluster } from '../cluster/tsha-cluster.js';
import { FENCE_HISTORY } from '../../src/core/cluster/state-machine.js';
import { check, outsideView, recoveredAt, STABLE_MS, type BootWindow, type CheckInput, type FaultRecord, type PowerCut, type Violation } from './checker.js';
import { choose, drawSchedule, KINDS_2W, KINDS_3, type PlannedFault } from './schedule.js';

export type Topology = '3' | '2w';

export interface CampaignOptions {
  readonly seed: number;
  readonly faults: number;
  readonly topology: Topology;
  /** start no new fault after this long (ms) since the first one */
  readonly maxMs?: number;
  /** exactly one copy within this long after each undo (default 15 s) */
  readonly recoveryBoundMs?: number;
  /** every node in one quorate partition within this long after each undo (default 30 s) */
  readonly rejoinBoundMs?: number;
  readonly log?: (line: string) => void;
  /** keep the evidence even without a violation */
  readonly keep?: boolean;
}

/** A planned fault as it ran: the nodes it hit and when (ms since the first fault). */
export interface RanFault extends PlannedFault {
  readonly nodes: readonly string[];
  readonly atMs: number;
  readonly recoveryMs: number | null;
  /** sampled time from the fault until it was settled without exactly one copy (checker.CheckResult.unsettledMs) */
  readonly unsettledMs: number;
}

export interface CampaignResult {
  readonly seed: number;
  readonly topology: Topology;
  readonly schedule: readonly RanFault[];
  readonly violations: readonly Violation[];
  readonly overlapMs: number;
  readonly fences: number;
  readonly durationMs: number;
  /** where the evidence was kept (when there is a violation, or with keep) */
  readonly keptIn?: string;
}

export async function runCampaign(opts: CampaignOptions): Promise<CampaignResult> {
  const log = opts.log ?? (() => undefined);
  const bound = opts.recoveryBoundMs ?? 15_000;
  const rejoinBound = opts.rejoinBoundMs ?? 30_000;
  const plan = drawSchedule(opts.seed, opts.faults, opts.topology === '2w' ? KINDS_2W : KINDS_3);
  const c = await createCluster(opts.topology === '2w' ? { nodes: 2, witness: true } : { nodes: 3 });
  let s: UnitSampler | undefined;
  try {
    const t = new TshaCluster(c, { logLevel: 'info' });
    await t.installUnit();
    t.startAll();
    await t.waitQuorate(30_000);
    await t.waitHolder(20_000);
    s = c.sampleUnits(t.unit, { everyMs: 20 });
    await t.stableHolder(s, STABLE_MS);
    const run = new Campaign(c, t, s, log);
    const t0 = now();
    const records: FaultRecord[] = [];
    const ran: Omit<RanFault, 'recoveryMs' | 'unsettledMs'>[] = [];
    const liveViolations: Violation[] = [];
    for (const pf of plan) {
      if (opts.maxMs !== undefined && now() - t0 > opts.maxMs) break;
      const coordinator = await t.waitQuorate(rejoinBound).catch(() => undefined);
      const rec = await run.inject(pf, coordinator);
      records.push(rec);
      ran.push({ ...pf, nodes: rec.nodes, atMs: Math.round(rec.at - t0) });
      log(`[chaos seed ${opts.seed}] fault ${pf.i} +${Math.round((rec.at - t0) / 1000)} s: ${pf.kind} on ${rec.nodes.join(',')} for ${pf.holdMs} ms`);
      await sleep(pf.holdMs);
      await run.undo();
      rec.undoneAt = now();
      // Wait for one stable copy; a fence that lands after the undo (or during the wait) leaves a
      // node down or an agent gone: restore again, the recovery still counts from the first undo.
      let rAt = await run.waitRecovered(rec.undoneAt, bound + STABLE_MS + 2000);
      for (let again = 0; again < 3 && run.needsRestore(); again++) {
        log(`[chaos seed ${opts.seed}] fault ${pf.i}: a node or agent went down after the undo; restoring again`);
        await run.undo();
        rAt = await run.waitRecovered(rec.undoneAt, Math.max(STABLE_MS + 2000, bound + STABLE_MS + 2000 - (now() - rec.undoneAt)));
      }
      const quorate = await t.waitQuorate(rejoinBound).then(() => true, () => false);
      if (!quorate) {
        liveViolations.push({ seed: opts.seed, fault: pf.i, rule: 'rejoin', at: Math.round(now() - t0), detail: `not every node in one quorate partition ${rejoinBound} ms after the undo: ${JSON.stringify(await run.statuses())}` });
        log(`[chaos seed ${opts.seed}] fault ${pf.i}: REJOIN not within ${rejoinBound} ms`);
      }
      rec.settledAt = now();
      log(`[chaos seed ${opts.seed}] fault ${pf.i}: ${rAt === undefined ? 'NO single copy' : `single copy ${Math.round(rAt - rec.undoneAt)} ms after the undo`}; quorate ${quorate}`);
      await sleep(pf.gapMs);
    }
    await sleep(STABLE_MS); // the last recovery's stability window is on the timeline
    const tl = await s.stop();
    const fenceHistory = await run.fenceHistory();
    const res = check({ seed: opts.seed, timeline: tl, fenceLog: c.fenceLog, faults: records, boots: run.boots, cuts: run.cuts(), t0, recoveryBoundMs: bound, fenceHistory });
    const violations = [...res.violations, ...liveViolations].sort((a, b) => a.at - b.at);
    const schedule = ran.map((r, k) => ({ ...r, recoveryMs: res.recoveryMs[k] ?? null, unsettledMs: res.unsettledMs[k] ?? 0 }));
    const fences = c.fenceLog.filter((e) => e.action === 'off' || e.action === 'reboot').length;
    let keptIn: string | undefined;
    if (violations.length > 0 || opts.keep) {
      keptIn = fs.mkdtempSync(path.join(os.tmpdir(), `tsha-chaos-seed${opts.seed}-`));
      fs.writeFileSync(path.join(keptIn, 'report.json'), JSON.stringify({ seed: opts.seed, topology: opts.topology, t0, violations, schedule, records, boots: run.boots, fenceLog: c.fenceLog, fenceHistory, events: c.events }, null, 1));
      fs.writeFileSync(path.join(keptIn, 'timeline.json'), JSON.stringify(outsideView(tl, run.boots, run.cuts())));
      for (const [n, p] of t.agents) fs.copyFileSync(p.logFile, path.join(keptIn, `${n}.agent.log`));
      if (t.witnessProc) fs.copyFileSync(t.witnessProc.logFile, path.join(keptIn, 'witness.log'));
    }
    return { seed: opts.seed, topology: opts.topology, schedule, violations, overlapMs: res.overlapMs, fences, durationMs: Math.round(now() - t0), keptIn };
  } finally {
    await s?.stop().catch(() => undefined);
    await c.destroy();
  }
}

/** Fault injection and undo on one cluster. */
class Campaign {
  readonly boots: BootWindow[] = [];
  private paused: number | undefined;

  constructor(
    private readonly c: Cluster,
    private readonly t: TshaCluster,
    private readonly s: UnitSampler,
    private readonly log: (line: string) => void,
  ) {}

  /** The node the unit is active on at the last tick (undefined while it is nowhere or moving). */
  private holder(): ClusterNode | undefined {
    const last = this.s.timeline().ticks.at(-1);
    const on = this.c.nodes.filter((n) => last?.states[n.name] === 'active');
    return on.length === 1 ? on[0] : undefined;
  }

  async inject(pf: PlannedFault, coordinator: string | undefined): Promise<FaultRecord> {
    const { c, t } = this;
    const nodes = c.nodes;
    const holder = this.holder();
    const rec = (at: number, ns: readonly ClusterNode[], fenceable = ns): FaultRecord => ({ i: pf.i, kind: pf.kind, nodes: ns.map((n) => n.name), fenceable: fenceable.map((n) => n.name), at });
    switch (pf.kind) {
      case 'power-loss-holder':
      case 'power-loss-other': {
        const others = nodes.filter((n) => n !== holder);
        const n = pf.kind === 'power-loss-holder' && holder ? holder : choose(others, pf.pick);
        return rec((await c.powerLoss(n)).t, [n]);
      }
      case 'cut-link': {
        const n = choose(nodes, pf.pick);
        return rec(await c.cutLink(n), [n]);
      }
      case 'cut-pair': {
        const pairs = nodes.flatMap((a, i) => nodes.slice(i + 1).map((b) => [a, b] as const));
        const [a, b] = choose(pairs, pf.pick);
        return rec(await c.cutPair(a, b), [a, b]);
      }
      case 'cut-one-way': {
        const pairs = nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => [a, b] as const));
        const [a, b] = choose(pairs, pf.pick);
        return rec(await c.cutPair(a, b, { oneWay: true }), [a, b]);
      }
      case 'pause-coordinator':
      case 'pause-member': {
        const coord = nodes.find((n) => n.name === coordinator);
        const n = pf.kind === 'pause-coordinator' && coord ? coord : choose(nodes.filter((x) => x !== coord), pf.pick);
        const pid = t.agentPid(n);
        if (pid === undefined) throw new Error(`chaos: no agent process on ${n.name} to pause`);
        process.kill(pid, 'SIGSTOP');
        this.paused = pid;
        return rec(now(), [n]);
      }
      case 'kill-agent':
      case 'term-agent': {
        const n = choose(nodes, pf.pick);
        const p = t.agents.get(n.name)!;
        const at = now();
        p.kill(pf.kind === 'kill-agent' ? 'SIGKILL' : 'SIGTERM');
        await p.exited;
        // A graceful exit touches nothing: fencing that node would be a violation.
        return rec(at, [n], pf.kind === 'kill-agent' ? [n] : []);
      }
      case 'witness-loss': {
        if (!c.witness) throw new Error('chaos: witness-loss needs a witness (--nodes 2w)');
        return rec((await c.witnessLoss()).t, [c.witness], []);
      }
    }
  }

  /** Every power cut so far (faults and fences alike), from the harness's event log. */
  cuts(): PowerCut[] {
    return this.c.events.filter((e) => e.kind === 'power-loss' && e.node !== undefined).map((e) => ({ node: e.node!, t: e.t }));
  }

  /** Whether a node (or the witness) is powered off, or an agent is not running. */
  needsRestore(): boolean {
    const { c, t } = this;
    if (c.all.some((n) => n.power === 'down')) return true;
    if (c.nodes.some((n) => !t.agents.get(n.name)?.running())) return true;
    return c.witness !== undefined && !t.witnessProc?.running();
  }

  /** Heal every cut, continue a paused agent, power on what is off and start every agent that is not running. */
  async undo(): Promise<void> {
    const { c, t } = this;
    await c.healAll();
    if (this.paused !== undefined) {
      try {
        process.kill(this.paused, 'SIGCONT');
      } catch {
        /* gone: its node was fenced meanwhile */
      }
      this.paused = undefined;
    }
    for (const n of c.all) {
      if (n.power !== 'down') continue;
      const from = now();
      await c.powerOn(n);
      this.boots.push({ node: n.name, from, to: now() });
      this.log(`  powered on ${n.name} (boot ${Math.round(now() - from)} ms)`);
    }
    for (const n of c.nodes) if (!t.agents.get(n.name)?.running()) t.startAgent(n);
    if (c.witness && !t.witnessProc?.running()) t.startWitness();
  }

  /** Until one stable copy is seen after `from` (see checker.recoveredAt); undefined after timeoutMs. */
  async waitRecovered(from: number, timeoutMs: number): Promise<number | undefined> {
    const end = now() + timeoutMs;
    for (;;) {
      const tl = this.s.timeline();
      const r = recoveredAt(outsideView({ ...tl, ticks: tl.ticks.filter((k) => k.t >= from) }, this.boots, this.cuts()), from);
      if (r !== undefined) return r;
      if (now() > end) return undefined;
      await sleep(200);
    }
  }

  /** The cluster's fence history, every record it keeps, from the first node that answers. */
  async fenceHistory(): Promise<CheckInput['fenceHistory']> {
    for (const n of this.c.nodes) {
      const st = n.power === 'up' ? await this.t.status(n, 2000, { fenceHistoryLimit: FENCE_HISTORY + 100 }) : null;
      if (st) return { events: st.fenceHistory, keeps: FENCE_HISTORY };
    }
    return null;
  }

  /** Each powered node's view (coordinator, quorate), for a rejoin violation's detail. */
  async statuses(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const n of this.c.nodes) {
      const st = n.power === 'up' ? await this.t.status(n, 500) : null;
      out[n.name] = st ? { coordinator: st.coordinator, quorate: st.quorum?.quorate } : n.power === 'up' ? 'no answer' : 'down';
    }
    return out;
  }
}
