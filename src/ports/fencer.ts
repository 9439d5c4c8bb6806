// The fencer port: how the runtime carries out the core's `fence` effects. Production: fence-agents
// executables (src/adapters/fence/) run through the configured fence levels. The outcome is a value;
// `confirmed` is true ONLY when a fence agent reported success for every device of one level
// (types.ts rule 3: the runtime never reports an unconfirmed fence as ok).

import type { NodeName } from '../config/types.js';

export interface FenceAttemptResult {
  device: string;
  level: number;
  status: 'ok' | 'error' | 'timeout' | 'notInstalled';
  exitCode: number | null;
  /** one line: the agent's stderr tail, the timeout, or why it could not run */
  reason: string;
  durationMs: number;
}

export interface FenceOutcome {
  target: NodeName;
  confirmed: boolean;
  /** every device tried, in order */
  attempts: FenceAttemptResult[];
}

export interface Fencer {
  /** power `target` off through its fence levels in order; never throws */
  fence(target: NodeName, action: 'off' | 'reboot'): Promise<FenceOutcome>;
}
