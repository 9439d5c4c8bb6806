// `tsha config check` with ocf resources, as a user runs it, against agents installed on this
// machine: the real ocf:pacemaker:Dummy and ocf:pacemaker:Stateful, and a script agent under a
// temporary OCF_ROOT (--ocf-root) whose meta-data says what the checks need.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tsha-cfg-ocf-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const installed = existsSync('/usr/lib/ocf/resource.d/pacemaker/Dummy');
if (!installed && process.env.CI) throw new Error('pacemaker-resource-agents must be installed in CI (.ci/run)');

const ocfRoot = join(tmp, 'ocf');
mkdirSync(join(ocfRoot, 'resource.d/test'), { recursive: true });
// validate-all fails (OCF_ERR_CONFIGURED) when size is not a number, and says why
writeFileSync(join(ocfRoot, 'resource.d/test/app'), `#!/bin/sh
case "$1" in
  meta-data) cat <<'XML'
<?xml version="1.0"?>
<resource-agent name="app" version="1">
<parameters>
  <parameter name="path" required="1"><content type="string"/></parameter>
  <parameter name="size"><content type="integer"/></parameter>
</parameters>
<actions>
<action name="start" timeout="90s"/>
<action name="stop" timeout="2min"/>
<action name="monitor" timeout="15s" interval="10s"/>
<action name="validate-all" timeout="5s"/>
</actions>
</resource-agent>
XML
  ;;
  validate-all) case "$OCF_RESKEY_size" in *[!0-9]*) echo "ocf-exit-reason:size must be a number" >&2; exit 6;; esac; exit 0;;
  *) exit 3;;
esac
`);
chmodSync(join(ocfRoot, 'resource.d/test/app'), 0o755);

function check(resources: Record<string, unknown>, extra: Record<string, unknown> = {}, root = ocfRoot) {
  const file = join(tmp, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify({ cluster: { name: 'x', id: 'x' }, nodes: { a: { address: 'a:1' } }, fencing: { enabled: false }, resources, ...extra }));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'config', 'check', file, '--output', 'json', '--ocf-root', root], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: JSON.parse(r.stdout) as { ok: boolean; errors: { path: string; message: string }[]; warnings: { path: string; message: string }[]; config?: { resources: Record<string, { operations: { name: string; role?: string; timeoutMs: number }[] }> } } };
}
const timeouts = (ops: { name: string; role?: string; timeoutMs: number }[]) => Object.fromEntries(ops.map((o) => [o.role ? `${o.name}:${o.role}` : o.name, o.timeoutMs]));

describe('tsha config check with ocf resources', () => {
  it('unset timeouts come from the agent\'s meta-data; configured ones stay', () => {
    const r = check({ app: { kind: 'ocf', params: { agent: 'test:app', path: '/srv' }, operations: { stop: { timeoutMs: 150_000 } } } });
    expect(r.code).toBe(0);
    expect(timeouts(r.out.config!.resources.app!.operations)).toEqual({ start: 90_000, stop: 150_000, monitor: 15_000 });
  });

  it('a parameter the agent requires, a parameter it does not know, a timeout shorter than it advises', () => {
    const r = check({ app: { kind: 'ocf', params: { agent: 'test:app', szie: '3' }, operations: { start: { timeoutMs: 5000 } } } });
    expect(r.code).toBe(1);
    expect(r.out.errors).toContainEqual({ path: 'resources.app.params.path', message: 'is required by ocf:test:app (its meta-data)' });
    expect(r.out.warnings).toContainEqual({ path: 'resources.app.params.szie', message: 'ocf:test:app has no parameter of this name (did you mean "size"?) (its meta-data); it is passed as OCF_RESKEY_szie all the same' });
    expect(r.out.warnings).toContainEqual({ path: 'resources.app.operations.start.timeoutMs', message: '5000 ms is shorter than the 90000 ms ocf:test:app advises for start' });
  });

  it('validate-all: its failure is an error at the resource\'s params, with the agent\'s reason', () => {
    const r = check({ app: { kind: 'ocf', params: { agent: 'test:app', path: '/srv', size: 'big' } } });
    expect(r.code).toBe(1);
    expect(r.out.errors).toEqual([{ path: 'resources.app.params', message: 'ocf:test:app validate-all on this machine: errorFatal (exit 6: size must be a number)' }]);
  });

  it('an agent not installed here is not checked (the NixOS build sandbox has none)', () => {
    const r = check({ app: { kind: 'ocf', params: { agent: 'elsewhere:app' } } });
    expect(r.code).toBe(0);
    expect(timeouts(r.out.config!.resources.app!.operations)).toEqual({ start: 20_000, stop: 20_000, monitor: 20_000 });
  });

  it.skipIf(!installed)('the real ocf:pacemaker:Stateful in a promotable clone: its advised promote/demote and per-role monitor timeouts', () => {
    const r = check(
      { st: { kind: 'ocf', params: { agent: 'pacemaker:Stateful' }, operations: { monitorPromoted: { intervalMs: 10_000 } } } },
      { clones: { pst: { child: 'st', promotable: true } } },
      '/usr/lib/ocf',
    );
    expect(r.code).toBe(0);
    expect(timeouts(r.out.config!.resources.st!.operations)).toEqual({ start: 20_000, stop: 20_000, monitor: 20_000, 'monitor:promoted': 20_000, promote: 10_000, demote: 10_000 });
  });

  it.skipIf(!installed)('the real ocf:pacemaker:Dummy: validate-all refuses a non-numeric op_sleep', () => {
    const r = check({ d: { kind: 'ocf', params: { agent: 'pacemaker:Dummy', op_sleep: 'soon' } } }, {}, '/usr/lib/ocf');
    expect(r.code).toBe(1);
    expect(r.out.errors).toEqual([{ path: 'resources.d.params', message: expect.stringMatching(/^ocf:pacemaker:Dummy validate-all on this machine: errorFatal \(exit 6/) }]);
  });
});
