// What a reload changed, in words (the reload's log line and `tsha status` "Last change").
import { describe, expect, it } from 'vitest';
import { describeConfigChange } from '../../../src/config/diff.js';
import { makeConfig, primitive } from '../../sim/config.js';

describe('describeConfigChange', () => {
  it('says nothing for the same configuration', () => {
    expect(describeConfigChange(makeConfig({ nodes: 3, resources: 2 }), makeConfig({ nodes: 3, resources: 2 }))).toEqual([]);
  });

  it('names resources, fence devices, timing and modes that changed', () => {
    const a = makeConfig({ nodes: 3, resources: 2 });
    const b = makeConfig({ nodes: 3, resources: 2 });
    b.resources.r1 = { ...primitive('r1'), params: { unit: 'x.service' } };
    b.resources.r9 = primitive('r9');
    delete b.resources.r0;
    b.fencing.devices = [{ ...b.fencing.devices[0]!, hosts: ['n1'] }, { id: 'ipmi', agent: 'fence_ipmilan', parameters: {}, hosts: ['n2'], timeoutMs: 5000 }];
    b.timing = { ...b.timing, heartbeatIntervalMs: 200 };
    b.maintenanceMode = true;
    expect(describeConfigChange(a, b)).toEqual([
      'timing.heartbeatIntervalMs: 150 → 200',
      'maintenanceMode: false → true',
      'fence devices added: ipmi',
      'fence devices changed: pdu',
      'resources added: r9',
      'resources removed: r0',
      'resources changed: r1',
    ]);
  });
});
