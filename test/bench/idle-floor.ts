// npm run bench:idle-floor -- [--stacks timer,tcp,http2,grpc,codec,mesh] [--heartbeat-ms 150[,250,...]]
//                             [--rounds N] [--warmup-secs S] [--settle-secs S] [--window-secs S] [--json]
//
// What an idle cluster's messages cost on this machine before any of tsha's own work: the floor
// under bench:failover's idle_cpu_pct. On the real-cluster harness (3 namespaced nodes joined by
// wireguard-go, as the agents run there) three plain node processes replay an idle 3-node
// cluster's message pattern and nothing else: n1, the coordinator, sends one heartbeat-sized
// message to n2 and n3 every heartbeat interval; each answers at once over its own connection.
// Stacks (test/bench/idle-floor-node.ts): timer (the coordinator's interval timer only, no
// messages), tcp, http2, grpc (@grpc/grpc-js with the mesh's server and channel options), codec
// (grpc carrying the real envelopes, encoded and decoded) and mesh (tsha's MeshTransport with real
// AppendEntries / AppendEntriesResponse messages). A full agent adds its
// core, effects, metrics and the rest on top of `mesh`.
// Every process runs with the agent's node and V8 flags (AGENT_NODE_ARGS, DAEMON_V8_FLAGS).
// Per stack and heartbeat interval, each round: start the three; the coordinator sends every 5 ms
// for --warmup-secs (default 15: V8 compiles and optimizes by calls made, and at the heartbeat pace
// alone that takes minutes, during which its compiler threads' CPU counts too), then at the
// heartbeat pace; after --settle-secs (default 30, warm-up included), CPU % (utime+stime) and
// main-thread wake-ups/s of each over --window-secs (default 45);
// a stack whose messages did not all flow in the window is an error, not a figure. Rounds
// interleave the stacks, so a slow spell of the machine does not land on one stack only.
// Needs root (namespaces). Progress goes to stderr; the LAST line of stdout is one JSON object.
import fs from 'node:fs';
import path from 'node:path';
import { createCluster, sleep } from '../cluster/harness.js';
import { AGENT_NODE_ARGS, ensureBuilt, ROOT } from '../cluster/tsha-cluster.js';
import { DAEMON_V8_FLAGS } from '../../src/cli/commands/agent.js';
import { clockTicks, mainThreadWakeups, procUsage } from './proc.js';
import { median } from './stats.js';
import type { ChildSpec, Stack } from './idle-floor-node.js';
import { option } from './args.js';

const STACKS: Stack[] = ['timer', 'tcp', 'http2', 'grpc', 'codec', 'mesh'];
const PORT = 7790;

const stacks = (option('stacks') ?? STACKS.join(',')).split(',') as Stack[];
for (const s of stacks) if (!STACKS.includes(s)) throw new Error(`--stacks: unknown stack "${s}" (one of ${STACKS.join(', ')})`);
const heartbeats = (option('heartbeat-ms') ?? '150').split(',').map(Number);
for (const h of heartbeats) if (!(h >= 10)) throw new Error(`--heartbeat-ms: "${h}" is not a number of milliseconds ≥ 10`);
const rounds = Number(option('rounds') ?? 3);
const warmupSecs = Number(option('warmup-secs') ?? 15);
const settleSecs = Number(option('settle-secs') ?? 30);
if (!(settleSecs > warmupSecs)) throw new Error('--settle-secs must be longer than --warmup-secs');
const windowSecs = Number(option('window-secs') ?? 45);
const json = process.argv.includes('--json');
const log = (s: string): void => void process.stderr.write(`[idle-floor] ${s}\n`);

const CHILD_JS = path.join(ROOT, 'dist/test/bench/idle-floor-node.js');
ensureBuilt();
if (!fs.existsSync(CHILD_JS) || fs.statSync(CHILD_JS).mtimeMs < fs.statSync(path.join(ROOT, 'test/bench/idle-floor-node.ts')).mtimeMs) {
  throw new Error(`${CHILD_JS} is missing or older than its source: run npm run build`);
}

interface Sample { cpuPct: number; wakeupsPerS: number; rxPerS: number }
const round2 = (x: number): number => Math.round(x * 100) / 100;
const round1 = (x: number): number => Math.round(x * 10) / 10;

const c = await createCluster({ nodes: 3 });
const results = new Map<string, { coordinator: Sample[]; members: Sample[] }>();
try {
  const [n1, n2, n3] = c.nodes;
  const clk = clockTicks();
  for (let r = 0; r < rounds; r++) {
    for (const hb of heartbeats) {
      for (const stack of stacks) {
        const addr = (n: typeof n1): string => `${n!.meshIp}:${PORT}`;
        const specs: [typeof n1, ChildSpec][] = [
          [n1, { stack, role: 'c', self: n1!.name, listen: addr(n1), heartbeatMs: hb, warmupMs: warmupSecs * 1000, peers: [n2!, n3!].map((n) => ({ name: n.name, address: addr(n) })) }],
          ...[n2, n3].map((n): [typeof n1, ChildSpec] => [n, { stack, role: 'm', self: n!.name, listen: addr(n), heartbeatMs: hb, warmupMs: warmupSecs * 1000, peers: [{ name: n1!.name, address: addr(n1) }] }]),
        ];
        const procs = specs.map(([n, spec]) => n!.spawn([process.execPath, ...AGENT_NODE_ARGS, ...DAEMON_V8_FLAGS, CHILD_JS, JSON.stringify(spec)], { name: `${stack}-${hb}-${r}` }));
        try {
          await sleep(settleSecs * 1000);
          for (const p of procs) if (!p.running()) throw new Error(`${stack}: ${p.name} exited: ${p.output().slice(-2000)}`);
          const rxNow = async (): Promise<number[]> => {
            for (const p of procs) p.kill('SIGUSR2');
            await sleep(200);
            return procs.map((p) => Number(/\{"rx":(\d+)\}\s*$/.exec(p.output())?.[1] ?? NaN));
          };
          const rx0 = await rxNow();
          const before = procs.map((p) => ({ ticks: procUsage(p.pid).ticks, wk: mainThreadWakeups(p.pid) }));
          const t0 = performance.now();
          await sleep(windowSecs * 1000);
          const secs = (performance.now() - t0) / 1000;
          const after = procs.map((p) => ({ ticks: procUsage(p.pid).ticks, wk: mainThreadWakeups(p.pid) }));
          const rx1 = await rxNow();
          const samples = procs.map((_p, i): Sample => ({
            cpuPct: round2(((after[i]!.ticks - before[i]!.ticks) / clk / secs) * 100),
            wakeupsPerS: round1((after[i]!.wk - before[i]!.wk) / secs),
            rxPerS: round1((rx1[i]! - rx0[i]!) / secs),
          }));
          // every heartbeat and every answer must have arrived (the coordinator gets two per interval)
          const want = [2000 / hb, 1000 / hb, 1000 / hb].map((x) => (stack === 'timer' ? 0 : x));
          samples.forEach((s, i) => {
            if (stack !== 'timer' && !(s.rxPerS >= want[i]! * 0.9)) throw new Error(`${stack} at ${hb} ms: ${procs[i]!.name} received ${s.rxPerS}/s, expected ${want[i]!.toFixed(1)}/s`);
          });
          const key = `${stack}@${hb}`;
          const acc = results.get(key) ?? { coordinator: [], members: [] };
          acc.coordinator.push(samples[0]!);
          acc.members.push(samples[1]!, samples[2]!);
          results.set(key, acc);
          log(`round ${r + 1}/${rounds} ${key}: coordinator ${samples[0]!.cpuPct} % (${samples[0]!.wakeupsPerS} wake-ups/s, ${samples[0]!.rxPerS} messages/s in), members ${samples[1]!.cpuPct} / ${samples[2]!.cpuPct} % (${samples[1]!.rxPerS} / ${samples[2]!.rxPerS} messages/s in)`);
        } finally {
          for (const p of procs) p.kill('SIGKILL');
          await Promise.all(procs.map((p) => p.exited));
        }
      }
    }
  }
} finally {
  await c.destroy();
}

const out = [...results].map(([key, { coordinator, members }]) => {
  const [stack, hb] = key.split('@');
  return {
    stack, heartbeat_ms: Number(hb),
    coordinator_cpu_pct: round2(median(coordinator.map((s) => s.cpuPct))),
    member_cpu_pct: round2(median(members.map((s) => s.cpuPct))),
    coordinator_wakeups_per_s: round1(median(coordinator.map((s) => s.wakeupsPerS))),
    member_wakeups_per_s: round1(median(members.map((s) => s.wakeupsPerS))),
    samples_coordinator_cpu_pct: coordinator.map((s) => s.cpuPct),
    samples_member_cpu_pct: members.map((s) => s.cpuPct),
  };
});
if (!json) for (const o of out) log(`${o.stack} @ ${o.heartbeat_ms} ms: coordinator ${o.coordinator_cpu_pct} % (${o.coordinator_wakeups_per_s}/s), members ${o.member_cpu_pct} % (${o.member_wakeups_per_s}/s)`);
console.log(JSON.stringify({ rounds, warmup_secs: warmupSecs, settle_secs: settleSecs, window_secs: windowSecs, stacks: out }));
