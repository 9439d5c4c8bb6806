// `tsha agent --config FILE [--node NAME] [--state-dir DIR] [--socket PATH] ...`: the daemon of one
// cluster node (src/runtime). It refuses to start, listing every configuration error, when the
// configuration is invalid. SIGTERM / SIGINT stop it cleanly; its resources keep running and are
// re-adopted at the next start. SIGHUP re-reads the configuration (refused, changing nothing, when
// it is invalid).

import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ConfigError } from '../../config/validate.js';
import type { SelfFenceAction } from '../../runtime/agent.js';
import { DEFAULT_STATE_DIR, DEFAULT_WITNESS_STATE_DIR, startDaemon, DaemonSetupError, type DaemonOptions } from '../../runtime/daemon.js';
import { DEFAULT_METRICS_ADDRESS } from '../../observability/metrics.js';
import { defaultSocketPath } from '../control-socket.js';
import { loggerFor } from '../logging.js';

export function parseSelfFence(v: string): SelfFenceAction {
  if (v === 'exit') return { kind: 'exit' };
  if (v === 'sysrq-reboot') return { kind: 'sysrq-reboot' };
  if (v.startsWith('command:') && v.length > 'command:'.length) return { kind: 'command', command: v.slice('command:'.length) };
  throw new Error(`--self-fence: "${v}" is not exit, sysrq-reboot or command:CMD`);
}

export interface DaemonCliOptions {
  config: string;
  node?: string;
  stateDir?: string;
  socket?: string | false;
  socketGroup?: string;
  metricsAddress?: string;
  systemdBus?: string;
  ocfRoot?: string;
  selfFence: string;
  fencePath?: string[];
  joinTimeout?: string;
  record?: string | false;
  meshTlsCa?: string;
  meshTlsCert?: string;
  meshTlsKey?: string;
  recordKeep?: string;
  watchdogDevice?: string;
}

/**
 * V8's budget for optimizing a function, in bytecode executed (default 66 KiB, read again each time
 * a function's budget runs out, so setting it at start-up applies to all code). An idle daemon
 * runs its heartbeat path ten to twenty times a second: with the default, two minutes after start
 * most of its CPU was still in interpreted and baseline code, and members' idle CPU five minutes
 * in was 15 to 25 % higher (docs/agent.md, "Idle cost"). The extra compiling happens once, early.
 */
export const DAEMON_V8_FLAGS = ['--interrupt-budget=8192'];

/** Shared by `tsha agent` and `tsha witness`: start, wait for a signal or a fatal error, stop. */
export async function runDaemonCommand(role: 'agent' | 'witness', opts: DaemonCliOptions, command: Command): Promise<number> {
  for (const f of DAEMON_V8_FLAGS) setFlagsFromString(f);
  const logger = loggerFor(command);
  const tlsGiven = [opts.meshTlsCa, opts.meshTlsCert, opts.meshTlsKey].filter((x) => x !== undefined).length;
  if (tlsGiven !== 0 && tlsGiven !== 3) {
    process.stderr.write(`tsha ${role}: --mesh-tls-ca, --mesh-tls-cert and --mesh-tls-key go together (mutual TLS needs all three)\n`);
    return 2;
  }
  let selfFence: SelfFenceAction;
  try {
    selfFence = parseSelfFence(opts.selfFence);
  } catch (e) {
    process.stderr.write(`tsha ${role}: ${(e as Error).message}\n`);
    return 2;
  }
  const o: DaemonOptions = {
    role,
    configFile: opts.config,
    node: opts.node,
    stateDir: opts.stateDir ?? (role === 'agent' ? DEFAULT_STATE_DIR : DEFAULT_WITNESS_STATE_DIR),
    socketPath: opts.socket === false ? null : (opts.socket ?? null),
    socketGroup: opts.socketGroup ?? null,
    metricsAddress: opts.metricsAddress ?? null,
    systemdBus: opts.systemdBus,
    ocfRoot: opts.ocfRoot,
    selfFence,
    fenceSearchPath: opts.fencePath,
    joinTimeoutMs: opts.joinTimeout !== undefined ? Number(opts.joinTimeout) : undefined,
    recordDir: opts.record === false ? null : opts.record,
    recordKeep: opts.recordKeep !== undefined ? Number(opts.recordKeep) : undefined,
    watchdogDevice: opts.watchdogDevice,
    meshTls: opts.meshTlsCa && opts.meshTlsCert && opts.meshTlsKey ? { ca: opts.meshTlsCa, cert: opts.meshTlsCert, key: opts.meshTlsKey } : null,
    logger,
  };
  let daemon;
  try {
    daemon = await startDaemon(o);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof DaemonSetupError) {
      process.stderr.write(`tsha ${role}: refusing to start: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`tsha ${role}: cannot start: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const d = daemon;
  const onSignal = (sig: NodeJS.Signals): void => {
    // SIGTERM on an agent: announce the restart first (bounded ~1 s) so it is not fenced
    const announce = sig === 'SIGTERM' && role === 'agent' ? d.agent.announceRestart(1000) : Promise.resolve(false);
    void announce.catch(() => false).then(() => d.stop(`signal ${sig}`));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  process.on('SIGHUP', () => void d.reload());
  await d.agent.stopped;
  await d.stop('agent stopped');
  const fatal = d.agent.fatalError;
  return fatal ? 1 : 0;
}

export function addDaemonOptions(cmd: Command, role: 'agent' | 'witness'): Command {
  return cmd
    .requiredOption('-c, --config <file>', 'cluster configuration (JSON, as written by the NixOS module)')
    .option('--state-dir <dir>', 'durable state: term, vote, log, snapshot', role === 'agent' ? DEFAULT_STATE_DIR : DEFAULT_WITNESS_STATE_DIR)
    .option('--socket <path>', `control socket (default ${defaultSocketPath()} for the agent; the witness has none unless given)`)
    .option('--no-socket', 'do not serve the control socket')
    .option('--socket-group <group>', 'group owning the control socket (mode 0660)')
    .option('--metrics-address <host:port>', `serve Prometheus metrics on GET /metrics (off by default; conventional: ${DEFAULT_METRICS_ADDRESS}); process metrics and step durations are measured only then`)
    .addOption(new Option('--self-fence <action>', 'what selfFence does: exit (kill the agent; a fed watchdog then resets the machine), sysrq-reboot, or command:CMD').default('exit'))
    .option('--mesh-tls-ca <pem>', 'mutual TLS on the mesh (meshes not on WireGuard): CA certificate')
    .option('--mesh-tls-cert <pem>', 'mutual TLS: this node\'s certificate (CN or DNS SAN = its name)')
    .option('--mesh-tls-key <pem>', 'mutual TLS: this node\'s private key')
    .option('--join-timeout <ms>', 'report READY=1 after this long even without a quorate partition (default 10 × election timeout, at least 5000)');
}

export function register(program: Command): void {
  const cmd = program.command('agent').description('run the tsha agent of this node');
  addDaemonOptions(cmd, 'agent')
    .option('-n, --node <name>', 'this node\'s name in the configuration (default: the host name)')
    .option('--systemd-bus <address>', 'D-Bus address of the systemd manager (default: $DBUS_SYSTEM_BUS_ADDRESS or the system bus)')
    .option('--ocf-root <dir>', 'OCF_ROOT of the OCF resource agents, resource.d/<provider>/<type> (default: $OCF_ROOT or /usr/lib/ocf)')
    .option('--record <dir>', 'record every scheduled input here, for `tsha simulate --input` (default <state-dir>/scheduler-inputs)')
    .option('--no-record', 'do not record scheduler inputs')
    .option('--record-keep <n>', 'recorded inputs to keep (default 100)')
    .option('--fence-path <dir...>', 'directories searched for fence agents before $PATH')
    .option('--watchdog-device <path>', 'watchdog device of this node, fed while watchdog fencing allows it (overrides fencing.watchdogDevice; needs fencing.watchdog)')
    .action(async (opts: DaemonCliOptions, command: Command) => {
      if (opts.socket === undefined) opts.socket = defaultSocketPath();
      process.exitCode = await runDaemonCommand('agent', opts, command);
    });
}
