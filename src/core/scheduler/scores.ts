// Pacemaker score arithmetic: ±INFINITY saturate, and -INFINITY wins over +INFINITY (a ban is
// stronger than a preference). Finite sums are clamped into (-INFINITY, +INFINITY).
import { INFINITY } from '../../config/types.js';

export { INFINITY };

export function addScores(a: number, b: number): number {
  if (a <= -INFINITY || b <= -INFINITY) return -INFINITY;
  if (a >= INFINITY || b >= INFINITY) return INFINITY;
  const s = a + b;
  if (s >= INFINITY) return INFINITY;
  if (s <= -INFINITY) return -INFINITY;
  return s;
}

/** Scale a score by a colocation factor (score / INFINITY), keeping infinities as they are. */
export function scaleScore(score: number, factor: number): number {
  if (score >= INFINITY || score <= -INFINITY) return factor >= 1 ? score : Math.trunc(score * factor);
  return Math.trunc(score * factor);
}

export function formatScore(score: number): string {
  if (score >= INFINITY) return 'INFINITY';
  if (score <= -INFINITY) return '-INFINITY';
  return String(score);
}
