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

/** One device of one level of one node, as the fencing preflight (`tsha fence check`) saw it. */
export interface FenceCheckRow {
  node: NodeName;
  /** 1-based, in the order the levels are tried */
  level: number;
  device: string;
  agent: string;
  plug: string;
  /** monitor of the device (shared by every node it fences) */
  monitor: 'ok' | 'error' | 'timeout' | 'notInstalled';
  /** what the device says of the plug: its power state, listed or not, or why it could not tell */
  target: 'on' | 'off' | 'listed' | 'notListed' | 'error' | 'timeout' | 'notInstalled' | 'skipped';
  ok: boolean;
  /** one line: the agent's answer or why it failed */
  reason: string;
  /** monitor plus status (and list) time */
  durationMs: number;
}

export interface FenceCheckNode {
  node: NodeName;
  fenceable: boolean;
  /** the first level that would fence it (0: none) */
  level: number;
  /** why it can or cannot be fenced */
  reason: string;
}

export interface FenceCheckReport {
  ok: boolean;
  fencingEnabled: boolean;
  watchdog: boolean;
  nodes: FenceCheckNode[];
  rows: FenceCheckRow[];
  /** nodes that cannot be fenced, in configuration order */
  unfenceable: NodeName[];
  /** the node whose path to the devices was checked */
  checkedFrom: NodeName;
}

export interface Fencer {
  /** power `target` off through its fence levels in order; never throws */
  fence(target: NodeName, action: 'off' | 'reboot'): Promise<FenceOutcome>;
  /**
   * unfence `target`: action on at every fabric-fencing device (unfence) that lists it, in
   * configuration order; confirmed only when every one succeeded (and there is one); never throws
   */
  unfence(target: NodeName): Promise<FenceOutcome>;
  /** ask every device of every level of `nodes` whether it answers for them, powering nothing off; never throws */
  check(nodes: NodeName[]): Promise<FenceCheckReport>;
}
