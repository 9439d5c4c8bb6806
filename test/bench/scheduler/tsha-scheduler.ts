// Finds tsha's scheduler (src/core/scheduler/index.ts, issue 4) and reads the start actions out of
// the plan it returns, so the bench can say whether tsha and Pacemaker solved the same problem.

import type { CompiledConfig } from '../../../src/config/types.js';
import type { ClusterSnapshot } from '../../../src/core/snapshot.js';

export type ScheduleFn = (snapshot: ClusterSnapshot, config: CompiledConfig, now: number) => unknown;

export interface LoadedScheduler {
  schedule: ScheduleFn | null;
  /** where it came from, or why it is missing */
  reason: string;
}

export async function loadTshaScheduler(): Promise<LoadedScheduler> {
  // A computed specifier: the module does not exist until the scheduler branch is merged.
  const specifier = new URL('../../../src/core/scheduler/index.js', import.meta.url).href;
  try {
    const mod = (await import(specifier)) as { schedule?: unknown };
    if (typeof mod.schedule !== 'function') return { schedule: null, reason: 'src/core/scheduler/index.ts exports no schedule()' };
    return { schedule: mod.schedule as ScheduleFn, reason: 'schedule() from src/core/scheduler/index.ts' };
  } catch (e) {
    return { schedule: null, reason: `cannot load src/core/scheduler/index.ts (${e instanceof Error ? e.message.split('\n')[0] : String(e)})` };
  }
}

/** Start actions of a plan, one entry per primitive instance ("rsc" with any ":n" dropped), or null if unreadable. */
export function planStarts(plan: unknown): string[] | null {
  const actions = (plan as { actions?: unknown } | null)?.actions;
  const list = Array.isArray(actions) ? actions : actions instanceof Map ? [...actions.values()] : null;
  if (list === null) return null;
  const starts: string[] = [];
  for (const a of list as Record<string, unknown>[]) {
    const kind = a['type'] ?? a['kind'] ?? a['action'] ?? a['op'];
    const rsc = a['resource'] ?? a['rsc'];
    if (kind === 'start' && typeof rsc === 'string') starts.push(rsc.replace(/:\d+$/, ''));
  }
  return starts;
}
