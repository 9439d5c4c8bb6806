// The fault schedule of a chaos campaign, drawn from a seed: the same seed gives the same kinds,
// node picks, hold times and gaps. Which concrete node a pick lands on depends on the cluster at
// that moment (who holds the resource, who coordinates), and is recorded when the fault runs.

export type FaultKind =
  | 'power-loss-holder' // the node running the unit loses power; powered on and its agent started after the hold
  | 'power-loss-other' // a node not running the unit loses power; same undo
  | 'cut-link' // a node's bridge port goes down; up again after the hold
  | 'cut-pair' // frames between two nodes dropped at the switch (both still reach the rest); healed after the hold
  | 'cut-one-way' // frames from one node to another dropped, the other way passes (asymmetric); healed after the hold
  | 'pause-coordinator' // the coordinator's agent SIGSTOPped; SIGCONT after the hold
  | 'pause-member' // a non-coordinator's agent SIGSTOPped; SIGCONT after the hold
  | 'kill-agent' // an agent SIGKILLed; started again after the hold
  | 'term-agent' // an agent SIGTERMed (graceful exit); started again after the hold
  | 'witness-loss'; // the witness loses power (2 nodes + witness only); powered on and restarted after the hold

export const KINDS_3: readonly FaultKind[] = ['power-loss-holder', 'power-loss-other', 'cut-link', 'cut-pair', 'cut-one-way', 'pause-coordinator', 'pause-member', 'kill-agent', 'term-agent'];
export const KINDS_2W: readonly FaultKind[] = [...KINDS_3, 'witness-loss'];

export interface PlannedFault {
  /** 0-based position in the campaign */
  readonly i: number;
  readonly kind: FaultKind;
  /** in [0, 1): which of the candidate nodes (or pairs) the fault hits, as index floor(pick × count) */
  readonly pick: number;
  /** how long the fault lasts before it is undone */
  readonly holdMs: number;
  /** quiet time after the cluster recovered from it, before the next fault */
  readonly gapMs: number;
}

/**
 * mulberry32, a small 32-bit generator, returning floats in [0, 1). Its state starts from the seed
 * through murmur3's finalizer: mulberry32's first outputs for neighbouring seeds (1, 2, 3) are
 * alike, and campaigns of seeds seed, seed+1, … should differ from their first fault.
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b) >>> 0;
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35) >>> 0;
  a = (a ^ (a >>> 16)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Hold-time range per kind, ms: a SIGSTOP shorter and longer than the failure timeout, power off long enough to be noticed. */
const HOLD_MS: Record<FaultKind, readonly [number, number]> = {
  'power-loss-holder': [1000, 5000],
  'power-loss-other': [1000, 5000],
  'cut-link': [500, 6000],
  'cut-pair': [500, 6000],
  'cut-one-way': [500, 6000],
  'pause-coordinator': [300, 6000],
  'pause-member': [300, 6000],
  'kill-agent': [200, 4000],
  'term-agent': [200, 4000],
  'witness-loss': [1000, 6000],
};

/** `count` faults drawn from `seed` among `kinds`, gaps of 1–4 s. */
export function drawSchedule(seed: number, count: number, kinds: readonly FaultKind[]): PlannedFault[] {
  const r = rng(seed);
  const out: PlannedFault[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[Math.floor(r() * kinds.length)]!;
    const [lo, hi] = HOLD_MS[kind];
    out.push({ i, kind, pick: r(), holdMs: Math.round(lo + r() * (hi - lo)), gapMs: Math.round(1000 + r() * 3000) });
  }
  return out;
}

/** The element of `xs` a pick in [0, 1) selects. */
export function choose<T>(xs: readonly T[], pick: number): T {
  if (xs.length === 0) throw new Error('choose: no candidates');
  return xs[Math.min(xs.length - 1, Math.floor(pick * xs.length))]!;
}
