// Summary statistics the benchmarks share.

/** The middle sample, or the mean of the two middle ones (NaN for none). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank summary of at least one sample: the sample at ⌊p·n⌋ of the sorted list for each quantile. */
export function nearestRank(xs: number[]): { min: number; median: number; p95: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { min: s[0]!, median: q(0.5), p95: q(0.95), p99: q(0.99), max: s[s.length - 1]! };
}
