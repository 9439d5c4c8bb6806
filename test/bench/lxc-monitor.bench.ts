// What the LXC driver costs: a recurring monitor of a running container (one lxc-info; with a health
// command also one lxc-attach), and the container's start and clean stop (busybox init), on a real
// busybox container (test/helpers/lxc.ts). CPU is split into the agent's own (process.cpuUsage: the
// spawn) and its children's (the tools, from /proc/self/stat cutime + cstime, which the kernel adds
// when a child is reaped; clock ticks, so the figure is an average over the runs).
// Run as root: node --import tsx test/bench/lxc-monitor.bench.ts [--runs N]
// The last line is one JSON object.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxcAgent } from '../../src/adapters/lxc/index.js';
import type { ResourceRef } from '../../src/ports/resource-agent.js';
import { createContainer, destroyContainers, removeLxcCgroups } from '../helpers/lxc.js';
import { option } from './args.js';
import { nearestRank } from './stats.js';

const runs = Number(option('runs') || '200');
const TICK_US = 1e6 / 100; // USER_HZ
const lxcPath = mkdtempSync(join(tmpdir(), 'tsha-lxc-bench-'));
const name = `tb${process.pid}`;

function childrenCpuUs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_US; // cutime, cstime (fields 16, 17)
}

async function measure(what: string, fn: () => Promise<unknown>): Promise<Record<string, unknown>> {
  const wall: number[] = [];
  const own0 = process.cpuUsage();
  const kids0 = childrenCpuUs();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    wall.push(performance.now() - t);
  }
  const own = process.cpuUsage(own0);
  const ownUs = (own.user + own.system) / runs;
  const kidsUs = (childrenCpuUs() - kids0) / runs;
  const w = nearestRank(wall);
  console.log(`${what}: wall median ${w.median.toFixed(2)} ms (p95 ${w.p95.toFixed(2)}), CPU ${Math.round(ownUs + kidsUs)} µs per call (agent ${Math.round(ownUs)}, tools ${Math.round(kidsUs)})`);
  return { name: what, wall_median_ms: w.median, wall_p95_ms: w.p95, cpu_us: ownUs + kidsUs, agent_cpu_us: ownUs, tools_cpu_us: kidsUs };
}

const agent = new LxcAgent();
const res: ResourceRef = { id: name, kind: 'lxc', params: { name, configPath: lxcPath } };
const T = { timeoutMs: 10_000 };
const cases: Record<string, unknown>[] = [];
try {
  await createContainer(lxcPath, name);
  const t0 = performance.now();
  const started = await agent.start(res, T);
  const startMs = performance.now() - t0;
  if (started.status !== 'ok') throw new Error(`start: ${JSON.stringify(started)}`);
  cases.push(await measure('monitor', () => agent.monitor(res, T)));
  cases.push(await measure('monitor with health command "true"', () => agent.monitor({ ...res, params: { ...res.params, healthCommand: 'true' } }, T)));
  const t1 = performance.now();
  const stopped = await agent.stop(res, T);
  const stopMs = performance.now() - t1;
  if (stopped.status !== 'ok') throw new Error(`stop: ${JSON.stringify(stopped)}`);
  console.log(`start ${startMs.toFixed(0)} ms, clean stop ${stopMs.toFixed(0)} ms (busybox init)`);
  cases.push({ name: 'start', wall_ms: startMs }, { name: 'clean-stop', wall_ms: stopMs });
} finally {
  await destroyContainers(lxcPath);
  removeLxcCgroups([name]);
  rmSync(lxcPath, { recursive: true, force: true });
}
console.log(JSON.stringify({ runs, cases }));
