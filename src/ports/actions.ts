// The action port: how the plan executor's effects are carried out. The daemon plugs in the real
// adapters (systemd over D-Bus, LXC, microVMs, OCF agents, fence agents, DRBD, Ceph); `tsha
// simulate`, the cluster simulator and tests plug in simulated ones (Pacemaker's graph callbacks).

import type { ActionResult, PlanAction } from '../core/scheduler/types.js';

export type { ActionResult, PlanAction };

export interface ActionPort {
  /**
   * Carry out one plan action on its node and report the outcome as a value. Failures are results
   * (`error`, `errorHard`, `errorFatal`, `timeout`, `notInstalled`), never rejections; a rejection
   * is treated as `error`. When `signal` aborts (the action's timeout passed), stop waiting and
   * kill what was started; the executor has already recorded a timeout.
   * A recurring `monitor` action starts the recurring check; its result is the first check's.
   */
  execute(action: PlanAction, signal: AbortSignal): Promise<ActionResult>;
}
