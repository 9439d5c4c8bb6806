// npm run bench:idle-ab -- [--a DIR] [--b DIR] [--node-args-a "..."] [--node-args-b "..."]
//   [--env-a "K=V ..."] [--env-b "K=V ..."] [--timing-a JSON] [--timing-b JSON] [--monitor-ms MS]
//   [--settle-secs 60] [--window-secs 60] [--windows 5] [--json]
//
// Two idle 3-node clusters at once on the real-cluster harness (namespaces, wireguard-go, systemd
// units as resources), A and B, and every agent's CPU and main-thread wake-ups over the SAME windows.
// On these machines idle CPU moves by 15 to 30 % from one window to the next with the host's load,
// so a change worth 0.1 % of a core cannot be seen by measuring before and after; side by side, both
// clusters see the same load (each is about 3 % of one core of the two). A and B can be two builds
// (DIR: a tsha checkout whose dist/ is built or buildable, e.g. a `git worktree` of an older commit
// with node_modules linked in; default: this checkout for both), node flags, agent environment
// variables or timing.
// The coordinator is the node that reports most here, and it often also holds the resource (its
// monitors add to it): both are printed per window. The resource is monitored every --monitor-ms,
// by default the production default (10 s), as in bench:failover's idle phase, not the harness's
// 1 s (at 1 s the monitors cost the holder 0.3 to 0.6 % more here). The last line of output is one
// JSON object.
import fs from 'node:fs';
import path from 'node:path';
import { createCluster, sleep, type Cluster } from '../cluster/harness.js';
import * as ThisCheckout from '../cluster/tsha-cluster.js';
import { DEFAULT_MONITOR_INTERVAL_MS } from '../../src/config/options.js';
import { clockTicks, mainThreadWakeups, procUsage } from './proc.js';
import { median } from './stats.js';
import { option } from './args.js';

const args = process.argv.slice(2);
const monitorMs = Number(option('monitor-ms') ?? DEFAULT_MONITOR_INTERVAL_MS);
const settleSecs = Number(option('settle-secs') ?? 60);
const windowSecs = Number(option('window-secs') ?? 60);
const windows = Number(option('windows') ?? 5);
const jsonOnly = args.includes('--json');
const log = (s: string): void => void process.stderr.write(`[idle-ab] ${s}\n`);

interface Side {
  label: 'a' | 'b';
  root: string;
  nodeArgs: string[];
  env: Record<string, string>;
  timing: Record<string, number> | undefined;
  cluster: Cluster | null;
  // the TshaCluster of that side's own checkout (its dist/, its harness glue)
  tsha: { installUnit(): Promise<void>; startAll(): void; waitQuorate(ms: number): Promise<string>; waitHolder(ms: number): Promise<{ name: string }>; agentPid(n: unknown): number | undefined } | null;
  pids: Map<string, number>;
  windows: { coordinator: string; holder: string; cpu_pct: Record<string, number>; wakeups_per_s: Record<string, number> }[];
}

function side(label: 'a' | 'b'): Side {
  const root = path.resolve(option(label) ?? ThisCheckout.ROOT);
  if (!fs.existsSync(path.join(root, 'test/cluster/tsha-cluster.ts'))) throw new Error(`--${label} ${root}: not a tsha checkout`);
  const timing = option(`timing-${label}`);
  const env: Record<string, string> = {};
  for (const kv of option(`env-${label}`)?.split(/\s+/).filter(Boolean) ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--env-${label}: "${kv}" is not K=V`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    label, root, nodeArgs: option(`node-args-${label}`)?.split(/\s+/).filter(Boolean) ?? [], env, timing: timing === undefined ? undefined : (JSON.parse(timing) as Record<string, number>),
    cluster: null, tsha: null, pids: new Map(), windows: [],
  };
}

const sides = [side('a'), side('b')];
const ticksPerSec = clockTicks();
try {
  for (const s of sides) {
    const mod = (await import(path.join(s.root, 'test/cluster/tsha-cluster.ts'))) as typeof ThisCheckout;
    mod.ensureBuilt();
    s.cluster = await createCluster({ nodes: 3 });
    s.tsha = new mod.TshaCluster(s.cluster, { monitorIntervalMs: monitorMs, nodeArgs: s.nodeArgs, agentEnv: s.env, ...(s.timing ? { timing: s.timing } : {}) });
    await s.tsha.installUnit();
    s.tsha.startAll();
    const envText = Object.entries(s.env).map(([k, v]) => `${k}=${v}`).join(' ');
    log(`${s.label}: ${s.root}${s.nodeArgs.length ? ` node args ${s.nodeArgs.join(' ')}` : ''}${envText ? ` env ${envText}` : ''}${s.timing ? ` timing ${JSON.stringify(s.timing)}` : ''}`);
  }
  for (const s of sides) {
    await s.tsha!.waitQuorate(30_000);
    await s.tsha!.waitHolder(20_000);
    for (const n of s.cluster!.nodes) s.pids.set(n.name, s.tsha!.agentPid(n)!);
  }
  log(`both quorate; settling ${settleSecs} s, then ${windows} windows of ${windowSecs} s`);
  await sleep(settleSecs * 1000);
  for (let w = 0; w < windows; w++) {
    const read = (): Map<Side, Map<string, { ticks: number; wakeups: number }>> =>
      new Map(sides.map((s) => [s, new Map([...s.pids].map(([n, pid]) => [n, { ticks: procUsage(pid).ticks, wakeups: mainThreadWakeups(pid) }]))]));
    const before = read();
    const t0 = performance.now();
    await sleep(windowSecs * 1000);
    const secs = (performance.now() - t0) / 1000;
    const after = read();
    for (const s of sides) {
      // asked after the window was read: the control call's CPU falls into the next window, alike on both sides
      const coordinator = await s.tsha!.waitQuorate(10_000);
      const holder = (await s.tsha!.waitHolder(10_000)).name;
      const cpu: Record<string, number> = {};
      const wk: Record<string, number> = {};
      for (const n of s.pids.keys()) {
        const b = before.get(s)!.get(n)!;
        const a = after.get(s)!.get(n)!;
        cpu[n] = Math.round(((a.ticks - b.ticks) / ticksPerSec / secs) * 10_000) / 100;
        wk[n] = Math.round(((a.wakeups - b.wakeups) / secs) * 10) / 10;
      }
      s.windows.push({ coordinator, holder, cpu_pct: cpu, wakeups_per_s: wk });
      log(`window ${w + 1}/${windows} ${s.label}: coordinator ${coordinator} ${cpu[coordinator]} %${holder === coordinator ? ' (holds the resource)' : `, holder ${holder} ${cpu[holder]} %`}; all ${JSON.stringify(cpu)}; wake-ups/s ${JSON.stringify(wk)}`);
    }
  }
} finally {
  for (const s of sides) await s.cluster?.destroy().catch((e: unknown) => log(`${s.label}: teardown: ${String(e)}`));
}

const summary = (s: Side) => {
  const coord = s.windows.map((w) => w.cpu_pct[w.coordinator]!);
  const members = s.windows.flatMap((w) => Object.entries(w.cpu_pct).filter(([n]) => n !== w.coordinator).map(([, v]) => v));
  return {
    root: s.root, node_args: s.nodeArgs, env: s.env, timing: s.timing ?? 'defaults',
    coordinator_cpu_pct: { median: Math.round(median(coord) * 100) / 100, samples: coord },
    member_cpu_pct: { median: Math.round(median(members) * 100) / 100, samples: members },
    windows: s.windows,
  };
};
const result = { bench: 'idle-ab', monitor_ms: monitorMs, settle_secs: settleSecs, window_secs: windowSecs, a: summary(sides[0]!), b: summary(sides[1]!) };
if (!jsonOnly) {
  for (const [k, v] of [['a', result.a], ['b', result.b]] as const) {
    console.log(`${k}: coordinator median ${v.coordinator_cpu_pct.median} % (${v.coordinator_cpu_pct.samples.join(', ')}), members median ${v.member_cpu_pct.median} %`);
  }
}
console.log(JSON.stringify(result));
