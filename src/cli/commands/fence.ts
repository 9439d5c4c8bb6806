// `tsha fence check [NODE]`: the fencing preflight. It asks every fence device of every level
// whether it answers (monitor) and knows the node's plug (status, else list), powering nothing off.
// By default the local agent runs it: the agent has what a fence needs and a login shell lacks
// (the fence agents on its PATH, --fence-path, the device credentials systemd hands it with
// LoadCredential=), and what it checks is this node's path to the devices, the path a fence takes
// when this node coordinates; the agent answers without quorum, so it works while the cluster is
// still forming. With --config FILE the CLI runs the agents itself from that file, for a node
// whose agent does not run yet. Run it on every node. Exit 1 names every node that cannot be fenced.
//
// `tsha fence NODE [--action off|reboot] [--yes]` (stonith_admin --fence): asks the cluster, over
// the local agent's control socket, to fence NODE. The request is committed through the
// coordinator, which fences the node in its next transition like any other fence: recorded in the
// fence history, the node's resources recovered once the fence is confirmed. Refused without
// quorum or with fencing disabled.

import { hostname, userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { Option, type Command } from 'commander';
import { checkFencing, type FenceCheckReport } from '../../adapters/fence/index.js';
import { AgentUnreachableError, ControlRequestError } from '../../adapters/grpc/control-client.js';
import { loadConfig } from '../../config/parse.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';
import { renderFenceCheck } from '../format/fence-check-text.js';
import { outputOption, type Output } from '../output-option.js';

const DEFAULT_CONFIG = '/etc/tsha/config.json';

interface CheckOpts {
  config?: string;
  socket: string;
  output: Output;
  fencePath?: string[];
  timeout: string;
}

interface FenceOpts {
  socket: string;
  action: 'off' | 'reboot';
  yes: boolean;
  cancel: boolean;
  wait: string;
}

export function register(program: Command): void {
  const fence = program
    .command('fence')
    .description('fence a node through the cluster (like stonith_admin --fence), or check that every node can be fenced')
    .argument('[node]', 'node to fence')
    .addOption(new Option('-a, --action <action>', 'what the fence devices do to the node').choices(['off', 'reboot']).default('off'))
    .option('-y, --yes', 'do not ask for confirmation', false)
    .option('--cancel', 'withdraw a fence request the cluster has not carried out yet', false)
    .option('--wait <seconds>', 'how long to wait for the fence to be confirmed', '120')
    .addHelpText(
      'after',
      '\nThe request is committed through the coordinator, which fences the node in its next transition: the\n' +
        'fence is recorded in the fence history (tsha status) and the node\'s resources are recovered elsewhere\n' +
        'once a fence device confirmed it. Refused without quorum, with fencing disabled, or when no fence\n' +
        'device lists the node. Without --yes it asks for confirmation on the terminal.\n\n' +
        'Exit status: 0 fenced, 1 refused or not confirmed in time (the cluster keeps trying: --cancel withdraws it),\n' +
        '2 bad usage or not confirmed at the prompt.',
    );
  addSocketOption(fence).action(async (node: string | undefined, opts: FenceOpts) => {
    process.exitCode = await fenceNode(node, opts);
  });

  const check = fence
    .command('check')
    .description('check, without fencing anything, that every node (or NODE) can be fenced: each device answers and knows the node\'s plug')
    .argument('[node]', 'check this node only')
    .option('-c, --config <file>', `run the fence agents here from this configuration instead of asking the local agent (e.g. ${DEFAULT_CONFIG})`)
    .option('--fence-path <dir...>', 'with --config: directories searched for fence agents before $PATH (as tsha agent --fence-path)')
    .option('--timeout <seconds>', 'how long to wait for the agent\'s answer', '120')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nThe local agent runs the fence agents (its PATH, --fence-path and device credentials; it answers without\n' +
        'quorum too); with --config the CLI runs them itself. For every node, every fence level and every device of it:\n' +
        'the agent\'s monitor (the device answers), then status for the node\'s plug (hostMap, else the node name), or\n' +
        'list when status fails. Never off, reboot or on. A node can be fenced when one of its levels has every device\n' +
        'answering. Run it on every node: the coordinator fences from wherever it runs.\n\n' +
        'Exit status: 0 every node checked can be fenced, 1 some cannot (named) or no agent answered, 2 bad usage or an\n' +
        'unreadable or invalid configuration.',
    );
  addSocketOption(check).action(async (node: string | undefined, opts: CheckOpts, command: Command) => {
    // `tsha fence check --socket X`: commander hands an option both commands declare to the parent
    const parent = command.parent;
    if (parent?.getOptionValueSource('socket') === 'cli') opts.socket = (parent.opts() as { socket: string }).socket;
    process.exitCode = await fenceCheck(node, opts);
  });
}

async function fenceCheck(node: string | undefined, opts: CheckOpts): Promise<number> {
  let report: FenceCheckReport;
  if (opts.config !== undefined) {
    let config;
    try {
      config = await loadConfig(opts.config);
    } catch (e) {
      process.stderr.write(`tsha fence check: ${e instanceof Error ? e.message : String(e)}\n`);
      return 2;
    }
    const names = config.nodes.map((n) => n.name);
    if (node !== undefined && !names.includes(node)) {
      process.stderr.write(`tsha fence check: no node named "${node}" in ${opts.config} (nodes: ${names.join(', ')})\n`);
      return 2;
    }
    report = await checkFencing(config.fencing, node === undefined ? names : [node], { searchPath: opts.fencePath ?? [] }, hostname());
  } else {
    const timeoutS = Number(opts.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      process.stderr.write(`tsha fence check: --timeout: expected a positive number of seconds, got "${opts.timeout}"\n`);
      return 2;
    }
    try {
      report = await withControlClient(opts.socket, (client) => client.fenceCheck({ node: node ?? '' }, Math.round(timeoutS * 1000)));
    } catch (e) {
      if (e instanceof AgentUnreachableError || e instanceof ControlRequestError) {
        process.stderr.write(`tsha fence check: ${e.message}${e instanceof AgentUnreachableError ? ' (or run the agents from here: --config FILE)' : ''}\n`);
        return e instanceof ControlRequestError && (e.code === 'notFound' || e.code === 'invalidArgument') ? 2 : 1;
      }
      throw e;
    }
  }
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(renderFenceCheck(report));
  if (!report.ok) process.stderr.write(`tsha fence check: cannot fence ${report.unfenceable.join(', ')}\n`);
  return report.ok ? 0 : 1;
}

/** Who runs the CLI, for the fence history ($USER is unset under sudo -i, systemd-run, ssh commands). */
function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '?');
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

async function fenceNode(node: string | undefined, opts: FenceOpts): Promise<number> {
  if (node === undefined) {
    process.stderr.write('tsha fence: name the node to fence (or `tsha fence check` to check fencing; --help)\n');
    return 2;
  }
  const waitS = Number(opts.wait);
  if (!Number.isFinite(waitS) || waitS <= 0) {
    process.stderr.write(`tsha fence: --wait: expected a positive number of seconds, got "${opts.wait}"\n`);
    return 2;
  }
  if (!opts.cancel && !opts.yes) {
    if (!process.stdin.isTTY) {
      process.stderr.write(`tsha fence: fencing ${node} powers it ${opts.action === 'reboot' ? 'off and on' : 'off'}; confirm with --yes (no terminal to ask on)\n`);
      return 2;
    }
    if (!(await confirm(`Fence ${node} (${opts.action})? Everything running on it is cut off. [y/N] `))) {
      process.stderr.write('tsha fence: not confirmed, nothing done\n');
      return 2;
    }
  }
  const requestedBy = `cli:${process.env.USER ?? userName()}`;
  try {
    const r = await withControlClient(opts.socket, (client) =>
      client.fenceCommand({ node, action: opts.action, requestedBy, cancel: opts.cancel, waitMs: Math.round(waitS * 1000) }));
    process.stdout.write(`${r.message} (commit index ${r.committedIndex})\n`);
    for (const w of r.warnings) process.stdout.write(`warning: ${w}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`tsha fence: ${agentError(e).message}\n`);
    return 1;
  }
}
