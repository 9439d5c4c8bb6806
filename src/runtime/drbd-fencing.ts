// DRBD's own fencing hook, answered by the running agent: DRBD runs its fence-peer handler
// (`tsha drbd fence-peer`, src/cli/commands/drbd.ts) when a Primary loses its replication link to a
// peer, or when a node is promoted while a peer's disk is unknown, and promotes (or resumes I/O) only
// if the handler says the peer can no longer write: exit 4 (its disk is outdated) or 7 (it is
// fenced). The handler asks this agent over the control socket; this file decides, from the
// committed cluster state only:
//
//   the peer is down per the committed record (fenced, or its lease and watchdog time ran out),
//     or the outdate_peer takeover recorded its confirmed fence and it is not back      → fenced (7)
//   the peer is a live member → an `outdateRequest` is committed; the peer's agent, once it applied
//     it, runs `drbdadm outdate` and commits an `outdateAnswer`: outdated (4), or it is Primary (6)
//   the peer is lost, not yet fenced → nothing to do but wait: the coordinator fences a lost node
//     (the one fencing path), and once its nodeDown is committed the answer is fenced (7)
//   nothing settled within the handler's timeout (no quorum, a peer that neither answers nor is
//     fenced) → failed (1): DRBD then keeps I/O frozen or refuses the promotion, which is safe.
//
// Why through the replicated log and not a direct message to the peer: the request and its answer
// are then ordered with everything else the cluster decides (a peer fenced meanwhile, a transition
// that promotes it), every node sees them, a new coordinator continues with them, and the simulator
// exercises them with the rest of the log. It costs two commits (a few heartbeats); the handler
// waits that long once per lost link.
//
// The answering side: this node watches the committed requests addressed to it and carries each
// out once (`drbdadm outdate`, refused by DRBD while Primary), proposing its answer again until
// it is committed (a proposal can be lost with a coordinator change).

import type { CompiledConfig, NodeName, PrimitiveResource } from '../config/types.js';
import type { LocalCommand, OutdateOutcome } from '../core/cluster/commands.js';
import { statusOf } from '../core/cluster/node.js';
import type { OutdateRequestRecord } from '../core/cluster/state-machine.js';
import type { Logger } from '../observability/logger.js';
import type { DrbdFencePeerRequest, DrbdFencePeerResult } from '../ports/control.js';
import type { DrbdStorage } from '../adapters/storage/drbd.js';
import type { Agent } from './agent.js';

/** A proposal not seen committed within this long is proposed again. */
const REPROPOSE_MS = 1000;
/** How long `drbdadm outdate` may take here. */
const OUTDATE_TIMEOUT_MS = 10_000;

export interface DrbdFencingOptions {
  agent: Agent;
  /** this node's DRBD driver (made on first use), or null when this build or node has none */
  drbd: () => DrbdStorage | null;
  logger: Logger;
}

export class DrbdFencing {
  private readonly log: Logger;
  /** requests addressed to this node: being carried out, or answered and not yet seen committed */
  private readonly mine = new Map<string, { answer: LocalCommand | null; proposedAt: number }>();
  private readonly off: () => void;
  private seq = 0;
  private closed = false;

  constructor(private readonly o: DrbdFencingOptions) {
    this.log = o.logger.child({ component: 'drbd-fencing', node: o.agent.self });
    this.off = o.agent.subscribe(() => this.afterStep());
  }

  close(): void {
    this.closed = true;
    this.off();
  }

  private get self(): NodeName {
    return this.o.agent.self;
  }

  private requests(): OutdateRequestRecord[] {
    return this.o.agent.view()?.node.cluster.outdateRequests ?? [];
  }

  // ---- the asked node ------------------------------------------------------------------------------

  private afterStep(): void {
    if (this.closed) return;
    const now = performance.now();
    const open = new Set<string>();
    for (const r of this.requests()) {
      if (r.node !== this.self || r.answer !== null) continue;
      open.add(r.id);
      const m = this.mine.get(r.id);
      if (!m) {
        this.mine.set(r.id, { answer: null, proposedAt: now });
        void this.carryOut(r);
      } else if (m.answer && now - m.proposedAt > REPROPOSE_MS) {
        m.proposedAt = now;
        void this.o.agent.command(m.answer);
      }
    }
    for (const id of [...this.mine.keys()]) if (!open.has(id) && this.mine.get(id)!.answer !== null) this.mine.delete(id);
  }

  private async carryOut(r: OutdateRequestRecord): Promise<void> {
    const spec = drbdResourceOf(this.o.agent.currentConfig(), r.resource)?.storage;
    const driver = this.o.drbd();
    let outcome: OutdateOutcome = 'failed';
    let reason: string;
    if (!spec || !driver) {
      reason = !spec ? `no resource holds DRBD resource ${r.resource} in the configuration` : 'no DRBD driver on this node';
    } else {
      const res = await driver.outdate(spec, OUTDATE_TIMEOUT_MS).catch((e: unknown) => ({ outcome: 'failed' as const, reason: e instanceof Error ? e.message : String(e) }));
      outcome = res.outcome;
      reason = res.reason;
    }
    this.log[outcome === 'outdated' ? 'info' : 'warn']({ resource: r.resource, by: r.by, request: r.id, outcome, reason }, `DRBD outdate asked by ${r.by}'s fence-peer handler: ${outcome}`);
    const answer: LocalCommand = { type: 'outdateAnswer', id: r.id, node: this.self, outcome, reason };
    const m = this.mine.get(r.id);
    if (m) Object.assign(m, { answer, proposedAt: performance.now() });
    if (!this.closed) await this.o.agent.command(answer);
  }

  // ---- the asking node (the fence-peer handler here) -------------------------------------------------

  async fencePeer(req: DrbdFencePeerRequest): Promise<DrbdFencePeerResult> {
    const cfg = this.o.agent.currentConfig();
    const peer = peerNode(cfg, req);
    const driver = this.o.drbd();
    if (!peer) return { outcome: 'failed', peer: '', message: `the DRBD peer (${req.peerNode || '?'} at ${req.peerAddress || '?'}) is not a node of this cluster` };
    if (peer === this.self) return { outcome: 'failed', peer, message: `the DRBD peer ${peer} is this node` };
    if (req.unfence) {
      driver?.forgetFence(req.resource, peer);
      return { outcome: 'unfenced', peer, message: `${peer}: the recorded fence for ${req.resource} is forgotten` };
    }
    const t0 = performance.now();
    const deadline = t0 + Math.max(1, req.timeoutMs);
    const id = `${this.self}:${process.pid}:${Date.now()}:${++this.seq}`;
    const request: LocalCommand = { type: 'outdateRequest', id, resource: req.resource, node: peer, by: this.self };
    let proposedAt = -Infinity;
    let waitingFor = 'the agent to start';
    this.log.warn({ resource: req.resource, peer }, 'DRBD fence-peer handler: settling the peer');
    for (;;) {
      const v = this.o.agent.view();
      if (v) {
        const down = v.node.cluster.down[peer];
        const ms = Math.round(performance.now() - t0);
        if (down) return this.done({ outcome: 'fenced', peer, message: `${peer} is down (${down.cause === 'fenced' ? 'fenced' : 'lease expired, watchdog time passed'}, log index ${down.index}) after ${ms} ms` }, req);
        const state = statusOf(v.node, v.now).nodes.find((n) => n.name === peer)?.state ?? 'pending';
        const recorded = driver?.fencedPeer(req.resource, peer) ?? null;
        if (recorded && state !== 'online') return this.done({ outcome: 'fenced', peer, message: `${peer}'s fence was confirmed before the takeover of ${req.resource}` }, req);
        if (recorded) driver?.forgetFence(req.resource, peer); // it is back: the record no longer holds
        const asked = this.requests().find((r) => r.id === id);
        if (asked?.answer) {
          const a = asked.answer;
          const outcome = a.outcome === 'outdated' ? 'outdated' : a.outcome === 'primary' ? 'peerPrimary' : 'failed';
          return this.done({ outcome, peer, message: `${peer}: ${a.reason} (after ${ms} ms)` }, req);
        }
        if (state === 'online' || asked) {
          waitingFor = asked ? `${peer}'s answer to the outdate request` : `the outdate request to ${peer} to be committed`;
          if (!asked && performance.now() - proposedAt > REPROPOSE_MS) {
            proposedAt = performance.now();
            void this.o.agent.command(request);
          }
        } else {
          waitingFor = `the cluster to fence ${peer} (${state})`;
        }
      }
      if (performance.now() >= deadline || this.closed) {
        return this.done({ outcome: 'failed', peer, message: `nothing settled within ${req.timeoutMs} ms: waiting for ${waitingFor}` }, req);
      }
      await this.nextStep(Math.min(200, deadline - performance.now()));
    }
  }

  private done(r: DrbdFencePeerResult, req: DrbdFencePeerRequest): DrbdFencePeerResult {
    this.log[r.outcome === 'failed' ? 'error' : 'warn']({ resource: req.resource, peer: r.peer, outcome: r.outcome }, `DRBD fence-peer handler: ${r.message}`);
    return r;
  }

  /** Resolves after the agent's next step, or after `ms`. */
  private nextStep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(finish, Math.max(1, ms));
      const off = this.o.agent.subscribe(finish);
      function finish(): void {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
}

/** The primitive that holds a DRBD resource (by DRBD's resource name). */
export function drbdResourceOf(cfg: CompiledConfig, resource: string): (PrimitiveResource & { storage: { type: 'drbd'; resource: string } }) | null {
  for (const r of Object.values(cfg.resources)) {
    if (r.type === 'primitive' && r.storage?.type === 'drbd' && r.storage.resource === resource) return r as PrimitiveResource & { storage: { type: 'drbd'; resource: string } };
  }
  return null;
}

/** The tsha node a DRBD peer is: its DRBD host name is the node name; else its address is a node's. */
function peerNode(cfg: CompiledConfig, req: DrbdFencePeerRequest): NodeName | null {
  if (req.peerNode && cfg.nodes.some((n) => n.name === req.peerNode)) return req.peerNode;
  if (!req.peerAddress) return null;
  const host = (a: string): string => a.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return cfg.nodes.find((n) => host(n.meshAddress) === host(req.peerAddress) || Object.values(n.attributes).includes(host(req.peerAddress)))?.name ?? null;
}
