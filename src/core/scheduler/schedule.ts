// The scheduler: a straight pipeline from a cluster snapshot and a time to a plan, one concern a
// stage, like Pacemaker's pcmk__schedule_actions:
//
//   unpackStatus → applyLocation → assignResources → scheduleActions → scheduleFencing
//     → scheduleStorageHandover → applyOrderings → createGraph
//
// Pure and deterministic: same input, same plan (resource ids are processed in sorted order, node
// ties broken by name), whatever the key order of the objects it is given.

import type { CompiledConfig } from '../../config/types.js';
import type { ClusterSnapshot } from '../snapshot.js';
import { assignResources } from './assign.js';
import { indexConstraints } from './colocation.js';
import { scheduleFencing } from './fencing.js';
import { createGraph } from './graph.js';
import { applyLocation } from './location.js';
import { applyOrderings } from './ordering.js';
import { scheduleActions } from './schedule-actions.js';
import { scheduleStorageHandover } from './storage.js';
import type { Plan } from './types.js';
import { unpackStatus } from './unpack-status.js';

export function schedule(snapshot: ClusterSnapshot, config: CompiledConfig, now: number): Plan {
  const ws = unpackStatus(snapshot, config, now);
  applyLocation(ws);
  const idx = indexConstraints(ws);
  assignResources(ws, idx);
  scheduleActions(ws);
  scheduleFencing(ws);
  scheduleStorageHandover(ws);
  applyOrderings(ws);
  return createGraph(ws);
}
