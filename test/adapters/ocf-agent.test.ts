// OCF resources against the real agents of Debian's resource-agents (ocf:heartbeat:Dummy) and
// pacemaker-resource-agents (ocf:pacemaker:Dummy, ocf:pacemaker:Stateful), and, for what those
// cannot produce (every exit code, a hanging action, a degraded monitor), a small script agent
// under a temporary OCF_ROOT that links the real heartbeat/.ocf-shellfuncs.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_OCF_ROOT, OcfAgent, parseMetadata, parseOcfDuration } from '../../src/adapters/ocf/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';

const dir = mkdtempSync(join(tmpdir(), 'tsha-ocf-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T = { timeoutMs: 10_000 };
const agent = new OcfAgent({ ocfRoot: DEFAULT_OCF_ROOT, node: 'n1' });
const installed = existsSync(join(DEFAULT_OCF_ROOT, 'resource.d/heartbeat/Dummy')) && existsSync(join(DEFAULT_OCF_ROOT, 'resource.d/pacemaker/Stateful'));
if (!installed && process.env.CI) throw new Error('resource-agents and pacemaker-resource-agents must be installed in CI (.ci/run)');

const ocf = (id: string, agentName: string, params: Record<string, string> = {}): ResourceRef => ({ id, kind: 'ocf', params: { agent: agentName, ...params } });

describe.skipIf(!installed)('OcfAgent with the real agents', () => {
  for (const name of ['heartbeat:Dummy', 'pacemaker:Dummy']) {
    it(`${name}: probe, start, monitor, start again (kept), stop, stop again`, async () => {
      const state = join(dir, `${name.replace(':', '-')}.state`);
      const res = ocf('d1', name, { state });
      expect(await agent.probe(res, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false, exitCode: 7 });
      expect(await agent.start(res, T)).toMatchObject({ status: 'ok', exitCode: 0 });
      expect(existsSync(state)).toBe(true);
      expect(await agent.monitor(res, { ...T, intervalMs: 10_000 })).toMatchObject({ status: 'ok', state: 'running', running: true, role: 'started', exitCode: 0 });
      expect(await agent.start(res, T)).toMatchObject({ status: 'ok' });
      expect(await agent.stop(res, T)).toMatchObject({ status: 'ok', exitCode: 0 });
      expect(existsSync(state)).toBe(false);
      expect(await agent.monitor(res, T)).toMatchObject({ status: 'ok', state: 'stopped', running: false });
      expect(await agent.stop(res, T)).toMatchObject({ status: 'ok' });
    });
  }

  it('a clone instance runs as the primitive (OCF_RESOURCE_INSTANCE without the instance number), like an anonymous clone in Pacemaker', async () => {
    // heartbeat:Dummy's default state file is named after OCF_RESOURCE_INSTANCE: the probe (no
    // instance number) must find what the instance "dd:1" started
    const root = join(dir, 'varrun');
    mkdirSync(root, { recursive: true });
    const viaEnv = new OcfAgent({ env: { HA_RSCTMP: root } });
    const clone = { max: 2, maxPerNode: 1, promotable: false, promotedMax: 1, promotedMaxPerNode: 1 };
    expect(await viaEnv.start({ ...ocf('dd:1', 'heartbeat:Dummy'), clone }, T)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(root, 'Dummy-dd.state'))).toBe(true);
    expect(await viaEnv.probe(ocf('dd', 'heartbeat:Dummy'), T)).toMatchObject({ status: 'ok', running: true });
    expect(await viaEnv.stop({ ...ocf('dd:1', 'heartbeat:Dummy'), clone }, T)).toMatchObject({ status: 'ok' });
  });

  it('pacemaker:Stateful: start unpromoted (0), promote (monitor 8), demote (0), stop (7)', async () => {
    const state = join(dir, 'stateful.state');
    const res: ResourceRef = { ...ocf('st:0', 'pacemaker:Stateful', { state }), clone: { max: 2, maxPerNode: 1, promotable: true, promotedMax: 1, promotedMaxPerNode: 1 } };
    expect(await agent.start(res, T)).toMatchObject({ status: 'ok' });
    expect(await agent.monitor(res, T)).toMatchObject({ status: 'ok', running: true, role: 'started', exitCode: 0 });
    expect(await agent.promote!(res, T)).toMatchObject({ status: 'ok' });
    expect(await agent.monitor(res, { ...T, intervalMs: 10_000 })).toMatchObject({ status: 'ok', running: true, role: 'promoted', exitCode: 8 });
    expect(await agent.demote!(res, T)).toMatchObject({ status: 'ok' });
    expect(await agent.monitor(res, T)).toMatchObject({ status: 'ok', role: 'started', exitCode: 0 });
    expect(await agent.stop(res, T)).toMatchObject({ status: 'ok' });
    expect(await agent.probe(res, T)).toMatchObject({ status: 'ok', running: false, exitCode: 7 });
  });

  it('meta-data: the advised timeouts of the real agents, read once per agent', async () => {
    const m = await agent.metadata('pacemaker:Stateful');
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.metadata.agent).toBe('ocf:pacemaker:Stateful');
    expect(m.metadata.actions).toEqual(expect.arrayContaining([
      { name: 'start', timeoutMs: 20_000 },
      { name: 'promote', timeoutMs: 10_000 },
      { name: 'monitor', timeoutMs: 20_000, intervalMs: 10_000, role: 'promoted' },
      { name: 'monitor', timeoutMs: 20_000, intervalMs: 11_000, role: 'unpromoted' },
    ]));
    expect(m.metadata.parameters.map((p) => p.name)).toContain('state');
    expect(agent.metadata('pacemaker:Stateful')).toBe(agent.metadata('pacemaker:Stateful'));
    expect(await agent.metadata('heartbeat:NoSuchAgent')).toMatchObject({ ok: false, status: 'notInstalled' });
    // a failed read is not kept: an agent installed later is read
    const failed = agent.metadata('heartbeat:NoSuchAgent');
    await failed;
    expect(agent.metadata('heartbeat:NoSuchAgent')).not.toBe(failed);
  });

  it('validate-all of the real agent', async () => {
    expect(await agent.validate(ocf('v', 'pacemaker:Dummy', { state: join(dir, 'v.state') }), T)).toMatchObject({ status: 'ok', exitCode: 0 });
    // pacemaker:Dummy: op_sleep must be an integer (OCF_ERR_CONFIGURED: wrong everywhere)
    expect(await agent.validate(ocf('v', 'pacemaker:Dummy', { state: join(dir, 'v.state'), op_sleep: 'soon' }), T)).toMatchObject({ status: 'errorFatal', exitCode: 6 });
    // heartbeat:Dummy: the state file's directory must be writable, with the agent's reason
    const bad = await agent.validate(ocf('v', 'heartbeat:Dummy', { state: '/proc/no-such-dir/v.state' }), T);
    expect(bad).toMatchObject({ status: expect.not.stringMatching(/^ok$/), reason: expect.stringContaining('not writable') });
  });

  it('an agent that is not installed: start notInstalled, stop ok, probe not running', async () => {
    const res = ocf('m', 'heartbeat:NoSuchAgent');
    expect(await agent.start(res, T)).toMatchObject({ status: 'notInstalled', exitCode: 5 });
    expect(await agent.stop(res, T)).toMatchObject({ status: 'ok' });
    expect(await agent.probe(res, T)).toMatchObject({ status: 'notInstalled', running: false });
  });
});

// ---- a script agent under a temporary OCF_ROOT ------------------------------------------------

const root = join(dir, 'ocf');
mkdirSync(join(root, 'resource.d/test'), { recursive: true });
if (installed) {
  mkdirSync(join(root, 'lib'), { recursive: true });
  symlinkSync(join(DEFAULT_OCF_ROOT, 'lib/heartbeat'), join(root, 'lib/heartbeat'));
}
const envFile = join(dir, 'env.txt');
/** The script agent: exits with $OCF_RESKEY_rc (its stderr says why), or hangs for hang=1 with a grandchild. */
writeFileSync(join(root, 'resource.d/test/codes'), `#!/bin/sh
env | grep -E '^OCF_' | sort > "$OCF_RESKEY_envfile"
case "$1" in
  meta-data) cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="codes" version="1">
<parameters>
  <parameter name="rc" required="1"><content type="integer"/></parameter>
  <parameter name="envfile"><content type="string"/></parameter>
</parameters>
<actions>
<action name="start" timeout="90s"/>
<action name="stop" timeout="2min"/>
<action name="monitor" timeout="15" interval="7s" depth="0"/>
<action name="promote" timeout="1500ms"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
XML
  exit 0 ;;
esac
if [ "$OCF_RESKEY_hang" = 1 ]; then sleep 1000 & echo $! > "$OCF_RESKEY_envfile.pid"; wait; fi
echo "some log line" >&2
echo "ocf-exit-reason:the agent's own reason" >&2
echo "a last log line" >&2
exit "$OCF_RESKEY_rc"
`);
chmodSync(join(root, 'resource.d/test/codes'), 0o755);
const scripted = new OcfAgent({ ocfRoot: root, killGraceMs: 300, node: 'n7' });
const codes = (rc: number, extra: Record<string, string> = {}): ResourceRef => ocf('c1', 'test:codes', { rc: String(rc), envfile: envFile, ...extra });

describe('OcfAgent: exit codes as Pacemaker maps them, the environment, timeouts', () => {
  it.each([
    [0, 'ok'], [1, 'error'], [2, 'errorHard'], [3, 'errorHard'], [4, 'errorHard'], [5, 'notInstalled'], [6, 'errorFatal'], [7, 'error'], [42, 'error'],
  ] as const)('start exit %i → %s, with the agent\'s ocf-exit-reason', async (rc, status) => {
    const r = await scripted.start(codes(rc), T);
    expect(r.status).toBe(status);
    if (rc !== 0) expect(r).toMatchObject({ exitCode: rc, reason: expect.stringContaining('the agent\'s own reason') });
  });

  it('stop exit 7 (already stopped) is ok; stop exit 1 is an error', async () => {
    expect(await scripted.stop(codes(7), T)).toMatchObject({ status: 'ok' });
    expect(await scripted.stop(codes(1), T)).toMatchObject({ status: 'error', exitCode: 1 });
  });

  it.each([
    [0, 'ok', 'running', true, 'started'], [7, 'ok', 'stopped', false, undefined], [8, 'ok', 'running', true, 'promoted'],
    [1, 'error', 'failed', false, undefined], [9, 'error', 'failed', false, undefined], [2, 'errorHard', 'failed', false, undefined],
    [5, 'notInstalled', 'stopped', false, undefined], [6, 'errorFatal', 'stopped', false, undefined],
    [190, 'ok', 'running', true, 'started'], [191, 'ok', 'running', true, 'promoted'],
  ] as const)('monitor exit %i → %s, %s', async (rc, status, state, running, role) => {
    const m = await scripted.monitor(codes(rc), T);
    expect(m).toMatchObject({ status, state, running, exitCode: rc });
    expect(m.role).toBe(role);
  });

  it('promote and demote map like start', async () => {
    expect(await scripted.promote(codes(0), T)).toMatchObject({ status: 'ok' });
    expect(await scripted.promote(codes(1), T)).toMatchObject({ status: 'error' });
    expect(await scripted.demote(codes(6), T)).toMatchObject({ status: 'errorFatal' });
  });

  it('passes the OCF environment as Pacemaker does', async () => {
    const res: ResourceRef = { ...codes(0, { ip: '10.0.0.5' }), id: 'c1:3', clone: { max: 3, maxPerNode: 1, promotable: true, promotedMax: 1, promotedMaxPerNode: 1 } };
    await scripted.monitor(res, { timeoutMs: 4000, intervalMs: 7000 });
    const env = Object.fromEntries(readFileSync(envFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env).toMatchObject({
      OCF_ROOT: root, OCF_RA_VERSION_MAJOR: '1', OCF_RESOURCE_INSTANCE: 'c1', OCF_RESOURCE_PROVIDER: 'test', OCF_RESOURCE_TYPE: 'codes',
      OCF_RESKEY_rc: '0', OCF_RESKEY_ip: '10.0.0.5', OCF_RESKEY_CRM_meta_name: 'monitor', OCF_RESKEY_CRM_meta_interval: '7000', OCF_RESKEY_CRM_meta_timeout: '4000',
      OCF_RESKEY_CRM_meta_on_node: 'n7', OCF_RESKEY_CRM_meta_clone: '3', OCF_RESKEY_CRM_meta_clone_max: '3', OCF_RESKEY_CRM_meta_clone_node_max: '1',
      OCF_RESKEY_CRM_meta_globally_unique: 'false', OCF_RESKEY_CRM_meta_promotable: 'true', OCF_RESKEY_CRM_meta_promoted_max: '1', OCF_RESKEY_CRM_meta_master_max: '1',
      OCF_EXIT_REASON_PREFIX: 'ocf-exit-reason:',
    });
    expect(env.OCF_RESKEY_agent).toBeUndefined();
    await scripted.probe(codes(7), { timeoutMs: 4000, intervalMs: 9000 });
    expect(readFileSync(envFile, 'utf8')).toContain('OCF_RESKEY_CRM_meta_interval=0\n');
    await scripted.start(codes(0), T);
    expect(readFileSync(envFile, 'utf8')).toContain('OCF_RESKEY_CRM_meta_interval=0\n');
  });

  it('a start slower than its timeout reports timeout and its whole process group is killed', async () => {
    const t0 = performance.now();
    const r = await scripted.start(codes(0, { hang: '1' }), { timeoutMs: 400 });
    expect(r.status).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(3000);
    const grandchild = Number(readFileSync(`${envFile}.pid`, 'utf8'));
    // the sleep in the background was in the agent's process group: gone, not orphaned
    await new Promise((r) => setTimeout(r, 200));
    const state = existsSync(`/proc/${grandchild}/stat`) ? readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]![0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
  });

  it('meta-data: timeouts in every unit Pacemaker reads, required parameters', async () => {
    const m = await scripted.metadata('test:codes');
    expect(m).toMatchObject({ ok: true });
    if (!m.ok) return;
    expect(m.metadata.actions).toEqual([
      { name: 'start', timeoutMs: 90_000 }, { name: 'stop', timeoutMs: 120_000 }, { name: 'monitor', timeoutMs: 15_000, intervalMs: 7000 },
      { name: 'promote', timeoutMs: 1500 }, { name: 'meta-data', timeoutMs: 5000 },
    ]);
    expect(m.metadata.parameters).toEqual([{ name: 'rc', required: true }, { name: 'envfile', required: false }]);
  });

  it('a script that is not executable is not installed', async () => {
    writeFileSync(join(root, 'resource.d/test/plain'), '#!/bin/sh\nexit 0\n');
    expect(await scripted.start(ocf('p', 'test:plain'), T)).toMatchObject({ status: 'notInstalled' });
  });
});

describe('meta-data parsing', () => {
  it('durations as crm_get_msec reads them', () => {
    expect(parseOcfDuration('20s')).toBe(20_000);
    expect(parseOcfDuration('20')).toBe(20_000);
    expect(parseOcfDuration('250ms')).toBe(250);
    expect(parseOcfDuration('2min')).toBe(120_000);
    expect(parseOcfDuration('1h')).toBe(3_600_000);
    expect(parseOcfDuration('soon')).toBeNull();
  });

  it('old role names, attributes in either quote', () => {
    const m = parseMetadata('ocf:x:y', `<resource-agent name='y'><actions><action name='monitor' timeout='30s' interval="5s" role="Master"/><action name="monitor" role="Slave"/></actions></resource-agent>`);
    expect(m?.actions).toEqual([{ name: 'monitor', timeoutMs: 30_000, intervalMs: 5000, role: 'promoted' }, { name: 'monitor', role: 'unpromoted' }]);
    expect(parseMetadata('ocf:x:y', 'usage: y {start|stop}')).toBeNull();
  });
});
