// OCF resources in the configuration: the agent name, the label, and the timeouts an agent's
// meta-data advises filling the ones the configuration leaves unset.
import { describe, expect, it } from 'vitest';
import { validate, type AdvisedOperation } from '../../../src/config/index.js';
import { ocfAgentProblem, ocfLabel, parseOcfAgent } from '../../../src/config/ocf.js';
import { agentLabel } from '../../../src/config/drivers.js';

describe('the OCF agent name', () => {
  it('is provider:type', () => {
    expect(parseOcfAgent('heartbeat:IPaddr2')).toEqual({ provider: 'heartbeat', type: 'IPaddr2' });
    expect(parseOcfAgent('IPaddr2')).toBeNull();
    expect(parseOcfAgent('ocf:heartbeat:IPaddr2')).toBeNull();
    expect(parseOcfAgent('heartbeat:../x')).toBeNull();
    expect(ocfAgentProblem('heartbeat:IPaddr2')).toBeNull();
    expect(ocfLabel('heartbeat:IPaddr2')).toBe('ocf:heartbeat:IPaddr2');
  });
});

const raw = (resource: Record<string, unknown>, clones?: Record<string, unknown>) => ({
  cluster: { name: 'x', id: 'x' }, nodes: { a: { address: 'a:1' } }, fencing: { enabled: false }, resources: { r: resource }, ...(clones ? { clones } : {}),
});

describe('operation timeouts an OCF agent advises', () => {
  const advice: AdvisedOperation[] = [
    { name: 'start', timeoutMs: 90_000 }, { name: 'stop', timeoutMs: 100_000 },
    { name: 'monitor', role: 'promoted', timeoutMs: 30_000 }, { name: 'monitor', role: 'unpromoted', timeoutMs: 40_000 }, { name: 'promote', timeoutMs: 50_000 },
  ];
  const advised = (r: { kind: string }) => (r.kind === 'ocf' ? advice : undefined);
  const timeouts = (v: ReturnType<typeof validate>) => {
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    const r = v.config.resources.r!;
    return r.type === 'primitive' ? Object.fromEntries(r.operations.map((o) => [o.role ? `${o.name}:${o.role}` : o.name, o.timeoutMs])) : {};
  };

  it('fill the unset ones: by name, by name and role, else the longest of the name; set ones stay', () => {
    const v = validate(raw({ kind: 'ocf', params: { agent: 'x:y' }, operations: { stop: { timeoutMs: 5000 }, monitorUnpromoted: { intervalMs: 11_000 }, demote: {} } }, { c: { child: 'r', promotable: true } }), { advised });
    expect(timeouts(v)).toEqual({ start: 90_000, stop: 5000, monitor: 40_000, 'monitor:unpromoted': 40_000, promote: 50_000, demote: 20_000 });
    const r = v.ok ? v.config.resources.r : null;
    expect(r?.type === 'primitive' && agentLabel(r)).toBe('ocf:x:y');
  });

  it('apply to ocf resources only, and without advice everything unset is 20 s', () => {
    expect(timeouts(validate(raw({ kind: 'exec', params: { start: 'a', stop: 'b', monitor: 'c' } }), { advised }))).toEqual({ start: 20_000, stop: 20_000, monitor: 20_000 });
    expect(timeouts(validate(raw({ kind: 'ocf', params: { agent: 'x:y' } })))).toEqual({ start: 20_000, stop: 20_000, monitor: 20_000 });
  });
});
