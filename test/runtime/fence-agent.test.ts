// Fence agents run through their real stdin protocol: small shell agents written by the test stand
// in for fence_ipmilan & co (no BMC here). Checked: the key=value lines the agent receives, exit
// status mapping, the timeout, a missing agent, and fence levels tried in order.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenceAgentFencer, fenceStdin, levelsFor, runFenceAgent } from '../../src/adapters/fence/index.js';
import type { FenceDevice, FencingConfig } from '../../src/config/types.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsha-ag-fence-'));
  const agent = (name: string, body: string): void => {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  agent('fence_ok', `cat > "${'$'}FENCE_LOG.$$"; exit 0`);
  agent('fence_fail', 'cat >/dev/null; echo "Unable to connect/login to fencing device" >&2; exit 1');
  agent('fence_hang', 'cat >/dev/null; sleep 30');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dev = (id: string, agent: string, hosts: string[], extra: Partial<FenceDevice> = {}): FenceDevice => ({
  id, agent, parameters: { ip: '10.0.0.9', username: 'admin', password: 's3cret' }, hosts, timeoutMs: 5000, ...extra,
});

describe('fence agents (stdin key=value protocol)', () => {
  it('writes action, plug and the device parameters, one per line; action/plug cannot be overridden', () => {
    const text = fenceStdin(dev('d', 'fence_ok', ['n2'], { parameters: { ip: '1.2.3.4', action: 'on', plug: 'n9' } }), 'n2', 'off');
    expect(text).toBe('action=off\nplug=n2\nip=1.2.3.4\n');
  });

  it('exit 0 confirms, and the agent got the exact stdin', async () => {
    const log = join(dir, 'stdin');
    const r = await runFenceAgent(dev('ipmi', 'fence_ok', ['n2']), 'n2', 'off', 1, { searchPath: [dir], env: { FENCE_LOG: log } });
    expect(r).toMatchObject({ device: 'ipmi', status: 'ok', exitCode: 0 });
    const files = (await import('node:fs')).readdirSync(dir).filter((f) => f.startsWith('stdin.'));
    expect(readFileSync(join(dir, files[0]!), 'utf8')).toBe('action=off\nplug=n2\nip=10.0.0.9\nusername=admin\npassword=s3cret\n');
  });

  it('non-zero exit, timeout and a missing agent are failures with a reason', async () => {
    expect(await runFenceAgent(dev('a', 'fence_fail', ['n2']), 'n2', 'off', 1, { searchPath: [dir] })).toMatchObject({ status: 'error', exitCode: 1, reason: expect.stringContaining('Unable to connect') });
    const t = await runFenceAgent(dev('b', 'fence_hang', ['n2'], { timeoutMs: 300 }), 'n2', 'off', 1, { searchPath: [dir] });
    expect(t).toMatchObject({ status: 'timeout', exitCode: null });
    expect(await runFenceAgent(dev('c', 'fence_nonexistent_xyz', ['n2']), 'n2', 'off', 1, { searchPath: [dir] })).toMatchObject({ status: 'notInstalled' });
  });

  it('tries levels in order; a level needs every device; the first level that works ends it', async () => {
    const fencing: FencingConfig = {
      enabled: true, watchdog: false, watchdogDevice: null,
      devices: [dev('ipmi', 'fence_fail', ['n2']), dev('pdu-a', 'fence_ok', ['n2']), dev('pdu-b', 'fence_ok', ['n2']), dev('other', 'fence_ok', ['n3'])],
      levels: [{ node: 'n2', index: 2, devices: ['pdu-a', 'pdu-b'] }, { node: 'n2', index: 1, devices: ['ipmi'] }],
    };
    expect(levelsFor(fencing, 'n2').map((l) => l.map((d) => d.id))).toEqual([['ipmi'], ['pdu-a', 'pdu-b']]);
    expect(levelsFor(fencing, 'n3').map((l) => l.map((d) => d.id))).toEqual([['other']]);
    const f = new FenceAgentFencer(() => fencing, { searchPath: [dir], env: { FENCE_LOG: join(dir, 'lv') } });
    const o = await f.fence('n2', 'off');
    expect(o.confirmed).toBe(true);
    expect(o.attempts.map((a) => [a.device, a.level, a.status])).toEqual([['ipmi', 1, 'error'], ['pdu-a', 2, 'ok'], ['pdu-b', 2, 'ok']]);
    const none = await new FenceAgentFencer(() => ({ ...fencing, devices: [dev('ipmi', 'fence_fail', ['n2'])], levels: [] }), { searchPath: [dir] }).fence('n2', 'off');
    expect(none.confirmed).toBe(false);
    expect(await new FenceAgentFencer(() => fencing, { searchPath: [dir] }).fence('n9', 'off')).toEqual({ target: 'n9', confirmed: false, attempts: [] });
  });
});
