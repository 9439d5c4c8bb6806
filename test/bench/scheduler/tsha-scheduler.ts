// tsha's side of the scheduler benchmark: the scheduler under test (src/core/scheduler)
// and the start actions read out of its plan, so the bench can say whether tsha and Pacemaker
// solved the same problem.

import type { CompiledConfig } from '../../../src/config/types.js';
import { schedule, type Plan } from '../../../src/core/scheduler/index.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot.js';

export type ScheduleFn = (snapshot: ClusterSnapshot, config: CompiledConfig, now: number) => Plan;

export const tshaSchedule: ScheduleFn = schedule;

/** Start actions of a plan, one entry per primitive instance ("rsc", any clone suffix ":n" dropped). */
export function planStarts(plan: Plan): string[] {
  return plan.actions.filter((a) => a.type === 'start' && a.resource !== null).map((a) => a.resource!.replace(/:\d+$/, ''));
}
