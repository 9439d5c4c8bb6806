// A loopback cluster of real agents for one golden scenario (test/agent/golden-replay.test.ts): the
// scenario's configuration as a raw configuration file, its primitives turned into exec resources
// whose state is one file per node and resource, the scenario's fence devices as test fence agents
// of the same names, every agent's state directory seeded with the scenario's record, and the
// agents started as child processes (`tsha agent` from dist/, like test/cluster) on 127.x.y.z.
//
// Files in the cluster's directory:
//   config.json                  the raw configuration
//   <node>.state/                the agent's state directory (scheduler inputs are recorded there)
//   <node>.log                   its JSON log lines
//   <node>.agent.pid             its process id (for the fence agents)
//   res/<node>/<key>             "started" or "promoted" while the resource runs there
//   res/<node>/<key>.fail-<op>   the exit code an injected failure of <op> gives
//   fence/<agent>                the fence agents; fence.log: one line per attempt

import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore } from '../../../src/adapters/disk-store.js';
import type { CompiledConfig, NodeName, Operation, Resource } from '../../../src/config/types.js';
import type { Command } from '../../../src/core/cluster/commands.js';
import type { ClusterState } from '../../../src/core/cluster/state-machine.js';
import { parseSchedulerInput } from '../../../src/core/scheduler/record.js';
import type { SchedulerInput } from '../../../src/core/scheduler/types.js';
import { MAIN_JS, ROOT } from '../../cluster/tsha-cluster.js';
import { keyedByChild, type ReplaySetup } from './reach.js';

/**
 * Timing of the replay clusters. The scenarios' own (200 ms heartbeats, 1 s failure timeout, 2 s
 * lease) leave little room on a loaded 2-core machine running several clusters at once: a mesh
 * message later than one heartbeat is dropped, and an agent that re-adopted resources stops them
 * (no-quorum policy) when no coordinator granted it a lease within three quarters of the lease.
 * Only the watchdog time changes a plan (its not-before), and it is kept. crashGraceMs 0: on
 * loopback a fenced node's port answers with RST like a crashed agent's (loopback-cluster.ts).
 */
export const REPLAY_TIMING = { heartbeatIntervalMs: 400, failureTimeoutMs: 2500, electionTimeoutMs: 1500, leaseMs: 10_000, crashGraceMs: 0 };

/** How long a fence agent takes to confirm: the coordinator plans while the lost node is still unclean. */
export const FENCE_DELAY_S = 1.5;

export interface ReplayNet {
  /** three octets, e.g. "127.201.7": the configuration's k-th node (from 1) gets .k */
  ipPrefix: string;
  /** the k-th node listens on portBase + k - 1 */
  portBase: number;
  clusterId: string;
}

export interface LogLine {
  node: NodeName;
  msg: string;
  /** pino's wall-clock time, ms */
  time: number;
  [k: string]: unknown;
}

export interface FenceAttempt {
  agent: string;
  target: NodeName;
  ok: boolean;
  /** wall-clock seconds × 1000, from `date +%s.%N` */
  beganAt: number;
  endedAt: number;
}

const OPERATION_KEY: Record<string, string> = {
  start: 'start', stop: 'stop', promote: 'promote', demote: 'demote', migrate_to: 'migrateTo', migrate_from: 'migrateFrom',
};

function operationKey(op: Operation): string {
  if (op.name === 'monitor') return op.role === 'promoted' ? 'monitorPromoted' : op.role === 'unpromoted' ? 'monitorUnpromoted' : 'monitor';
  return OPERATION_KEY[op.name]!;
}

/** The exec commands of a primitive: its state is the file res/$TSHA_NODE/<key>. */
function execParams(dir: string, config: CompiledConfig, id: string): Record<string, string> {
  const keyed = keyedByChild(config, id) ? '${TSHA_RESOURCE%%:*}' : '$TSHA_RESOURCE';
  const f = `f="${dir}/res/$TSHA_NODE/${keyed}"`;
  return {
    start: `${f}; mkdir -p "${dir}/res/$TSHA_NODE"; [ -f "$f.fail-start" ] && exit "$(cat "$f.fail-start")"; echo started > "$f"`,
    stop: `${f}; [ -f "$f.fail-stop" ] && exit "$(cat "$f.fail-stop")"; rm -f "$f" "$f.fail-monitor" "$f.probed"; exit 0`,
    monitor: `${f}; if [ -f "$f.fail-monitor" ]; then [ -f "$f.probed" ] && exit "$(cat "$f.fail-monitor")"; : > "$f.probed"; fi; ` +
      `[ -f "$f" ] || exit 7; [ "$(cat "$f")" = promoted ] && exit 8; exit 0`,
    promote: `${f}; echo promoted > "$f"`,
    demote: `${f}; echo started > "$f"`,
  };
}

/** The scenario's compiled configuration as the raw JSON the agents read (resources as exec resources). */
export function rawConfig(setup: ReplaySetup, dir: string, net: ReplayNet): Record<string, unknown> {
  const c = setup.config;
  const sections: Record<'resources' | 'groups' | 'clones', Record<string, Record<string, unknown>>> = { resources: {}, groups: {}, clones: {} };
  const promotableChild = (id: string) => Object.values(c.resources).some((r) => r.type === 'clone' && r.promotable && (r.child === id || (c.resources[r.child]?.type === 'group' && (c.resources[r.child] as { members: string[] }).members.includes(id))));
  const entry = (r: Resource): Record<string, unknown> => {
    const e: Record<string, unknown> = { meta: { ...r.meta }, location: [], colocation: [], order: [] };
    if (r.type === 'primitive') {
      const params = execParams(dir, c, r.id);
      if (!promotableChild(r.id)) {
        delete params.promote;
        delete params.demote;
      }
      Object.assign(e, {
        // loopback agents have no Ceph or DRBD: scenarios whose plan takes storage over are skipped
        // (the harness tests do it for real), the others plan the same without it (checked
        // against the golden plan)
        kind: 'exec', params, stateful: r.stateful, storage: null,
        operations: Object.fromEntries(r.operations.map((op) => [operationKey(op), {
          ...(op.name === 'monitor' ? { intervalMs: op.intervalMs } : {}), timeoutMs: op.timeoutMs, onFail: op.onFail,
        }])),
      });
    } else if (r.type === 'group') {
      e.members = [...r.members];
    } else {
      Object.assign(e, { child: r.child, max: r.max, maxPerNode: r.maxPerNode, promotable: r.promotable, promotedMax: r.promotedMax, promotedMaxPerNode: r.promotedMaxPerNode, interleave: r.interleave ?? false });
    }
    return e;
  };
  const sectionOf = (r: Resource) => (r.type === 'primitive' ? 'resources' : r.type === 'group' ? 'groups' : 'clones');
  for (const r of Object.values(c.resources)) sections[sectionOf(r)][r.id] = entry(r);
  const declared = (id: string) => sections[sectionOf(c.resources[id]!)][id]!;
  for (const l of c.constraints.location) {
    (declared(l.resource).location as unknown[]).push({ node: l.node, rule: l.rule, score: l.score, ...(l.role ? { role: l.role } : {}) });
  }
  for (const col of c.constraints.colocation) {
    (declared(col.resource).colocation as unknown[]).push({ with: col.with, score: col.score, ...(col.withRole ? { withRole: col.withRole } : {}), ...(col.role ? { role: col.role } : {}) });
  }
  for (const o of c.constraints.order) {
    (declared(o.then).order as unknown[]).push({ after: o.first, firstAction: o.firstAction, thenAction: o.thenAction, kind: o.kind, symmetric: o.symmetric });
  }
  const levels: Record<string, string[][]> = {};
  for (const l of [...c.fencing.levels].sort((a, b) => a.index - b.index)) (levels[l.node] ??= []).push([...l.devices]);
  return {
    cluster: { name: `golden ${setup.name}`.slice(0, 64), id: net.clusterId },
    nodes: Object.fromEntries(c.nodes.map((n, i) => [n.name, { address: `${net.ipPrefix}.${i + 1}:${net.portBase + i}`, votes: n.votes, attributes: { ...n.attributes } }])),
    timing: { ...c.timing, ...REPLAY_TIMING, watchdogMs: c.timing.watchdogMs },
    noQuorumPolicy: c.noQuorumPolicy,
    fencing: {
      enabled: c.fencing.enabled, watchdog: c.fencing.watchdog,
      devices: Object.fromEntries(c.fencing.devices.map((d) => [d.id, { agent: d.agent, parameters: { ...d.parameters }, hosts: [...d.hosts], timeoutMs: d.timeoutMs }])),
      levels,
    },
    ...sections,
    maintenanceMode: c.maintenanceMode,
  };
}

/**
 * A test fence agent under a real agent's name: after FENCE_DELAY_S it "powers the node off" (kills
 * its agent, forgets its resources) and confirms, or fails when the node is listed in fence-fails.
 * Every attempt is one line of fence.log: begin and end (wall clock, s), agent, target, ok|failed.
 */
function fenceScript(dir: string, agent: string): string {
  return `#!/bin/sh
# golden-replay test fence agent (${agent}): stands in for a power switch on a loopback cluster
action=off; plug=
while IFS='=' read -r k v; do
  case "$k" in action) action=$v ;; plug|port) plug=$v ;; esac
done
case "$action" in monitor|list|status) exit 0 ;; esac
D="${dir}"
begin=$(date +%s.%N)
sleep ${FENCE_DELAY_S}
if grep -qx "$plug" "$D/fence-fails" 2>/dev/null; then
  echo "$begin $(date +%s.%N) ${agent} $plug failed" >> "$D/fence.log"
  exit 1
fi
if [ -f "$D/$plug.agent.pid" ]; then
  pid=$(cat "$D/$plug.agent.pid")
  kill -9 "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do sleep 0.01; done
fi
rm -rf "$D/res/$plug"
echo "$begin $(date +%s.%N) ${agent} $plug ok" >> "$D/fence.log"
exit 0
`;
}

export class ReplayCluster {
  readonly dir: string;
  readonly configFile: string;
  private readonly procs = new Map<NodeName, ChildProcess>();

  constructor(readonly setup: ReplaySetup, readonly net: ReplayNet) {
    this.dir = mkdtempSync(join(tmpdir(), `tsha-golden-${setup.name.slice(0, 40)}-`));
    this.configFile = join(this.dir, 'config.json');
  }

  stateDir(node: NodeName): string {
    return join(this.dir, `${node}.state`);
  }

  logFile(node: NodeName): string {
    return join(this.dir, `${node}.log`);
  }

  /** Write the configuration, fence agents and resource files, and seed every state directory. */
  async prepare(): Promise<void> {
    const s = this.setup;
    writeFileSync(this.configFile, JSON.stringify(rawConfig(s, this.dir, this.net), null, 2));
    mkdirSync(join(this.dir, 'fence'));
    for (const agent of new Set(s.config.fencing.devices.map((d) => d.agent))) {
      const p = join(this.dir, 'fence', agent);
      writeFileSync(p, fenceScript(this.dir, agent));
      chmodSync(p, 0o755);
    }
    writeFileSync(join(this.dir, 'fence-fails'), s.fenceFails.map((n) => `${n}\n`).join(''));
    for (const n of s.config.nodes) mkdirSync(join(this.dir, 'res', n.name), { recursive: true });
    for (const f of s.files) writeFileSync(join(this.dir, 'res', f.node, f.key), `${f.state}\n`);
    for (const i of s.injections) writeFileSync(join(this.dir, 'res', i.node, `${i.key}.fail-${i.operation}`), `${i.exitCode}\n`);
    for (const n of s.config.nodes) await seedState(this.stateDir(n.name), s.record);
  }

  start(node: NodeName): void {
    const args = [
      MAIN_JS, '--log-level', 'info', 'agent', '--config', this.configFile, '--node', node, '--state-dir', this.stateDir(node),
      '--no-socket', '--self-fence', 'exit', '--fence-path', join(this.dir, 'fence'),
    ];
    const fd = openSync(this.logFile(node), 'a');
    const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', fd], env: { ...process.env, NOTIFY_SOCKET: '' } });
    closeSync(fd);
    writeFileSync(join(this.dir, `${node}.agent.pid`), String(p.pid));
    this.procs.set(node, p);
  }

  alive(node: NodeName): boolean {
    const p = this.procs.get(node);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  logs(node: NodeName): LogLine[] {
    const f = this.logFile(node);
    if (!existsSync(f)) return [];
    const out: LogLine[] = [];
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        out.push({ ...o, node, msg: String(o.msg ?? ''), time: Date.parse(String(o.time)) });
      } catch {
        /* a line cut by a kill */
      }
    }
    return out;
  }

  allLogs(): LogLine[] {
    return this.setup.running.flatMap((n) => this.logs(n));
  }

  fenceLog(): FenceAttempt[] {
    const f = join(this.dir, 'fence.log');
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
      const [b, e, agent, target, result] = l.split(' ');
      return { agent: agent!, target: target!, ok: result === 'ok', beganAt: Number(b) * 1000, endedAt: Number(e) * 1000 };
    });
  }

  /** Every scheduler input the coordinators recorded, oldest first (by node, then sequence). */
  recordedInputs(): { node: NodeName; input: SchedulerInput }[] {
    const out: { node: NodeName; input: SchedulerInput; seq: string }[] = [];
    for (const n of this.setup.running) {
      const d = join(this.stateDir(n), 'scheduler-inputs');
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d).filter((x) => x.endsWith('.json')).sort()) {
        try {
          out.push({ node: n, input: parseSchedulerInput(readFileSync(join(d, f), 'utf8')), seq: f });
        } catch {
          /* being written */
        }
      }
    }
    return out.sort((a, b) => a.input.now - b.input.now || (a.seq < b.seq ? -1 : 1)).map(({ node, input }) => ({ node, input }));
  }

  tail(lines = 40): string {
    return this.setup.running.map((n) => {
      const f = this.logFile(n);
      const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
      return `--- ${n}\n${text.split('\n').slice(-lines).join('\n')}`;
    }).join('\n');
  }

  async destroy(keep = false): Promise<void> {
    for (const p of this.procs.values()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An agent's state directory holding `state` as its snapshot (index 0, term 0): its first start resumes from it. */
async function seedState(dir: string, state: ClusterState): Promise<void> {
  const store = new DiskStore<Command, ClusterState>(dir);
  await store.load();
  await store.saveSnapshot({ index: 0, term: 0, state });
  await store.close();
}
