// `tsha fence check` as an operator runs it: a real process reading a configuration file and
// running real fence agents (fence_dummy from fence-agents, scripts/fence_tsha_loopback), its
// table, its JSON and its exit status. Skipped when fence_dummy is not installed (.ci/run installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tsha-fence-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const HAVE_DUMMY = spawnSync('sh', ['-c', 'command -v fence_dummy']).status === 0;

function tsha(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function config(name: string, devices: Record<string, unknown>, levels: Record<string, string[][]> = {}): string {
  const file = join(tmp, name);
  writeFileSync(file, JSON.stringify({
    cluster: { name: 'c', id: 'c1' },
    nodes: { n1: { address: '127.0.0.1:7001' }, n2: { address: '127.0.0.1:7002' }, n3: { address: '127.0.0.1:7003' } },
    fencing: { devices, levels },
  }));
  return file;
}

describe.skipIf(!HAVE_DUMMY)('tsha fence check', () => {
  writeFileSync(join(tmp, 'dummy.status'), 'on');
  const dummy = { agent: 'fence_dummy', parameters: { status_file: join(tmp, 'dummy.status') }, hosts: ['n1', 'n2', 'n3'] };
  const pdu = { agent: 'fence_tsha_loopback', parameters: { dir: tmp }, hosts: ['n1', 'n2', 'n3'], hostMap: { n1: '11', n2: '12', n3: '13' } };

  it('a good configuration: a table of what would fence whom, exit 0', () => {
    const file = config('good.json', { dummy, pdu }, { n1: [['dummy'], ['pdu']] });
    const r = tsha('fence', 'check', '-c', file, '--fence-path', join(ROOT, 'scripts'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NODE +LEVEL +DEVICE +AGENT +PLUG +MONITOR +TARGET +RESULT +TIME$/);
    expect(r.stdout).toMatch(/^n1 +1 +dummy +fence_dummy +n1 +ok +on +ok +\d+ ms$/m);
    expect(r.stdout).toMatch(/^n1 +2 +pdu +fence_tsha_loopback +11 +ok +off +ok +\d+ ms$/m);
    expect(r.stdout).toMatch(/^n3 +2 +pdu +fence_tsha_loopback +13 +ok/m);
    expect(r.stdout).toContain('every node checked can be fenced (3)');
  });

  it('a broken device: exit 1, and every node it leaves unfenceable is named', () => {
    const bmc = { agent: 'fence_ipmilan', parameters: { ip: '127.0.0.1', username: 'admin', passwd_script: 'echo x', lanplus: '1' }, hosts: ['n2', 'n3'], timeoutMs: 5000 };
    const file = config('broken.json', { dummy: { ...dummy, hosts: ['n1'] }, bmc });
    const r = tsha('fence', 'check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^n2 +1 +bmc +fence_ipmilan +n2 +(ERROR|TIMEOUT|NOT INSTALLED) +- +FAILED/m);
    expect(r.stdout).toMatch(/^CANNOT n2: no level has every device answering for it$/m);
    expect(r.stdout).toMatch(/^ok +n1: level 1 answers for it$/m);
    expect(r.stdout).toContain('cannot fence: n2, n3');
    expect(r.stderr).toBe('tsha fence check: cannot fence n2, n3\n');
    // one node, as JSON
    const j = tsha('fence', 'check', 'n3', '-c', file, '--output', 'json');
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout) as { ok: boolean; unfenceable: string[]; rows: { node: string; device: string; ok: boolean }[] };
    expect(report).toMatchObject({ ok: false, unfenceable: ['n3'], rows: [{ node: 'n3', device: 'bmc', ok: false }] });
  });

  it('without --config it asks the local agent, and says so when none answers', () => {
    const r = tsha('fence', 'check', '--socket', join(tmp, 'none.sock'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no tsha agent reachable at .*none\.sock.*\(or run the agents from here: --config FILE\)/);
  });

  it('usage errors: an unknown node, an invalid configuration (exit 2)', () => {
    const file = config('good2.json', { dummy });
    expect(tsha('fence', 'check', 'n9', '-c', file)).toMatchObject({ code: 2, stderr: expect.stringContaining('no node named "n9"') });
    const bad = config('bad.json', { dummy: { ...dummy, parameters: { port: '3' } } });
    expect(tsha('fence', 'check', '-c', bad)).toMatchObject({ code: 2, stderr: expect.stringContaining('fencing.devices.dummy.parameters.port') });
  });
});

describe('tsha fence NODE: refusals before anything is sent', () => {
  it('needs a node, and --yes without a terminal to ask on', () => {
    expect(tsha('fence')).toMatchObject({ code: 2, stderr: expect.stringContaining('name the node to fence') });
    expect(tsha('fence', 'n2', '--socket', join(tmp, 'none.sock'))).toMatchObject({ code: 2, stderr: expect.stringContaining('confirm with --yes') });
    expect(tsha('fence', 'n2', '--yes', '--socket', join(tmp, 'none.sock'))).toMatchObject({ code: 1, stderr: expect.stringContaining('no tsha agent reachable') });
  });
});
