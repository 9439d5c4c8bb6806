// Quick local timing of schedule() (not the benchmark: `npm run bench:scheduler` is the one that
// reports). Usage: npx tsx test/support/time-schedule.ts [nodes] [resources] [runs]
// Input: every tenth slot a 3-member group with a location preference, one clone (max 8) per
// hundred, the rest primitives with stickiness, -INFINITY bans, colocations and orders; one
// case with nothing running, one with everything running and node n1 lost.
import { schedule } from '../../src/core/scheduler/index.js';
import type { SchedulerInput } from '../../src/core/scheduler/types.js';
import { cluster, INF } from './cluster-builder.js';

export function syntheticInput(nodes: number, resources: number, running: boolean): SchedulerInput {
  const names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  const b = cluster(...names);
  let count = 0, g = 0;
  while (count < resources) {
    if (count % 10 < 3 && count + 3 <= resources) {
      const m = [`g${g}a`, `g${g}b`, `g${g}c`];
      b.group(`grp${g}`, m);
      if (running) for (const x of m) b.running(x, names[g % nodes]!);
      b.location(`grp${g}`, names[(g * 7) % nodes]!, 50);
      g++; count += 3;
    } else if (count % 100 === 9) {
      b.clone(`cl${count}`, `c${count}`, { max: Math.min(nodes, 8) });
      count++;
    } else {
      b.primitive(`p${count}`, { meta: { stickiness: 100 } });
      if (running) b.running(`p${count}`, names[count % nodes]!);
      if (count % 5 === 0) b.location(`p${count}`, names[(count * 3) % nodes]!, -INF);
      if (count % 7 === 0 && count > 10) b.colocate(`p${count}`, `p${count - 1}`, count % 2 ? INF : 200);
      if (count % 11 === 0 && count > 10) b.order(`p${count - 1}`, `p${count}`);
      count++;
    }
  }
  if (running) b.node('n1', { state: 'unclean' });
  return b.input();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [nodes = 32, resources = 2000, runs = 31] = process.argv.slice(2).map(Number);
  for (const running of [false, true]) {
    const input = syntheticInput(nodes, resources, running);
    const times: number[] = [];
    let actions = 0;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      actions = schedule(input.snapshot, input.config, input.now).actions.length;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)]!;
    console.log(`${nodes} nodes x ${resources} resources, ${running ? 'all running, n1 lost' : 'nothing running'}: ` +
      `median ${med.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms over ${runs} runs (${actions} actions)`);
  }
}
