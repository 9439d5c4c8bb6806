// The scheduler's public surface: schedule() (the pipeline, schedule.ts), the plan executor,
// simulation, record/replay and the next-snapshot derivation. See docs/scheduler.md.

export { schedule } from './schedule.js';
export type { ActionResult, ActionStatus, Plan, PlanAction, PlanActionType, PlanEdge, SchedulerInput, StoppedReason } from './types.js';
export { PlanCycleError } from './graph.js';
export { SchedulerInputError } from './unpack-status.js';
export { nextDeadline, startRun, stepRun } from './executor.js';
export type { ActionState, RunEffect, RunInput, RunPhase, RunState } from './executor.js';
export { applyResults } from './apply-results.js';
export { injectNodeFailures, parseOpFailure, simulate, simulatedResult, SimulationInputError } from './simulate.js';
export type { OpFailure, SimulateOptions, SimulationResult } from './simulate.js';
export { parseSchedulerInput, RECORD_FORMAT, RecordFormatError, serializeSchedulerInput } from './record.js';
