// The external observer for many units at once (the scale benchmark's 100 resources): ONE D-Bus call
// per node per tick (Manager.ListUnitsByPatterns, what `systemctl --user list-units NAMES…` asks)
// reads the ActiveState of every unit of the set on every node's systemd, from outside the nodes,
// all nodes in the same tick. One Get per unit per node would be 300 calls a tick for 100 units:
// the observer would then load the machine it measures and fall behind its cadence.
//
// Node-level readings are the single-unit sampler's: a node whose systemd does not answer is
// 'unknown' while any of its processes is alive and 'down' once they are all gone. Projected onto
// one unit (unitTimeline), an 'unknown' node counts as running that unit only if it ran it when
// its systemd last answered: a silent node cannot have started anything new that anyone saw, and
// counting it as running all 100 units would turn every survivor's own units into "overlap".
import type { SampledNode, SampledState, Timeline } from './sampler.js';
import { RUNNING_STATES } from './sampler.js';
import { SystemdBus } from './systemd-bus.js';
import { now, sleep } from './sh.js';

/** One node in one tick: the units in a state other than inactive (absent = inactive), or the whole node unreadable. */
export type NodeReading = Readonly<Record<string, SampledState>> | 'unknown' | 'down';

export interface SetTick {
  /** Tick start, on the harness clock (`now()`), in ms. */
  readonly t: number;
  /** How long the tick's D-Bus reads took. */
  readonly dt: number;
  readonly nodes: Readonly<Record<string, NodeReading>>;
}

export interface SetTimeline {
  readonly units: readonly string[];
  readonly nodes: readonly string[];
  readonly everyMs: number;
  readonly ticks: readonly SetTick[];
}

const KNOWN: ReadonlySet<string> = new Set(['active', 'activating', 'deactivating', 'reloading', 'inactive', 'failed', 'maintenance']);

export class UnitSetSampler {
  private readonly ticks: SetTick[] = [];
  private readonly buses = new Map<string, SystemdBus>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly nodes: readonly SampledNode[],
    readonly units: readonly string[],
    readonly everyMs = 50,
    /** As UnitSampler's: generous, so that a slow reply never turns a stopped unit into a maybe-running one. */
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

  private async sampleNode(n: SampledNode): Promise<NodeReading> {
    if (n.power === 'down' && n.processesGone()) return 'down';
    try {
      const states = await this.bus(n).activeStates(this.units, this.replyTimeoutMs);
      const out: Record<string, SampledState> = {};
      for (const [unit, s] of states) if (s !== 'inactive') out[unit] = (KNOWN.has(s) ? s : 'unknown') as SampledState;
      return out;
    } catch {
      return n.processesGone() ? 'down' : 'unknown';
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = now();
      const readings = await Promise.all(this.nodes.map((n) => this.sampleNode(n)));
      this.ticks.push({ t, dt: now() - t, nodes: Object.fromEntries(this.nodes.map((n, i) => [n.name, readings[i] as NodeReading])) });
      const wait = t + this.everyMs - now();
      if (wait > 0) await sleep(wait);
    }
  }

  /** The timeline so far (a copy of the tick list). */
  timeline(): SetTimeline {
    return { units: this.units, nodes: this.nodes.map((n) => n.name), everyMs: this.everyMs, ticks: [...this.ticks] };
  }

  /** The latest tick, if any. */
  last(): SetTick | undefined {
    return this.ticks.at(-1);
  }

  /** Waits until `pred` holds for a tick taken from now on (or a buffered one not yet seen), or throws after timeoutMs. */
  async waitUntil(what: string, pred: (tick: SetTick) => boolean, timeoutMs: number, fromNow = false): Promise<SetTick> {
    const deadline = now() + timeoutMs;
    let seen = fromNow ? this.ticks.length : 0;
    for (;;) {
      for (; seen < this.ticks.length; seen++) {
        const tick = this.ticks[seen] as SetTick;
        if (pred(tick)) return tick;
      }
      if (now() > deadline) throw new Error(`unit-set sampler: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(this.everyMs / 2);
    }
  }

  async stop(): Promise<SetTimeline> {
    this.stopped = true;
    await this.loop;
    for (const b of this.buses.values()) b.close();
    this.buses.clear();
    return this.timeline();
  }
}

/** Nodes on which each unit of the set is `active` in one tick (every unit of the set is a key). */
export function activeNodes(tl: Pick<SetTimeline, 'units'>, tick: SetTick): Map<string, string[]> {
  const out = new Map<string, string[]>(tl.units.map((u) => [u, []]));
  for (const [node, r] of Object.entries(tick.nodes)) {
    if (typeof r === 'string') continue;
    for (const [unit, s] of Object.entries(r)) if (s === 'active') out.get(unit)?.push(node);
  }
  return out;
}

/**
 * True when every unit of the set is `active` on exactly one node and nothing else runs anywhere
 * (no unit starting, stopping or unreadable): a placement to inject a fault into.
 */
export function settledPlacement(tl: Pick<SetTimeline, 'units'>, tick: SetTick): boolean {
  for (const r of Object.values(tick.nodes)) {
    if (r === 'unknown') return false;
    if (r === 'down') continue;
    for (const s of Object.values(r)) if (s !== 'active' && (RUNNING_STATES.has(s) || s === 'unknown')) return false;
  }
  return [...activeNodes(tl, tick).values()].every((ns) => ns.length === 1);
}

/**
 * One unit's timeline in the single-unit sampler's shape, so overlap(), firstActiveAfter(),
 * lastRunningOn() and samplingStats() apply. A node-level 'unknown' becomes 'unknown' for this
 * unit only when the unit was running there at the node's last answered tick, else 'inactive'.
 */
export function unitTimeline(tl: SetTimeline, unit: string): Timeline {
  const lastSeen = new Map<string, SampledState>();
  const ticks = tl.ticks.map((tick) => {
    const states: Record<string, SampledState> = {};
    for (const node of tl.nodes) {
      const r = tick.nodes[node];
      if (r === undefined || r === 'down') states[node] = 'down';
      else if (r === 'unknown') {
        const before = lastSeen.get(node) ?? 'inactive';
        states[node] = RUNNING_STATES.has(before) || before === 'unknown' ? 'unknown' : 'inactive';
      } else {
        states[node] = r[unit] ?? 'inactive';
        lastSeen.set(node, states[node]);
      }
    }
    return { t: tick.t, dt: tick.dt, states };
  });
  return { unit, nodes: tl.nodes, everyMs: tl.everyMs, ticks };
}
