// Timing: ratios between timeouts, justified in the option docs and docs/configuration.md.

import { type Model, valid } from './model.js';

/** Ratios between timeouts; justified in the option docs and docs/configuration.md. */
export function checkTiming({ s, ctx }: Model): void {
  if (!valid(s.timing)) return;
  const t = s.timing;
  if (t.failureTimeoutMs < 3 * t.heartbeatIntervalMs) {
    ctx.error(
      'timing.failureTimeoutMs',
      `must be at least 3 × timing.heartbeatIntervalMs (${3 * t.heartbeatIntervalMs}), got ${t.failureTimeoutMs}: one or two late heartbeats must not mark a peer down`,
    );
  }
  if (t.electionTimeoutMs < 3 * t.heartbeatIntervalMs) {
    ctx.error(
      'timing.electionTimeoutMs',
      `must be at least 3 × timing.heartbeatIntervalMs (${3 * t.heartbeatIntervalMs}), got ${t.electionTimeoutMs}: a follower must not start an election between two heartbeats of a live coordinator`,
    );
  }
  if (t.leaseMs <= t.failureTimeoutMs) {
    ctx.error(
      'timing.leaseMs',
      `must be longer than timing.failureTimeoutMs (${t.failureTimeoutMs}), got ${t.leaseMs}: a node must notice it is cut off before its lease runs out, so it can apply the no-quorum policy in time`,
    );
  }
  if (t.watchdogMs % 1000 !== 0) {
    ctx.error('timing.watchdogMs', `must be a whole number of seconds (Linux watchdog timeouts are set in seconds), got ${t.watchdogMs}`);
  }
}
