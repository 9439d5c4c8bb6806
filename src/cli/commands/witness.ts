// `tsha witness --config FILE`: the tie-breaker of a two-node cluster (like corosync-qnetd). It
// runs the cluster core in its witness role over the same mesh: it votes in elections and counts
// toward quorum, and hosts no resources (the core never places anything on it).

import type { Command } from 'commander';
import { addDaemonOptions, runDaemonCommand, type DaemonCliOptions } from './agent.js';

export function register(program: Command): void {
  const cmd = program.command('witness').description('run the quorum witness (tie-breaker) of a two-node cluster');
  addDaemonOptions(cmd, 'witness').action(async (opts: DaemonCliOptions, command: Command) => {
    process.exitCode = await runDaemonCommand('witness', opts, command);
  });
}
