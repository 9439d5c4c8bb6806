// `tsha history [--since DURATION] [--resource ID] [--node NAME] [--kind KIND] [--output text|json]`:
// what the cluster did (fences, failovers, transitions and their outcomes, failures, storage
// takeovers, operator commands, membership), from the replicated state, so every node tells the
// same story; times are the committed cluster times shown on this machine's clock. The agent keeps
// the newest 200 events.

import type { Command } from 'commander';
import type { HistoryEntry } from '../../ports/control.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';
import { outputOption, type Output } from '../output-option.js';
import { primitiveOf } from '../../config/types.js';

/** "90s", "15m", "2h", "1d" → milliseconds; null when it is none of these. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

export interface HistoryFilter {
  sinceUnixMs?: number;
  resource?: string;
  node?: string;
  kind?: string;
}

/** The events a filter keeps; a resource matches its clone instances too ("db" keeps "db:1"). */
export function filterHistory(events: HistoryEntry[], f: HistoryFilter): HistoryEntry[] {
  return events.filter((e) =>
    (f.sinceUnixMs === undefined || e.timeUnixMs >= f.sinceUnixMs) &&
    (f.resource === undefined || e.resource === f.resource || primitiveOf(e.resource) === f.resource) &&
    (f.node === undefined || e.node === f.node || (e.kind === 'transition' && e.text.includes(` ${f.node}`))) &&
    (f.kind === undefined || e.kind === f.kind));
}

export function renderHistory(events: HistoryEntry[]): string {
  if (events.length === 0) return 'No events.\n';
  return events.map((e) => `${new Date(e.timeUnixMs).toISOString()}  ${e.kind.padEnd(14)} ${e.text}`).join('\n') + '\n';
}

export function register(program: Command): void {
  const cmd = program
    .command('history')
    .description('what the cluster did: fences, failovers, transitions, failures, storage takeovers, operator commands (from the replicated state)')
    .option('--since <duration>', 'only events of the last DURATION (90s, 15m, 2h, 1d)')
    .option('--resource <id>', 'only events about this resource (and its clone instances)')
    .option('--node <name>', 'only events about this node')
    .option('--kind <kind>', 'only events of this kind: node-down, node-up, restarting, standby, maintenance, constraint, override, cleanup, failure, transition, failover, transition-end, storage, voters, fence-request, unfence')
    .addOption(outputOption());
  addSocketOption(cmd).action(async (opts: { since?: string; resource?: string; node?: string; kind?: string; output: Output; socket: string }) => {
    const f: HistoryFilter = {};
    if (opts.since !== undefined) {
      const ms = parseDuration(opts.since);
      if (ms === null) {
        process.stderr.write(`tsha history: --since ${opts.since}: expected a duration such as 90s, 15m, 2h or 1d\n`);
        process.exitCode = 2;
        return;
      }
      f.sinceUnixMs = Date.now() - ms;
    }
    if (opts.resource !== undefined) f.resource = opts.resource;
    if (opts.node !== undefined) f.node = opts.node;
    if (opts.kind !== undefined) f.kind = opts.kind;
    try {
      const r = await withControlClient(opts.socket, (client) => client.history({}));
      const events = filterHistory(r.events, f);
      process.stdout.write(opts.output === 'json' ? JSON.stringify({ node: r.nodeSelf, events }, null, 2) + '\n' : renderHistory(events));
    } catch (e) {
      process.stderr.write(`tsha history: ${agentError(e).message}\n`);
      process.exitCode = 1;
    }
  });
}
