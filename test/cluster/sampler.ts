// The external observer behind the failover and overlap figures: polls one unit's ActiveState on
// every node's systemd over D-Bus from outside the nodes, all nodes in the same tick, and keeps the
// timeline. A node whose systemd does not answer is 'unknown' while any of its processes is alive
// (its copy may still run) and 'down' once they are all gone (a powered-off node is inactive).
import { SystemdBus } from './systemd-bus.js';
import { now, sleep } from './sh.js';

export type SampledState =
  | 'active'
  | 'activating'
  | 'deactivating'
  | 'reloading'
  | 'inactive'
  | 'failed'
  | 'maintenance'
  | 'unknown' // systemd unreachable but the node still has live processes
  | 'down'; // node powered off and every process of it gone

/** What the sampler needs from a node (ClusterNode satisfies it). */
export interface SampledNode {
  readonly name: string;
  readonly busAddress: string;
  /** True when no process of the node is alive (checked only when its systemd does not answer). */
  processesGone(): boolean;
  /** 'down' once the harness cut its power: then the bus is not even tried while nothing of it lives. */
  readonly power?: 'up' | 'down';
}

export interface Tick {
  /** Tick start, on the harness clock (`now()`), in ms. */
  readonly t: number;
  /** How long the tick's D-Bus reads took (a large value means a manager was slow to answer). */
  readonly dt?: number;
  readonly states: Readonly<Record<string, SampledState>>;
}

export interface Timeline {
  readonly unit: string;
  readonly nodes: readonly string[];
  readonly everyMs: number;
  readonly ticks: readonly Tick[];
}

/** States in which the unit's processes may be running. */
export const RUNNING_STATES: ReadonlySet<SampledState> = new Set(['active', 'activating', 'deactivating', 'reloading']);

export class UnitSampler {
  private readonly ticks: Tick[] = [];
  private readonly buses = new Map<string, SystemdBus>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: readonly SampledNode[],
    readonly unit: string,
    readonly everyMs = 20,
    /**
     * How long a live node's systemd may take to answer before it counts as 'unknown'. Generous on
     * purpose: on a loaded machine a slow reply must not turn a stopped unit into a maybe-running
     * one (a false overlap). Only a stopped or dying manager makes ticks this slow.
     */
    readonly replyTimeoutMs = 1000,
  ) {
    this.loop = this.run();
  }

  private bus(n: SampledNode): SystemdBus {
    let b = this.buses.get(n.name);
    if (!b || b.address !== n.busAddress) {
      b?.close();
      b = new SystemdBus(n.busAddress);
      this.buses.set(n.name, b);
    }
    return b;
  }

  private async sampleNode(n: SampledNode): Promise<SampledState> {
    if (n.power === 'down' && n.processesGone()) return 'down';
    try {
      const s = await this.bus(n).activeState(this.unit, this.replyTimeoutMs);
      return (RUNNING_STATES.has(s as SampledState) || ['inactive', 'failed', 'maintenance'].includes(s) ? s : 'unknown') as SampledState;
    } catch {
      return n.processesGone() ? 'down' : 'unknown';
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      const states = await Promise.all(this.nodes.map((n) => this.sampleNode(n)));
      this.ticks.push({ t, dt: now() - t, states: Object.fromEntries(this.nodes.map((n, i) => [n.name, states[i] as SampledState])) });
      const wait = t + this.everyMs - now();
      if (wait > 0) await sleep(wait);
    }
  }

  /** The timeline so far (a copy). */
  timeline(): Timeline {
    return { unit: this.unit, nodes: this.nodes.map((n) => n.name), everyMs: this.everyMs, ticks: [...this.ticks] };
  }

  /**
   * The first tick for which `pred` holds, waiting up to timeoutMs. It looks at every tick since the
   * sampler started, unless `fromNow`: then only at ticks taken after this call (a state the unit
   * had before an event, such as the start before a power loss, must not answer a wait for after it).
   */
  async waitUntil(what: string, pred: (tick: Tick) => boolean, timeoutMs: number, fromNow = false): Promise<Tick> {
    const deadline = now() + timeoutMs;
    let seen = fromNow ? this.ticks.length : 0;
    for (;;) {
      for (; seen < this.ticks.length; seen++) {
        const tick = this.ticks[seen] as Tick;
        if (pred(tick)) return tick;
      }
      if (now() > deadline) throw new Error(`sampler: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.everyMs / 2);
    }
  }

  async stop(): Promise<Timeline> {
    this.stopped = true;
    await this.loop;
    for (const b of this.buses.values()) b.close();
    this.buses.clear();
    return this.timeline();
  }
}

export function sampleUnits(nodes: readonly SampledNode[], unit: string, everyMs = 20, replyTimeoutMs = 1000): UnitSampler {
  return new UnitSampler(nodes, unit, everyMs, replyTimeoutMs);
}

export interface OverlapInterval {
  readonly from: number;
  readonly to: number;
  readonly nodes: readonly string[];
}

export interface Overlap {
  /** Number of ticks at which two or more nodes may be running the unit. */
  readonly ticks: number;
  /** Total time covered by those ticks (each tick lasts until the next one). */
  readonly ms: number;
  readonly intervals: readonly OverlapInterval[];
}

/**
 * Ticks at which two or more nodes ran the unit at the same sampled instant. By default a node in
 * 'unknown' (systemd silent, processes alive) counts as running: the safe reading for a safety check.
 */
export function overlap(tl: Timeline, opts: { unknownAsRunning?: boolean } = {}): Overlap {
  const unknownAsRunning = opts.unknownAsRunning ?? true;
  const intervals: OverlapInterval[] = [];
  let ticks = 0;
  let ms = 0;
  tl.ticks.forEach((tick, i) => {
    const running = Object.entries(tick.states)
      .filter(([, s]) => RUNNING_STATES.has(s) || (unknownAsRunning && s === 'unknown'))
      .map(([n]) => n);
    if (running.length < 2) return;
    const next = tl.ticks[i + 1];
    const to = next ? next.t : tick.t + tl.everyMs;
    ticks++;
    ms += to - tick.t;
    const last = intervals[intervals.length - 1];
    if (last && last.to === tick.t && last.nodes.join() === running.join()) intervals[intervals.length - 1] = { ...last, to };
    else intervals.push({ from: tick.t, to, nodes: running });
  });
  return { ticks, ms, intervals };
}

export interface FirstActive {
  readonly node: string;
  /** Tick time at which the unit was first seen active. */
  readonly t: number;
  /** t minus the fault time. */
  readonly ms: number;
}

/** First tick at or after `faultT` where the unit is 'active' on a node not in `exclude` (the failed holder). */
export function firstActiveAfter(tl: Timeline, faultT: number, opts: { exclude?: readonly string[] } = {}): FirstActive | undefined {
  const exclude = new Set(opts.exclude ?? []);
  for (const tick of tl.ticks) {
    if (tick.t < faultT) continue;
    for (const [node, s] of Object.entries(tick.states)) {
      if (!exclude.has(node) && s === 'active') return { node, t: tick.t, ms: tick.t - faultT };
    }
  }
  return undefined;
}

/** Last tick at which `node` may have been running the unit (useful for "how long did the loser keep its copy"). */
export function lastRunningOn(tl: Timeline, node: string): number | undefined {
  for (let i = tl.ticks.length - 1; i >= 0; i--) {
    const tick = tl.ticks[i] as Tick;
    const s = tick.states[node];
    if (s && (RUNNING_STATES.has(s) || s === 'unknown')) return tick.t;
  }
  return undefined;
}

/** How well the cadence held: gaps between tick starts (a failover figure is only as fine as maxGapMs). */
export function samplingStats(tl: { readonly ticks: readonly { readonly t: number }[] }): { ticks: number; medianGapMs: number; maxGapMs: number } {
  const gaps = tl.ticks.slice(1).map((tick, i) => tick.t - tl.ticks[i]!.t).sort((a, b) => a - b);
  return { ticks: tl.ticks.length, medianGapMs: gaps[Math.floor(gaps.length / 2)] ?? 0, maxGapMs: gaps[gaps.length - 1] ?? 0 };
}
