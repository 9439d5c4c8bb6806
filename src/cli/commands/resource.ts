// `tsha resource ban|clear|move|cleanup|enable|disable RESOURCE [NODE]`: operator commands sent to
// the local agent's control socket, committed through the cluster's coordinator.

import type { Command } from 'commander';
import { AgentUnreachableError, ControlRequestError } from '../../adapters/grpc/control-client.js';
import type { CommandResult, ResourceCommand } from '../../ports/control.js';
import { addSocketOption, withControlClient } from '../control-socket.js';

export async function sendResourceCommand(socket: string, resource: string, c: ResourceCommand, label: string): Promise<number> {
  try {
    const r: CommandResult = await withControlClient(socket, (client) => client.resourceCommand({ resource, requestedBy: `cli:${process.env.USER ?? process.getuid?.() ?? '?'}`, ...c }));
    process.stdout.write(`${r.message} (commit index ${r.committedIndex})\n`);
    for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
    return 0;
  } catch (e) {
    if (e instanceof AgentUnreachableError || e instanceof ControlRequestError) {
      process.stderr.write(`tsha ${label}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export function register(program: Command): void {
  const res = program.command('resource').description('operator commands on resources (like crm_resource)');
  const sub = (name: string, desc: string, node: 'optional' | 'required' | 'none', make: (node: string) => ResourceCommand): void => {
    const c = res.command(name).description(desc).argument('<resource>', 'resource id');
    if (node === 'optional') c.argument('[node]', 'node name');
    if (node === 'required') c.argument('<node>', 'node name');
    addSocketOption(c).action(async (...args: unknown[]) => {
      const resource = args[0] as string;
      const n = node === 'none' ? '' : ((args[1] as string | undefined) ?? '');
      const opts = args[node === 'none' ? 1 : 2] as { socket: string };
      process.exitCode = await sendResourceCommand(opts.socket, resource, make(n), `resource ${name}`);
    });
  };
  sub('ban', 'keep the resource off a node (default: the node running it) until cleared', 'optional', (node) => ({ command: 'ban', ban: { node, lifetimeMs: 0, promotedOnly: false } }));
  sub('clear', 'remove bans (and moves) of the resource, on one node or all', 'optional', (node) => ({ command: 'clear', clear: { node } }));
  sub('move', 'move the resource to a node (bans it elsewhere until cleared)', 'required', (node) => ({ command: 'move', move: { node, lifetimeMs: 0, promotedOnly: false } }));
  sub('cleanup', 'forget failures of the resource (on one node or all)', 'optional', (node) => ({ command: 'cleanup', cleanup: { node, operation: '' } }));
  sub('enable', 'set target role started', 'none', () => ({ command: 'setTargetRole', setTargetRole: { targetRole: 'started' } }));
  sub('disable', 'set target role stopped', 'none', () => ({ command: 'setTargetRole', setTargetRole: { targetRole: 'stopped' } }));
}
