// `tsha agent` validates its configuration before opening anything: an invalid file is refused with
// every error and its path, exit status 1, and no state directory or socket is created.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

describe('tsha agent with an invalid configuration', () => {
  it('refuses to start, lists every error with its path, and touches nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-ag-bad-'));
    try {
      writeFileSync(join(dir, 'bad.json'), JSON.stringify({
        cluster: { name: 'x', id: 'x' },
        nodes: { n1: { address: 'nowhere' }, n2: { address: '127.0.0.1:7402' } },
        timing: { heartbeatIntervalMs: 500, failureTimeoutMs: 100 },
        resources: { web: { kind: 'systemd', params: {} }, dns: { kind: 'lxc', params: { name: 'dns', configPath: 'var/lib/lxc' } } },
      }));
      const r = await promisify(execFile)(process.execPath, [
        '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'agent', '--config', join(dir, 'bad.json'), '--node', 'n1',
        '--state-dir', join(dir, 'state'), '--socket', join(dir, 'c.sock'),
      ], { cwd: ROOT }).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }));
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/refusing to start: .*bad\.json: invalid configuration \(\d+ errors\)/);
      expect(r.stderr).toContain('nodes.n1.address');
      expect(r.stderr).toContain('timing.failureTimeoutMs');
      expect(r.stderr).toContain('resources.dns.params.configPath: "var/lib/lxc" must be an absolute path');
      expect(existsSync(join(dir, 'state'))).toBe(false);
      expect(existsSync(join(dir, 'c.sock'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
