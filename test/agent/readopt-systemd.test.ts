// Re-adoption against a REAL systemd --user (test/helpers/systemd-user.ts): a `tsha agent` process
// manages a systemd unit over D-Bus; the agent is killed with SIGKILL and started again; the unit
// must keep running with the same MainPID and the same ActiveEnterTimestamp (never stopped and
// started because the agent restarted). A one-node cluster, so that nothing but the agent's own
// restart is under test (no peer could fence it meanwhile).

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/adapters/grpc/control-client.js';
import { startSystemdUser, systemdUserUnavailable, type SystemdUser } from '../helpers/systemd-user.js';

const unavailable = systemdUserUnavailable();
if (unavailable) console.warn(`SKIPPED: re-adoption with systemd --user: ${unavailable}`);

const ROOT = resolve(import.meta.dirname, '../..');
const UNIT = 'tsha-ag-web.service';

describe.skipIf(unavailable !== null)('tsha agent with a real systemd --user', () => {
  let sd: SystemdUser;
  let dir: string;
  let agent: ChildProcess | null = null;
  const socket = (): string => join(dir, 'n1.sock');

  const startAgent = (): ChildProcess => {
    const fd = openSync(join(dir, 'agent.log'), 'a');
    const p = spawn(process.execPath, [
      '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'agent', '--config', join(dir, 'cluster.json'), '--node', 'n1',
      '--state-dir', join(dir, 'state'), '--socket', socket(), '--systemd-bus', sd.busAddress, '--self-fence', 'exit',
    ], { cwd: ROOT, stdio: ['ignore', 'ignore', fd], env: { ...process.env, NOTIFY_SOCKET: '' } });
    closeSync(fd);
    return p;
  };
  const killAgent = async (): Promise<void> => {
    const p = agent;
    agent = null;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  const waitFor = async <T,>(what: string, fn: () => Promise<T | null>, ms: number): Promise<T> => {
    const end = performance.now() + ms;
    for (;;) {
      const v = await fn().catch(() => null);
      if (v !== null) return v;
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}\n${readFileSync(join(dir, 'agent.log'), 'utf8').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const agentSees = async (): Promise<string | null> => {
    const c = new ControlClient({ socketPath: socket(), timeoutMs: 1000 });
    try {
      const s = await c.status({});
      const web = s.resources.find((r) => r.id === 'web');
      return s.quorum?.quorate && web?.state === 'started' ? web.nodes.join(',') : null;
    } finally {
      c.close();
    }
  };

  beforeAll(async () => {
    sd = await startSystemdUser();
    await sd.writeUnit(UNIT, '[Unit]\nDescription=tsha re-adoption test\n[Service]\nExecStart=/bin/sleep infinity\n');
    await sd.reload();
    dir = mkdtempSync(join(tmpdir(), 'tsha-ag-sd-'));
    const port = 22000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify({
      cluster: { name: 'one', id: `one-${port}` },
      nodes: { n1: { address: `127.0.0.1:${port}` } },
      fencing: { enabled: false },
      resources: { web: { kind: 'systemd', params: { unit: UNIT }, operations: { monitor: { intervalMs: 500, timeoutMs: 5000 } } } },
    }));
  }, 60_000);

  afterAll(async () => {
    await killAgent();
    await sd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the unit running with the same MainPID across an agent kill -9 and restart', async () => {
    agent = startAgent();
    await waitFor('the agent to start the unit', async () => ((await agentSees()) === 'n1' ? true : null), 30_000);
    expect(await sd.show(UNIT, 'ActiveState')).toBe('active');
    const pid = await sd.show(UNIT, 'MainPID');
    const since = await sd.show(UNIT, 'ActiveEnterTimestampMonotonic');
    expect(Number(pid)).toBeGreaterThan(0);

    await killAgent();
    expect(await sd.show(UNIT, 'MainPID')).toBe(pid); // the unit does not depend on the agent

    agent = startAgent();
    await waitFor('the restarted agent to hold the unit again', async () => ((await agentSees()) === 'n1' ? true : null), 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // a few monitors and lease renewals later
    expect(await sd.show(UNIT, 'ActiveState')).toBe('active');
    expect(await sd.show(UNIT, 'MainPID')).toBe(pid);
    expect(await sd.show(UNIT, 'ActiveEnterTimestampMonotonic')).toBe(since);
    const log = readFileSync(join(dir, 'agent.log'), 'utf8');
    expect(log).toContain('re-adopting resources found running');
  }, 90_000);

  it('runs as a Type=notify unit: READY=1 once joined, STATUS= summary, WATCHDOG=1 keeps it alive', async () => {
    const port = 22000 + Math.floor(Math.random() * 20000);
    const cfg = join(dir, 'notify.json');
    writeFileSync(cfg, JSON.stringify({
      cluster: { name: 'one', id: `notify-${port}` }, nodes: { n1: { address: `127.0.0.1:${port}` } }, fencing: { enabled: false }, resources: {},
    }));
    const unit = 'tsha-ag-agent.service';
    await sd.writeUnit(unit, [
      '[Service]', 'Type=notify', 'NotifyAccess=all', 'WatchdogSec=4', `WorkingDirectory=${ROOT}`,
      `Environment=PATH=${process.env.PATH ?? '/usr/bin:/bin'}`,
      `ExecStart=${process.execPath} --import tsx ${join(ROOT, 'src/cli/main.ts')} --log-level warn agent --config ${cfg} --node n1 --state-dir ${join(dir, 'notify-state')} --no-socket`,
      '',
    ].join('\n'));
    await sd.reload();
    const started = await sd.systemctl('start', unit); // returns once READY=1 arrived (Type=notify)
    expect(started.code, started.stderr).toBe(0);
    try {
      expect(await sd.show(unit, 'ActiveState')).toBe('active');
      await waitFor('STATUS=', async () => ((await sd.show(unit, 'StatusText')).includes('quorate') ? true : null), 10_000);
      expect(await sd.show(unit, 'StatusText')).toMatch(/^coordinator term \d+; quorate; coordinator n1; holds nothing/);
      const pid = await sd.show(unit, 'MainPID');
      await new Promise((r) => setTimeout(r, 6000)); // longer than WatchdogSec: only WATCHDOG=1 keeps it
      expect(await sd.show(unit, 'ActiveState')).toBe('active');
      expect(await sd.show(unit, 'MainPID')).toBe(pid);
    } finally {
      await sd.systemctl('stop', unit);
    }
  }, 90_000);
});
