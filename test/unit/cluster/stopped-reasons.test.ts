// `tsha status` says why a resource that should run is stopped: the scheduler's explanation,
// computed from the committed state on the node asked. Here, on a simulated cluster (SIMULATED
// machines and resources, test/sim/engine.ts): a holder cut off with no fence device and no
// watchdog cannot be fenced, so its stateful resource is blocked, and the status says so.
import { describe, expect, it } from 'vitest';
import { stoppedReasons } from '../../../src/core/cluster/node.js';
import { makeConfig } from '../../sim/config.js';
import { Sim } from '../../sim/engine.js';

describe('stoppedReasons', () => {
  it('explains a resource left stopped because its lost node cannot be fenced', () => {
    const sim = new Sim({ seed: 7, config: makeConfig({ nodes: 3, resources: 1, fenceDevice: false, watchdog: false }) });
    sim.runUntil(2500);
    const holder = sim.holderOf('r0')!;
    expect(holder).not.toBeNull();
    sim.powerOff(sim.machine(holder), 'crash', null);
    sim.runUntil(6000);
    const c = sim.machine(sim.coordinator()!);
    const why = stoppedReasons(c.core!, sim.local(c));
    expect(why.get('r0')).toBe(`blocked: stateful resource on ${holder} is not recovered without fencing`);
  });

  it('has nothing to explain when everything runs', () => {
    const sim = new Sim({ seed: 7, config: makeConfig({ nodes: 3, resources: 2 }) });
    sim.runUntil(2500);
    const c = sim.machine(sim.coordinator()!);
    expect(stoppedReasons(c.core!, sim.local(c))).toEqual(new Map());
  });
});
