// Samples any workload from outside the nodes: a per-kind reader says, for one node, whether the
// workload runs there ('active'), does not ('inactive'), or cannot be read ('unknown'; a node
// without power reads 'down'). Its timeline has the shape of the unit sampler's, so overlap() and
// firstActiveAfter() apply as they do to a systemd unit. Used by the per-kind failover benchmark
// (test/bench/failover.ts --kinds), whose readers live in test/bench/kinds.ts.

import type { ClusterNode } from './node.js';
import type { SampledState, Tick, Timeline } from './sampler.js';
import { now, sleep } from './sh.js';

/** Whether the workload runs on one node, read from outside that node's agent. */
export type WorkloadReader = (n: ClusterNode) => Promise<boolean>;

export class WorkloadSampler {
  readonly ticks: Tick[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: readonly ClusterNode[],
    private readonly read: WorkloadReader,
    readonly what: string,
    readonly everyMs = 25,
  ) {
    this.loop = this.run();
  }

  private async state(n: ClusterNode): Promise<SampledState> {
    try {
      return (await this.read(n)) ? 'active' : 'inactive';
    } catch {
      return n.power === 'up' ? 'unknown' : 'down';
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      const states = await Promise.all(this.nodes.map((n) => this.state(n)));
      this.ticks.push({ t, dt: now() - t, states: Object.fromEntries(this.nodes.map((n, i) => [n.name, states[i]!])) });
      await sleep(Math.max(1, this.everyMs - (now() - t)));
    }
  }

  timeline(): Timeline {
    return { unit: this.what, nodes: this.nodes.map((n) => n.name), everyMs: this.everyMs, ticks: [...this.ticks] };
  }

  /** The first tick from now on for which `pred` holds, waiting up to timeoutMs. */
  async waitUntil(what: string, pred: (tick: Tick) => boolean, timeoutMs: number): Promise<Tick> {
    const deadline = now() + timeoutMs;
    let seen = this.ticks.length;
    for (;;) {
      for (; seen < this.ticks.length; seen++) if (pred(this.ticks[seen]!)) return this.ticks[seen]!;
      if (now() > deadline) throw new Error(`workload sampler (${this.what}): timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.everyMs / 2);
    }
  }

  /** The one node the workload has run on, alone, for stableMs (waiting up to timeoutMs). */
  async stableHolder(stableMs: number, timeoutMs: number): Promise<string> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const last = this.ticks.at(-1);
      if (last) {
        const on = Object.entries(last.states).filter(([, s]) => s === 'active').map(([n]) => n);
        const since = this.ticks.findLast((k) => JSON.stringify(k.states) !== JSON.stringify(last.states));
        if (on.length === 1 && Object.values(last.states).every((s) => s === 'active' || s === 'inactive') && last.t - (since?.t ?? this.ticks[0]!.t) >= stableMs) return on[0]!;
      }
      if (now() > deadline) throw new Error(`workload sampler (${this.what}): no single stable holder within ${timeoutMs} ms; last tick ${JSON.stringify(last?.states)}`);
      await sleep(this.everyMs);
    }
  }

  async stop(): Promise<Timeline> {
    this.stopped = true;
    await this.loop;
    return this.timeline();
  }
}
