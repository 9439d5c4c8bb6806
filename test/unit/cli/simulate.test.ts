// `tsha simulate` as a user runs it: the real CLI in a child process, on a golden input.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../../..', import.meta.url).pathname;
const tsha = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root });

describe('tsha simulate', () => {
  it('prints status before, the plan, and status after; --node-fail and --op-fail apply', async () => {
    const { stdout } = await tsha('simulate', '--input', 'test/scenarios/steady-state/input.json', '--node-fail', 'n1', '--op-fail', 'a:start:n3');
    expect(stdout).toContain('Cluster Summary:');
    expect(stdout).toContain('  * Node n1: UNCLEAN (offline)');
    expect(stdout).toContain('  [0] fence n1 (ipmi)');
    expect(stdout).toContain('Executed plan: aborted (start a n3 failed: error (simulated failure))');
    expect(stdout).toMatch(/Revised cluster status:[\s\S]*\* a \(systemd:a\.service\): FAILED n3/);
  });

  it('--output json gives the plan and both status views', async () => {
    const { stdout } = await tsha('simulate', '--input', 'test/scenarios/storage-chain-rbd-failover/input.json', '--output', 'json');
    const out = JSON.parse(stdout) as { plan: { actions: { key: string }[] }; outcome: string; after: { nodes: { name: string; state: string }[] } };
    expect(out.outcome).toBe('complete');
    expect(out.plan.actions.slice(0, 4).map((a) => a.key)).toEqual(['fence n1', 'storage_blocklist rbd n2 n1', 'storage_break_lock rbd n2 n1', 'start rbd n2']);
    expect(out.after.nodes.find((n) => n.name === 'n1')!.state).toBe('offline');
  });

  it('fails with the field at fault on bad input', async () => {
    await expect(tsha('simulate', '--input', 'test/scenarios/steady-state/input.json', '--op-fail', 'nonsense')).rejects.toMatchObject({
      stderr: expect.stringContaining('--op-fail: expected RES:OP:NODE[=status], got "nonsense"'), code: 2,
    });
    await expect(tsha('simulate', '--input', 'package.json')).rejects.toMatchObject({ stderr: expect.stringContaining('now: expected a number') });
  });
});
