// nixos-module/alert-rules.nix, the alert rules services.tsha.prometheusRules gives Prometheus:
// checked by Prometheus' own promtool (check rules, then test rules with series made to trip each
// alert, test/fixtures/prometheus/alert-rules.test.yml). promtool comes from Debian's prometheus
// package (.ci/run installs it).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'tsha-alert-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${cmd} not found: install Debian's ${cmd === 'promtool' ? 'prometheus' : 'nix-bin'} (.ci/run does)`);
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? String(err)}`);
  }
}

describe('alert rules (nixos-module/alert-rules.nix)', () => {
  const rules = run('nix-instantiate', ['--eval', '--strict', '--json', '-E', 'import ./nixos-module/alert-rules.nix'], ROOT, { ...process.env, NIX_CONFIG: 'build-users-group =' });
  writeFileSync(join(dir, 'rules.yml'), rules);
  copyFileSync(join(ROOT, 'test/fixtures/prometheus/alert-rules.test.yml'), join(dir, 'alert-rules.test.yml'));

  it('pass promtool check rules', () => {
    expect(run('promtool', ['check', 'rules', 'rules.yml'], dir)).toContain(`SUCCESS: ${JSON.parse(rules).groups[0].rules.length} rules found`);
  });

  it('each carry a severity, a summary and a one-line runbook', () => {
    for (const r of JSON.parse(rules).groups[0].rules as { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[]) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels.severity);
      expect(r.annotations.summary, r.alert).toBeTruthy();
      expect(r.annotations.runbook, r.alert).toMatch(/^[^\n]+$/);
    }
  });

  it('fire on the series made to trip each of them, and not before (promtool test rules)', () => {
    expect(run('promtool', ['test', 'rules', 'alert-rules.test.yml'], dir)).toContain('SUCCESS');
    // every alert has a test case
    const tested = new Set([...run('grep', ['-o', 'alertname: [A-Za-z]*', 'alert-rules.test.yml'], dir).matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect([...tested].sort()).toEqual(JSON.parse(rules).groups[0].rules.map((r: { alert: string }) => r.alert).sort());
  });
});
