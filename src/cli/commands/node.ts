// `tsha node standby|online|maintenance NODE`: operator commands on nodes, sent to the local agent.

import type { Command } from 'commander';
import type { NodeAction } from '../../ports/control.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';

export function register(program: Command): void {
  const node = program.command('node').description('operator commands on nodes (standby, online, maintenance)');
  const sub = (name: string, desc: string, action: (on: boolean) => NodeAction, withSwitch: boolean): void => {
    const c = node.command(name).description(desc).argument('<node>', 'node name');
    if (withSwitch) c.argument('<on|off>', 'on or off');
    addSocketOption(c).action(async (...args: unknown[]) => {
      const n = args[0] as string;
      const on = withSwitch ? args[1] === 'on' : true;
      if (withSwitch && args[1] !== 'on' && args[1] !== 'off') {
        process.stderr.write(`tsha node ${name}: expected on or off, got ${String(args[1])}\n`);
        process.exitCode = 2;
        return;
      }
      const opts = args[withSwitch ? 2 : 1] as { socket: string };
      try {
        const r = await withControlClient(opts.socket, (client) => client.nodeCommand({ node: n, action: action(on), requestedBy: `cli:${process.env.USER ?? '?'}` }));
        process.stdout.write(`${r.message} (commit index ${r.committedIndex})\n`);
        for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
      } catch (e) {
        process.stderr.write(`tsha node ${name}: ${agentError(e).message}\n`);
        process.exitCode = 1;
      }
    });
  };
  sub('standby', 'move every resource off the node and keep them off', () => 'standby', false);
  sub('online', 'end standby: the node may run resources again', () => 'online', false);
  sub('maintenance', 'stop managing the node\'s resources (on) or resume (off)', (on) => (on ? 'maintenanceOn' : 'maintenanceOff'), true);
}
