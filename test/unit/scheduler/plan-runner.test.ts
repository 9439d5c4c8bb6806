// The async plan runner over an action port, with real timers and the simulated action port
// (src/adapters/simulated-actions.ts: no real component exists for "any resource action").
import { describe, expect, it } from 'vitest';
import { SimulatedActions } from '../../../src/adapters/simulated-actions.js';
import { schedule } from '../../../src/core/scheduler/index.js';
import { runPlan } from '../../../src/runtime/plan-runner.js';
import { cluster } from '../../support/cluster-builder.js';

function groupRecoveryPlan() {
  const i = cluster().group('site', ['ip', 'fs', 'web']).running('ip', 'n1').running('fs', 'n1').running('web', 'n1').node('n1', { state: 'unclean' }).input();
  return schedule(i.snapshot, i.config, i.now);
}

describe('plan runner', () => {
  it('runs every action in an order that honours the edges', async () => {
    const plan = groupRecoveryPlan();
    const port = new SimulatedActions({ delayMs: () => 2 });
    const out = await runPlan(plan, port).done;
    expect(out.outcome).toBe('complete');
    expect(port.executed).toHaveLength(plan.actions.length);
    const pos = new Map(port.executed.map((k, i) => [k, i]));
    for (const e of plan.edges) expect(pos.get(plan.actions[e.before]!.key)!).toBeLessThan(pos.get(plan.actions[e.after]!.key)!);
    expect(port.executed[0]).toBe('fence n1');
  });

  it('aborts on a failed action and starts nothing that depends on it', async () => {
    const plan = groupRecoveryPlan();
    const port = new SimulatedActions({ opFail: [{ resource: 'fs', operation: 'start', node: 'n2' }] });
    const out = await runPlan(plan, port).done;
    expect(out.outcome).toBe('aborted');
    expect(out.reason).toContain('start fs n2 failed');
    expect(port.executed).not.toContain('start web n2');
  });

  it('supersede lets in-flight actions finish and starts nothing new', async () => {
    const plan = groupRecoveryPlan();
    const port = new SimulatedActions({ delayMs: () => 30 });
    const handle = runPlan(plan, port);
    await new Promise((r) => setTimeout(r, 10));
    handle.supersede('cluster changed');
    const out = await handle.done;
    expect(out.outcome).toBe('superseded');
    expect(port.executed).toEqual(['fence n1']);
    expect(out.state.results).toHaveLength(1);
  });

  it('times out a slow action and aborts its port call', async () => {
    const plan = groupRecoveryPlan();
    plan.actions[0]!.timeoutMs = 20;
    const port = new SimulatedActions({ delayMs: () => 5_000 });
    const t0 = performance.now();
    const out = await runPlan(plan, port).done;
    expect(out.outcome).toBe('aborted');
    expect(out.reason).toContain('timeout');
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
