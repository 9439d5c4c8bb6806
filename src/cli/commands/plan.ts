// `tsha plan FILE [--allow-stops] [--output text|json] [--socket PATH]`: what the running cluster
// would do if FILE were its configuration now: the dry run of a `nixos-rebuild switch`. The local
// agent gives the scheduler's input as it stands (the committed state and the running
// configuration); this command checks FILE as `tsha config check` does, schedules it against that
// state with the agent's own scheduler, and prints the configuration changes, the transition and
// what runs where afterwards (simulated outcomes: every action succeeds). Nothing is changed.
//
// Exit status: 0 the plan only does what the file asks; 1 FILE is invalid or no agent answers; 3 the
// plan would stop a running resource that the file keeps and does not disable (--allow-stops
// accepts that). A move or restart is listed, not counted: the resource runs again afterwards.

import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeConfigChange } from '../../config/diff.js';
import type { CompiledConfig, ResourceId } from '../../config/types.js';
import { parseSchedulerInput, serializeSchedulerInput } from '../../core/scheduler/record.js';
import { simulate, type SimulationResult } from '../../core/scheduler/simulate.js';
import type { ClusterSnapshot } from '../../core/snapshot.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';
import { checkWithOcfAgents } from './config-check.js';
import { renderErrors } from '../format/config-summary.js';
import { renderPlanText } from '../format/plan-text.js';
import { outputOption, type Output } from '../output-option.js';
import { primitiveOf } from '../../config/types.js';

/** A resource that runs now and would not run after the plan, although the new file keeps it enabled. */
export interface UnrequestedStop {
  resource: ResourceId;
  nodes: string[];
}

export function register(program: Command): void {
  const cmd = program
    .command('plan')
    .description('show what the running cluster would do with this configuration file, without changing anything (the dry run of a switch)')
    .argument('<file>', 'the new configuration file (JSON, as written by the NixOS module)')
    .option('--allow-stops', 'exit 0 even when the plan stops a running resource the file keeps enabled')
    .option('--ocf-root <dir>', 'OCF_ROOT of the OCF resource agents (their advised timeouts fill unset ones, as the agent does)')
    .addOption(outputOption())
    .addHelpText('after', '\nExit status: 0 the plan does only what the file asks; 1 invalid file or no agent; 3 it would stop a running resource the file keeps enabled (--allow-stops accepts).');
  addSocketOption(cmd).action(async (file: string, opts: { allowStops?: boolean; ocfRoot?: string; output: Output; socket: string }) => {
    process.exitCode = await plan(file, opts);
  });
}

async function plan(file: string, opts: { allowStops?: boolean; ocfRoot?: string; output: Output; socket: string }): Promise<number> {
  const next = await loadChecked(file, opts);
  if (typeof next === 'string') {
    process.stdout.write(next);
    return 1;
  }
  let input: ReturnType<typeof parseSchedulerInput>;
  let coordinator = '';
  let self = '';
  try {
    await withControlClient(opts.socket, async (client) => {
      const r = await client.schedulerInput({ assumeQuorum: true });
      input = parseSchedulerInput(r.inputJson);
      coordinator = r.coordinator;
      self = r.nodeSelf;
    });
  } catch (e) {
    process.stderr.write(`tsha plan: ${agentError(e).message}\n`);
    return 1;
  }
  const current = input!.config;
  if (next.clusterId !== current.clusterId) {
    process.stderr.write(`tsha plan: ${file}: cluster.id is "${next.clusterId}", the running cluster's is "${current.clusterId}": not a configuration of this cluster\n`);
    return 1;
  }
  // the running configuration came as a recorded input (keys sorted): the new one is compared in the same form
  const candidate = parseSchedulerInput(serializeSchedulerInput({ snapshot: input!.snapshot, config: next, now: input!.now }));
  const changes = describeConfigChange(current, candidate.config);
  const sim = simulate(candidate);
  const stops = unrequestedStops(sim, next);
  const ok = stops.length === 0 || opts.allowStops === true;
  if (opts.output === 'json') {
    process.stdout.write(JSON.stringify({
      file, node: self, coordinator: coordinator || null, changes, actions: sim.plan.actions, edges: sim.plan.edges, notes: sim.plan.notes,
      stopped: sim.plan.stopped, unrequestedStops: stops, ok,
    }, null, 2) + '\n');
  } else {
    const out: string[] = [`Plan for ${file} against the cluster as ${self} sees it${coordinator ? ` (coordinator ${coordinator})` : ' (NO coordinator: what a quorate one would do)'}:`, ''];
    out.push('Configuration changes:');
    out.push(...(changes.length > 0 ? changes.map((c) => `  * ${c}`) : ['  * none']));
    out.push('');
    out.push(renderPlanText(sim.plan, sim.before).trimEnd());
    for (const s of sim.plan.stopped) out.push(`  ! ${s.resource} stays stopped: ${s.reason}`);
    if (stops.length > 0) {
      out.push('');
      out.push(ok ? 'Stops (accepted with --allow-stops):' : 'REFUSED: the plan stops running resources the file keeps enabled (--allow-stops to accept):');
      for (const s of stops) out.push(`  * ${s.resource} (running on ${s.nodes.join(', ')})`);
    }
    process.stdout.write(out.join('\n') + '\n');
  }
  return ok ? 0 : 3;
}

/** The file, checked as `tsha config check` does (with the advised timeouts of OCF agents installed here), or its errors as text. */
async function loadChecked(file: string, opts: { ocfRoot?: string }): Promise<CompiledConfig | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return `${file}: cannot read the file: ${(e as Error).message}\n`;
  }
  const checked = await checkWithOcfAgents(text, opts.ocfRoot);
  if ('syntax' in checked) return `${file}: ${checked.syntax}\n`;
  if (!checked.result.ok) return renderErrors(file, checked.result.errors, checked.result.warnings);
  return checked.result.config;
}

/**
 * Resources running before the plan and not after it, that the new configuration keeps, managed
 * and enabled: stops nobody asked for (a removed resource, or one set to targetRole "stopped",
 * was asked for).
 */
export function unrequestedStops(sim: SimulationResult, next: CompiledConfig): UnrequestedStop[] {
  const running = (s: ClusterSnapshot): Map<ResourceId, string[]> => {
    const m = new Map<ResourceId, string[]>();
    for (const o of s.observations) {
      if (o.role === 'failed') continue;
      const base = primitiveOf(o.resource);
      m.set(base, [...(m.get(base) ?? []), o.node]);
    }
    return m;
  };
  const before = running(sim.before);
  const after = running(sim.after);
  const out: UnrequestedStop[] = [];
  for (const [id, nodes] of [...before].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (after.has(id)) continue;
    const r = next.resources[id];
    if (!r || r.type !== 'primitive' || !enabledIn(next, id)) continue;
    out.push({ resource: id, nodes: [...new Set(nodes)].sort() });
  }
  return out;
}

/** The resource, its group and its clone are all managed and none is set to targetRole "stopped". */
function enabledIn(c: CompiledConfig, id: ResourceId): boolean {
  const chain: string[] = [id];
  for (const r of Object.values(c.resources)) {
    if (r.type === 'group' && r.members.includes(id)) chain.push(r.id);
  }
  for (const r of Object.values(c.resources)) {
    if (r.type === 'clone' && chain.includes(r.child)) chain.push(r.id);
  }
  return !c.maintenanceMode && chain.every((x) => c.resources[x]?.meta.targetRole !== 'stopped' && c.resources[x]?.meta.managed !== false);
}
