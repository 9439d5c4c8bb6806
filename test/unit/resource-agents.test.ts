// Dispatch by kind, with the real exec agent behind it.
import { describe, expect, it } from 'vitest';
import { ExecAgent } from '../../src/adapters/exec/index.js';
import { ResourceAgents } from '../../src/adapters/resource-agents.js';

describe('ResourceAgents', () => {
  const agents = new ResourceAgents([new ExecAgent()]);
  const T = { timeoutMs: 5000 };
  it('routes by kind', async () => {
    expect(agents.kinds).toEqual(['exec']);
    expect(await agents.monitor({ id: 'e', kind: 'exec', params: { monitor: 'exit 7' } }, T)).toMatchObject({ status: 'ok', state: 'stopped' });
  });
  it('a kind without an agent here is notInstalled (stop: ok, it cannot run here)', async () => {
    const lxc = { id: 'c1', kind: 'lxc' as const, params: { name: 'c1' } };
    expect(await agents.start(lxc, T)).toMatchObject({ status: 'notInstalled', reason: expect.stringContaining('resources.c1.kind') });
    expect(await agents.probe(lxc, T)).toMatchObject({ status: 'notInstalled', running: false });
    expect((await agents.stop(lxc, T)).status).toBe('ok');
  });
  it('refuses two agents for one kind', () => {
    expect(() => new ResourceAgents([new ExecAgent(), new ExecAgent()])).toThrow(/two resource agents handle kind "exec"/);
  });
});
