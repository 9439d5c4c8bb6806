// `tsha config check` and `tsha config options` as a user runs them: a real process, its
// stdout and exit status. The program runs from source through tsx, so the test never sees a stale dist/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'tsha-cfg-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tsha(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tsha config check', () => {
  it('exits 0 with a one-screen summary for a valid file', () => {
    const r = tsha('config', 'check', 'examples/three-node.json');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('examples/three-node.json: valid configuration');
    expect(r.stdout).toMatch(/Quorum: +majority: 3 votes \(odd\)/);
    expect(r.stdout).toMatch(/\* n1 +10\.90\.0\.1:7400 +1 vote/);
    expect(r.stdout).toContain('* Resource Group: frontend:');
    expect(r.stdout).toContain('* Clone Set: node-exporter-clone [node-exporter] (3 instances):');
    expect(r.stdout).toContain('Constraints: 4 location, 2 colocation, 2 order');
    expect(r.stdout.split('\n').length).toBeLessThan(50);
  });

  it('says loudly when fencing is disabled', () => {
    const file = join(tmp, 'nofence.json');
    writeFileSync(file, JSON.stringify({ cluster: { name: 'x', id: 'x' }, nodes: { a: { address: 'a:1' } }, fencing: { enabled: false } }));
    const r = tsha('config', 'check', file);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Fencing:    DISABLED');
    expect(r.stdout).toMatch(/! fencing.enabled: FENCING IS DISABLED/);
  });

  it('exits 1 with every error as path: reason and a count', () => {
    const r = tsha('config', 'check', 'examples/invalid.json');
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('examples/invalid.json: 14 errors');
    expect(lines).toContain('resources.web.colocation[0].with: no resource named "db"');
    expect(lines.slice(0, -1).every((l) => /^[A-Za-z][\w.[\]"-]*: ./.test(l))).toBe(true);
  });

  it('prints JSON for scripts', () => {
    const ok = tsha('config', 'check', '--output', 'json', 'examples/three-node.json');
    expect(ok.code).toBe(0);
    const body = JSON.parse(ok.stdout);
    expect(body.ok).toBe(true);
    expect(body.summary.quorum.mode).toBe('majority');
    expect(body.config.resources['node-exporter-clone'].max).toBe(3);
    const bad = tsha('config', 'check', '-o', 'json', 'examples/invalid.json');
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).errors).toContainEqual({ path: 'resources.web.colocation[0].with', message: 'no resource named "db"' });
  });

  it('accepts storage this build takes over: DRBD and Ceph RBD', () => {
    const r = tsha('config', 'check', 'examples/storage.json');
    expect(r.stdout).not.toContain('cannot be taken over');
    expect(r.code, r.stdout).toBe(0);
  });

  it('exits 1 with line and column on a JSON syntax error', () => {
    const file = join(tmp, 'bad.json');
    writeFileSync(file, '{\n  "cluster": { "name": "x" }\n  "nodes": {}\n}\n');
    const r = tsha('config', 'check', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${file}: not valid JSON at line 3, column 3`);
  });

  it('exits 1 on a file it cannot read', () => {
    const r = tsha('config', 'check', join(tmp, 'missing.json'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/cannot read the file: ENOENT/);
  });

  it('lists the top-level options in its help', () => {
    const r = tsha('config', 'check', '--help');
    expect(r.code).toBe(0);
    for (const key of ['cluster', 'nodes', 'witness', 'timing', 'noQuorumPolicy', 'fencing', 'resources', 'groups', 'clones']) expect(r.stdout).toMatch(new RegExp(`^  ${key} `, 'm'));
  });
});

describe('tsha config options', () => {
  it('lists every option with type and default', () => {
    const r = tsha('config', 'options', '--output', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as { path: string; default: string }[];
    expect(rows).toContainEqual(expect.objectContaining({ path: 'timing.heartbeatIntervalMs', default: '150' }));
    expect(rows).toContainEqual(expect.objectContaining({ path: 'resources.<id>.colocation[].with', default: 'required' }));
  });
});

describe('--log-level', () => {
  it('rejects an unknown level with a clear error and exit 2', () => {
    const r = tsha('--log-level', 'verbose', 'config', 'check', 'examples/two-node.json');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid log level "verbose": use one of fatal, error, warn, info, debug, trace, silent');
  });

  it('writes pino JSON lines to stderr at the chosen level, stdout stays the output', () => {
    const r = tsha('--log-level', 'debug', 'config', 'check', 'examples/two-node.json');
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stderr.trim().split('\n').at(-1)!);
    expect(line).toMatchObject({ level: 20, command: 'check', msg: 'configuration checked', ok: true });
    expect(r.stdout).toContain('valid configuration');
    expect(tsha('config', 'check', 'examples/two-node.json').stderr).toBe('');
  });
});
