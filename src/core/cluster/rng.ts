// A tiny seeded generator (mulberry32). The core never reaches for Math.random: a node's state
// carries its generator state, seeded by the caller, so every run replays exactly.

export type RngState = number;

/** Returns [value in [0, 1), next state]. */
export function nextRandom(state: RngState): [number, RngState] {
  const s = (state + 0x6d2b79f5) | 0;
  let t = s;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return [((t ^ (t >>> 14)) >>> 0) / 4294967296, s];
}

/** A mutable wrapper for callers (the simulator) that want a stream of numbers. */
export class Rng {
  constructor(private state: RngState) {}
  next(): number {
    const [v, s] = nextRandom(this.state);
    this.state = s;
    return v;
  }
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
}
