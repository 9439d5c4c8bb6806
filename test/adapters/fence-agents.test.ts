// Real fence-agents scripts (Debian's fence-agents package: fence_dummy, which needs no hardware)
// and the loopback test agent (scripts/fence_tsha_loopback), run through the adapter's stdin
// protocol: the plug each node gets from hostMap, monitor / status / list, off, unfence (on), and
// the preflight of `tsha fence check`. Skipped when fence_dummy is not installed (.ci/run installs it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFencing, fenceStdin, FenceAgentFencer, runFenceAgentAction, unfence } from '../../src/adapters/fence/index.js';
import type { FenceDevice, FencingConfig } from '../../src/config/types.js';

const SCRIPTS = resolve(import.meta.dirname, '../../scripts');
const HAVE_DUMMY = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v fence_dummy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsha-fence-agents-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dummy = (id: string, extra: Partial<FenceDevice> = {}): FenceDevice => ({
  id, agent: 'fence_dummy', parameters: { status_file: join(dir, `${id}.status`) }, hosts: ['n1', 'n2'], timeoutMs: 15_000, ...extra,
});
/** fence_tsha_loopback: "status" answers on (0) when DIR/<plug>.agent.pid names a live process, else off (2) */
const loopback = (id: string, hostMap: Record<string, string>): FenceDevice => ({
  id, agent: 'fence_tsha_loopback', parameters: { dir }, hosts: ['n1', 'n2'], hostMap, timeoutMs: 10_000,
});
const fencing = (devices: FenceDevice[], levels: FencingConfig['levels'] = []): FencingConfig => ({ enabled: true, watchdog: false, watchdogDevice: null, devices, levels });

describe('host map: the plug each node gets', () => {
  it('is the hostMap entry, else the node name; device-wide actions carry no plug', () => {
    const d = loopback('pdu', { n1: '3', n2: '4' });
    expect(fenceStdin(d, 'n2', 'off')).toBe(`action=off\nplug=4\ndir=${dir}\n`);
    expect(fenceStdin({ ...d, hostMap: {} }, 'n2', 'reboot')).toBe(`action=reboot\nplug=n2\ndir=${dir}\n`);
    expect(fenceStdin(d, null, 'monitor')).toBe(`action=monitor\ndir=${dir}\n`);
  });

  it('reaches the real agent: status of the mapped plug, and off kills the mapped node', async () => {
    const d = loopback('pdu', { n1: 'slot-a', n2: 'slot-b' });
    writeFileSync(join(dir, 'slot-a.agent.pid'), String(process.pid));
    // n1 → slot-a: a live process, so "on"; n2 → slot-b: no pid file, "off"
    expect(await runFenceAgentAction(d, 'n1', 'status', 0, { searchPath: [SCRIPTS] }, [0, 2])).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(await runFenceAgentAction(d, 'n2', 'status', 0, { searchPath: [SCRIPTS] }, [0, 2])).toMatchObject({ status: 'ok', exitCode: 2 });
    rmSync(join(dir, 'slot-a.agent.pid'));
    const o = await new FenceAgentFencer(() => fencing([d]), { searchPath: [SCRIPTS] }).fence('n2', 'off');
    expect(o.confirmed).toBe(true);
    expect(readFileSync(join(dir, 'fence.log'), 'utf8')).toMatch(/ off slot-b pids:/);
  });
});

describe.skipIf(!HAVE_DUMMY)('fence_dummy (fence-agents)', () => {
  it('monitor, status, off and on (unfence) through the stdin protocol', async () => {
    const d = dummy('dummy');
    writeFileSync(join(dir, 'dummy.status'), 'on');
    expect(await runFenceAgentAction(d, null, 'monitor', 0)).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(await runFenceAgentAction(d, 'n1', 'status', 0, {}, [0, 2])).toMatchObject({ status: 'ok', exitCode: 0, stdout: 'Status: ON\n' });
    const off = await new FenceAgentFencer(() => fencing([d])).fence('n1', 'off');
    expect(off).toMatchObject({ confirmed: true, attempts: [{ device: 'dummy', status: 'ok' }] });
    expect(readFileSync(join(dir, 'dummy.status'), 'utf8')).toBe('off');
    expect(await runFenceAgentAction(d, 'n1', 'status', 0, {}, [0, 2])).toMatchObject({ status: 'ok', exitCode: 2 });
    expect(await unfence(d, 'n1')).toMatchObject({ status: 'ok', exitCode: 0 });
    expect(readFileSync(join(dir, 'dummy.status'), 'utf8')).toBe('on');
  });

  it('list: an agent that cannot list fails with its own message (timestamps stripped)', async () => {
    const r = await runFenceAgentAction(dummy('dummy'), null, 'list', 0);
    expect(r.status).toBe('error');
    expect(r.reason).toMatch(/^exit 1: .*ERROR: /);
    expect(r.reason).not.toMatch(/^exit 1: \d{4}-/);
  });

  it('fence check: every level and device; a broken first level falls through to a good one; a node with no good level is named', async () => {
    writeFileSync(join(dir, 'good.status'), 'on');
    const broken: FenceDevice = { id: 'bmc', agent: 'fence_ipmilan', parameters: { ip: '127.0.0.1', username: 'admin', password: 'x', lanplus: '1' }, hosts: ['n1', 'n2'], timeoutMs: 5000 };
    const lo = loopback('pdu', { n1: 'p1', n2: 'p2' });
    const cfg = fencing([broken, dummy('good', { hosts: ['n1'] }), lo], [
      { node: 'n1', index: 1, devices: ['bmc'] }, { node: 'n1', index: 2, devices: ['good'] },
      { node: 'n2', index: 1, devices: ['bmc'] },
    ]);
    const r = await checkFencing(cfg, ['n1', 'n2'], { searchPath: [SCRIPTS] });
    expect(r.rows.map((x) => [x.node, x.level, x.device, x.plug, x.ok])).toEqual([
      ['n1', 1, 'bmc', 'n1', false], ['n1', 2, 'good', 'n1', true], ['n2', 1, 'bmc', 'n2', false],
    ]);
    expect(r.rows[0]).toMatchObject({ monitor: expect.not.stringMatching(/^ok$/), target: 'skipped' });
    expect(r.rows[1]).toMatchObject({ monitor: 'ok', target: 'on' });
    expect(r.nodes).toEqual([
      { node: 'n1', fenceable: true, level: 2, reason: 'level 2 answers for it' },
      { node: 'n2', fenceable: false, level: 0, reason: 'no level has every device answering for it' },
    ]);
    expect(r).toMatchObject({ ok: false, unfenceable: ['n2'] });
    // the loopback device is nobody's level here: it was not asked
    expect(existsSync(join(dir, 'fence.log')) ? readFileSync(join(dir, 'fence.log'), 'utf8') : '').not.toMatch(/p1|p2/);
  });

  it('fence check with fencing disabled: nobody can be fenced', async () => {
    const r = await checkFencing({ ...fencing([dummy('good')]), enabled: false }, ['n1']);
    expect(r).toMatchObject({ ok: false, unfenceable: ['n1'], nodes: [{ reason: 'fencing is disabled (fencing.enabled = false)' }] });
  });
});
