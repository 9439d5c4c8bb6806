// `tsha resource ban|clear|move|cleanup|enable|disable|manage|unmanage RESOURCE [NODE]`: operator
// commands sent to the local agent's control socket, committed through the cluster's coordinator
// (like crm_resource). A lifetime (`--lifetime 30m`) ends a ban or a move by itself, in cluster
// time.

import type { Command } from 'commander';
import type { CommandResult, ResourceCommand } from '../../ports/control.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';

export async function sendResourceCommand(socket: string, resource: string, c: ResourceCommand, label: string): Promise<number> {
  try {
    const r: CommandResult = await withControlClient(socket, (client) => client.resourceCommand({ resource, requestedBy: `cli:${process.env.USER ?? process.getuid?.() ?? '?'}`, ...c }));
    process.stdout.write(`${r.message} (commit index ${r.committedIndex})\n`);
    for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`tsha ${label}: ${agentError(e).message}\n`);
    return 1;
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "2h", "1d" or plain milliseconds → milliseconds; throws with the option's name on anything else. */
export function parseLifetime(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) === 0) throw new Error(`--lifetime: expected a positive duration such as 90s, 30m, 2h or 1d, got "${text}"`);
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!;
}

interface Opts {
  socket: string;
  lifetime?: string;
  operation?: string;
}

export function register(program: Command): void {
  const res = program.command('resource').description('operator commands on resources (like crm_resource)');
  const sub = (name: string, desc: string, node: 'optional' | 'required' | 'none', make: (node: string, o: Opts) => ResourceCommand, extra?: (c: Command) => void): void => {
    const c = res.command(name).description(desc).argument('<resource>', 'resource id (a primitive, group or clone)');
    if (node === 'optional') c.argument('[node]', 'node name');
    if (node === 'required') c.argument('<node>', 'node name');
    extra?.(c);
    addSocketOption(c).action(async (...args: unknown[]) => {
      const resource = args[0] as string;
      const n = node === 'none' ? '' : ((args[1] as string | undefined) ?? '');
      const opts = args[node === 'none' ? 1 : 2] as Opts;
      let cmd: ResourceCommand;
      try {
        cmd = make(n, opts);
      } catch (e) {
        process.stderr.write(`tsha resource ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = await sendResourceCommand(opts.socket, resource, cmd, `resource ${name}`);
    });
  };
  const lifetime = (c: Command): void => void c.option('--lifetime <duration>', 'end it by itself after this long (90s, 30m, 2h, 1d); default: until cleared');
  const lifetimeMs = (o: Opts): number => (o.lifetime === undefined ? 0 : parseLifetime(o.lifetime));
  sub('ban', 'keep the resource off a node (default: the node running it) until cleared or its lifetime ends', 'optional',
    (node, o) => ({ command: 'ban', ban: { node, lifetimeMs: lifetimeMs(o), promotedOnly: false } }), lifetime);
  sub('clear', 'remove bans and moves of the resource, on one node or all', 'optional', (node) => ({ command: 'clear', clear: { node } }));
  sub('move', 'prefer a node for the resource (it moves there, and runs elsewhere only while it cannot run there) until cleared or its lifetime ends', 'required',
    (node, o) => ({ command: 'move', move: { node, lifetimeMs: lifetimeMs(o), promotedOnly: false } }), lifetime);
  sub('cleanup', 'forget failures of the resource (on one node or all; one operation or all): it may run there again', 'optional',
    (node, o) => ({ command: 'cleanup', cleanup: { node, operation: o.operation ?? '' } }),
    (c) => void c.option('--operation <name>', 'only failures of this operation (start, stop, monitor, promote, demote)'));
  sub('enable', 'set the target role to started (a run-time override of the configuration)', 'none', () => ({ command: 'setTargetRole', setTargetRole: { targetRole: 'started' } }));
  sub('disable', 'set the target role to stopped: the resource (and what must run with it) is stopped', 'none', () => ({ command: 'setTargetRole', setTargetRole: { targetRole: 'stopped' } }));
  sub('manage', 'manage the resource again: start, stop and recover it as configured', 'none', () => ({ command: 'setManaged', setManaged: { managed: true } }));
  sub('unmanage', 'stop managing the resource: it is neither started, stopped nor recovered; monitors only report', 'none', () => ({ command: 'setManaged', setManaged: { managed: false } }));
}
