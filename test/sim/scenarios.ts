// Named simulator scenarios, each with a one-line description. A scenario builds a cluster, lets
// it settle (the coordinator is elected and every resource placed), injects its faults at seeded
// times, and states what must hold at the end (liveness): every resource running exactly once,
// or nothing running (a cluster without quorum must stop).

import type { NodeName } from '../../src/config/types.js';
import type { Rng } from '../../src/core/cluster/rng.js';
import { clone, drbdClone, group, makeConfig, nodeName, orderedApart, rbd, shapes, type ConfigSpec } from './config.js';
import type { Sim, SimParams } from './engine.js';

export interface Scenario {
  name: string;
  description: string;
  config: ConfigSpec;
  params?: Partial<Omit<SimParams, 'seed' | 'config'>>;
  /** extra setup: build initialConfig etc. */
  setup?: (p: SimParams) => void;
  /** total simulated time; liveness is judged at the end */
  durationMs: number;
  /** schedules the faults; the cluster has settled by `t0` */
  script: (sim: Sim, rng: Rng, t0: number) => void;
  expect: 'placed' | 'stopped' | 'any';
  /** record failover times (fault → resource running elsewhere) */
  measureFailover?: boolean;
}

/** by this time every scenario's cluster has elected a coordinator and placed its resources */
export const SETTLE_MS = 2500;

const names = (n: number) => Array.from({ length: n }, (_, i) => nodeName(i));

function holder(sim: Sim, r = 'r0'): NodeName {
  return sim.holderOf(r) ?? sim.coordinator() ?? 'n1';
}

/** The powered machines where an instance of the clone child `child` is promoted. */
function promotedOn(sim: Sim, child: string) {
  return [...sim.machines.values()].filter((m) => m.power && [...m.promoted].some((x) => x.startsWith(`${child}:`)));
}

/** The machine running the promoted instance of `child` loses power; at the end exactly one is promoted again ({n} in `want` is the count seen). */
function crashPrimary(sim: Sim, rng: Rng, t0: number, child: string, want: string) {
  sim.at(t0 + rng.int(0, 500), () => sim.powerOff(promotedOn(sim, child)[0] ?? sim.machine('n1'), 'crash', 2500));
  sim.at(8900, () => {
    const promoted = promotedOn(sim, child);
    if (promoted.length !== 1) sim.violate('liveness', want.replace('{n}', String(promoted.length)));
  });
}

function crashHolder(sim: Sim, reboot: number | null = null) {
  const h = holder(sim);
  sim.markLost('r0');
  sim.powerOff(sim.machine(h), 'crash', reboot);
}

/**
 * Kill v's agent (host up) and restart it after downMs; checks that the crash grace carried the
 * node: its resources never stop there, no machine is powered off, and a grace was granted.
 */
function expectCrashRidden(sim: Sim, v: NodeName, downMs: number) {
  const m = sim.machine(v);
  const held = [...m.phys.keys()];
  const powerOffs = sim.stats.powerOffs;
  const graces = sim.stats.crashGraces.grace;
  sim.crashAgent(m, downMs);
  const check = () => {
    for (const r of held) if (!m.power || !m.phys.has(r)) sim.violate('liveness', `${v}: ${r} no longer runs there during an agent crash of ${downMs} ms`);
    if (sim.stats.powerOffs !== powerOffs) sim.violate('liveness', `a machine was powered off during an agent crash of ${v} (${downMs} ms)`);
  };
  for (let t = 100; t < 6000; t += 100) sim.after(t, check);
  sim.after(6000, () => {
    if (held.length > 0 && sim.stats.crashGraces.grace === graces) sim.violate('liveness', `no crash grace for ${v} although it held ${held.join(',')}`);
  });
}

/** Every node runs exactly one instance of the clone child `child` (of `count`). */
function expectCloneEverywhere(sim: Sim, child: string, count: number) {
  const on: string[] = [];
  for (const m of sim.machines.values()) {
    if (!m.power || m.witness) continue;
    const mine = [...m.phys].filter(([r, s]) => s === 'running' && r.startsWith(`${child}:`)).length;
    if (mine !== 1) on.push(`${m.name}:${mine}`);
  }
  if (on.length > 0) sim.violate('liveness', `clone ${child}: not one instance per node at the end (${on.join(' ')}, want 1 each of ${count})`);
}

function others(sim: Sim, n: NodeName, count: number): NodeName[] {
  return names(count).filter((x) => x !== n);
}

const raw: (Omit<Scenario, 'expect'> & { expect?: Scenario['expect'] })[] = [
  {
    name: 'holder-crash-3',
    description: '3 nodes: the machine running r0 loses power; r0 restarts on a survivor after the fence',
    config: { nodes: 3, resources: 1 },
    durationMs: 7000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => crashHolder(sim, 2500)),
    expect: 'placed',
    measureFailover: true,
  },
  {
    name: 'follower-crash-3',
    description: '3 nodes, 2 resources: a machine that is not the coordinator crashes and reboots',
    config: { nodes: 3, resources: 2 },
    durationMs: 7000,
    script: (sim, rng, t0) =>
      sim.at(t0 + rng.int(0, 500), () => {
        const c = sim.coordinator() ?? 'n1';
        const victim = rng.pick(others(sim, c, 3));
        sim.powerOff(sim.machine(victim), 'crash', 1500);
      }),
    expect: 'placed',
  },
  {
    name: 'unfence-rejoin-3',
    description: '3 nodes, a fabric-fencing device (unfence), a clone on every node: a member crashes, is fenced and reboots; it starts its copy only after it was unfenced',
    config: { nodes: 3, resources: 1, unfence: true, shape: clone('c', 'cc', 3) },
    durationMs: 8000,
    script: (sim, rng, t0) =>
      sim.at(t0 + rng.int(0, 500), () => {
        const c = sim.coordinator() ?? 'n1';
        sim.powerOff(sim.machine(rng.pick(others(sim, c, 3))), 'crash', 1500);
      }),
    expect: 'placed',
  },
  {
    name: 'coordinator-crash-5',
    description: '5 nodes, 3 resources: the coordinator crashes; a new one continues from the committed state',
    config: { nodes: 5, resources: 3 },
    durationMs: 7000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => sim.powerOff(sim.machine(sim.coordinator() ?? 'n1'), 'crash', 2000)),
    expect: 'placed',
  },
  {
    name: 'two-crashes-5',
    description: '5 nodes, 3 resources: two machines crash 300 ms apart; the other three keep quorum',
    config: { nodes: 5, resources: 3 },
    durationMs: 8000,
    script: (sim, rng, t0) => {
      const [a, b] = [rng.int(0, 4), rng.int(0, 4)];
      sim.at(t0, () => sim.powerOff(sim.machine(nodeName(a)), 'crash', 3000));
      sim.at(t0 + 300, () => sim.powerOff(sim.machine(nodeName(b === a ? (a + 1) % 5 : b)), 'crash', 3000));
    },
    expect: 'placed',
  },
  {
    name: 'holder-partitioned-3',
    description: '3 nodes: the holder of r0 is cut off from both peers for 4 s, then the link heals',
    config: { nodes: 3, resources: 1 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        sim.markLost('r0');
        sim.partition([h], others(sim, h, 3));
      });
      sim.at(t0 + 4000, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'coordinator-pause-5s',
    description: '3 nodes: the coordinator freezes for 5 s (GC pause) and resumes with stale beliefs',
    config: { nodes: 3, resources: 2 },
    durationMs: 11000,
    script: (sim, rng, t0) => {
      let c = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        c = sim.coordinator() ?? 'n1';
        sim.pause(sim.machine(c));
      });
      sim.at(t0 + 5300, () => sim.resume(sim.machine(c)));
    },
    expect: 'placed',
  },
  {
    name: 'holder-pause-3s',
    description: '3 nodes: the holder of r0 freezes for 3 s; its resources still run while paused',
    config: { nodes: 3, resources: 1 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      let h = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        h = holder(sim);
        sim.pause(sim.machine(h));
      });
      sim.at(t0 + 3300, () => sim.resume(sim.machine(h)));
    },
    expect: 'placed',
  },
  {
    name: 'asymmetric-partition',
    description: '3 nodes: one node hears the others but they do not hear it (or the reverse) for 3 s',
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const v = rng.pick(names(3));
        const inbound = rng.chance(0.5);
        for (const o of others(sim, v, 3)) {
          if (inbound) sim.cutOneWay(o, v);
          else sim.cutOneWay(v, o);
        }
      });
      sim.at(t0 + 3300, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'pairwise-cut',
    description: '3 nodes: only the link between two nodes is cut (both still reach the third) for 4 s',
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const [a, b] = rng.chance(0.5) ? ['n1', 'n2'] : rng.chance(0.5) ? ['n2', 'n3'] : ['n1', 'n3'];
        sim.cutBoth(a!, b!);
      });
      sim.at(t0 + 4300, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'witness-link-cut',
    description: '2 nodes + witness: the link between the two nodes is cut; the witness breaks the tie',
    config: { nodes: 2, witness: true, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => sim.cutBoth('n1', 'n2'));
      sim.at(t0 + 4000, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'witness-holder-crash',
    description: '2 nodes + witness: the holder of r0 crashes; the survivor and the witness keep quorum',
    config: { nodes: 2, witness: true, resources: 1 },
    durationMs: 7000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 300), () => crashHolder(sim, 2500)),
    expect: 'placed',
    measureFailover: true,
  },
  {
    name: 'witness-loss',
    description: '2 nodes + witness: the witness goes away; the two nodes keep quorum and resources',
    config: { nodes: 2, witness: true, resources: 2 },
    durationMs: 7000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 300), () => sim.powerOff(sim.machine('witness'), 'witness lost', null)),
    expect: 'placed',
  },
  {
    name: 'witness-down-then-node-down',
    description: '2 nodes + witness: the witness dies, then a node dies: the last node has no quorum and stops',
    config: { nodes: 2, witness: true, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0, () => sim.powerOff(sim.machine('witness'), 'witness lost', null));
      sim.at(t0 + 1000 + rng.int(0, 500), () => sim.powerOff(sim.machine(rng.pick(['n1', 'n2'])), 'crash', null));
    },
    expect: 'stopped',
  },
  {
    name: 'two-node-link-cut',
    description: '2 nodes alone: the link is cut; both race to fence, the delayed side loses',
    config: { nodes: 2, resources: 2 },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => sim.cutBoth('n1', 'n2'));
      sim.at(t0 + 5000, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'two-node-holder-crash',
    description: '2 nodes alone: the holder crashes; the survivor fences it, then runs alone',
    config: { nodes: 2, resources: 1 },
    durationMs: 8000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 300), () => crashHolder(sim, 3000)),
    expect: 'placed',
    measureFailover: true,
  },
  {
    name: 'two-node-wait-for-all',
    description: '2 nodes alone: one machine is off at first start; the other waits for all before acting',
    config: { nodes: 2, resources: 2 },
    params: { offAtStart: ['n2'] },
    durationMs: 9000,
    script: (sim, rng, t0) =>
      sim.at(t0 + 1000 + rng.int(0, 1000), () => {
        if (!sim.allPlaced() && sim.noneRunning()) sim.powerOn(sim.machine('n2'));
        else sim.violate('wait-for-all', 'n1 ran resources before seeing its peer');
      }),
    expect: 'placed',
  },
  {
    name: 'two-node-pause',
    description: '2 nodes alone: one node freezes for 3 s; the other fences it and carries on alone',
    config: { nodes: 2, resources: 2 },
    durationMs: 11000,
    script: (sim, rng, t0) => {
      const v = rng.pick(['n1', 'n2']);
      sim.at(t0 + rng.int(0, 300), () => sim.pause(sim.machine(v)));
      sim.at(t0 + 3300, () => sim.resume(sim.machine(v)));
    },
  },
  {
    name: 'two-node-asymmetric',
    description: '2 nodes alone: one node hears its peer but is not heard for 3 s (one-way link failure)',
    config: { nodes: 2, resources: 2 },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      const [a, b] = rng.chance(0.5) ? ['n1', 'n2'] : ['n2', 'n1'];
      sim.at(t0 + rng.int(0, 300), () => sim.cutOneWay(a!, b!));
      sim.at(t0 + 3300, () => sim.heal());
    },
  },
  {
    name: 'two-node-flapping',
    description: '2 nodes alone: the link flaps every 100–800 ms for 4 s',
    config: { nodes: 2, resources: 2 },
    durationMs: 13000,
    script: (sim, rng, t0) => {
      let t = t0;
      let up = true;
      while (t < t0 + 4000) {
        const down = up;
        sim.at(t, () => (down ? sim.cutBoth('n1', 'n2') : sim.heal()));
        up = !up;
        t += rng.int(100, 800);
      }
      sim.at(t0 + 4000, () => sim.heal());
    },
  },
  {
    name: 'witness-one-sided',
    description: '2 nodes + witness: the witness reaches only one node and the nodes lose each other for 4 s',
    config: { nodes: 2, witness: true, resources: 2 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      const lonely = rng.pick(['n1', 'n2']);
      sim.at(t0 + rng.int(0, 300), () => {
        sim.cutBoth('n1', 'n2');
        sim.cutBoth(lonely, 'witness');
      });
      sim.at(t0 + 4300, () => sim.heal());
    },
  },
  {
    name: 'witness-pause',
    description: '2 nodes + witness: the witness freezes for 3 s, then the holder crashes right after it resumes',
    config: { nodes: 2, witness: true, resources: 2 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0, () => sim.pause(sim.machine('witness')));
      sim.at(t0 + 3000, () => sim.resume(sim.machine('witness')));
      sim.at(t0 + 3000 + rng.int(0, 400), () => crashHolder(sim, 2000));
    },
  },
  {
    name: 'flapping-link',
    description: '3 nodes: the link between the holder and the coordinator flaps every 100–600 ms for 5 s',
    config: { nodes: 3, resources: 2 },
    durationMs: 11000,
    script: (sim, rng, t0) => {
      let t = t0;
      const [a, b] = rng.chance(0.5) ? ['n1', 'n2'] : ['n2', 'n3'];
      let up = true;
      while (t < t0 + 5000) {
        const down = up;
        sim.at(t, () => (down ? sim.cutBoth(a!, b!) : sim.heal()));
        up = !up;
        t += rng.int(100, 600);
      }
      sim.at(t0 + 5000, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'total-partition-heal',
    description: '3 nodes: every node is isolated from every other for 3 s, then the network heals',
    config: { nodes: 3, resources: 2 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => sim.partition(['n1'], ['n2'], ['n3']));
      sim.at(t0 + 3300, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'rolling-restart',
    description: '3 nodes: every agent is restarted in turn; resources keep running and are re-adopted',
    config: { nodes: 3, resources: 3 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      names(3).forEach((n, i) => sim.at(t0 + i * 2000 + rng.int(0, 200), () => sim.crashAgent(sim.machine(n), rng.int(100, 350))));
    },
    expect: 'placed',
  },
  {
    name: 'graceful-agent-restart',
    description: '3 nodes, 2 resources: the agent of the holder (or of the coordinator) stops on SIGTERM and is back in 0.8–1.5 s; no fence, no move',
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 500), () => {
        const v = rng.pick([holder(sim), sim.coordinator() ?? 'n1']);
        const m = sim.machine(v);
        const held = [...m.phys.keys()];
        const powerOffs = sim.stats.powerOffs;
        sim.gracefulStopAgent(m, rng.int(800, 1500), (announced) => {
          if (!announced) sim.violate('liveness', `${v}: restart not committed within 1 s on a healthy network`);
        });
        // the resources never stop on the restarting node and nothing is fenced, during and after
        const check = () => {
          for (const r of held) if (!m.power || !m.phys.has(r)) sim.violate('liveness', `${v}: ${r} no longer runs there during a graceful agent restart`);
          if (sim.stats.powerOffs !== powerOffs) sim.violate('liveness', `a machine was powered off during a graceful agent restart of ${v}`);
        };
        for (let t = 100; t < 6000; t += 100) sim.after(t, check);
      });
    },
    expect: 'placed',
  },
  {
    name: 'graceful-stop-then-dies',
    description: '3 nodes, no watchdog: the holder\'s agent stops on SIGTERM and never returns; after the grace it is fenced and r0 recovered',
    config: { nodes: 3, resources: 1, watchdog: false },
    durationMs: 18000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 500), () => {
        const v = holder(sim);
        const m = sim.machine(v);
        let exitAt = Infinity;
        sim.gracefulStopAgent(m, null, (announced) => {
          exitAt = sim.now;
          if (!announced) sim.violate('liveness', `${v}: restart not committed within 1 s on a healthy network`);
          // within the grace (10 s, measured from the commit): still running, not fenced
          sim.after(9000, () => {
            if (!m.power || !m.phys.has('r0')) sim.violate('liveness', `${v} fenced or r0 stopped inside the restart grace`);
            sim.markLost('r0');
          });
        });
        sim.at(t0 + 17000, () => {
          if (m.fencedAt === null || m.fencedAt < exitAt + 9000) sim.violate('liveness', `${v} not fenced after its restart grace expired`);
        });
      });
    },
    expect: 'placed',
  },
  {
    name: 'agent-crash-restart',
    description: '3 nodes, 2 resources: the holder\'s agent is killed (kill -9), its host stays up, the agent is back in 1.1–1.4 s: crash grace, no fence, no move',
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => expectCrashRidden(sim, holder(sim), rng.int(1100, 1400))),
    expect: 'placed',
  },
  {
    name: 'coordinator-agent-crash',
    description: '3 nodes, 3 resources: the coordinator\'s agent is killed (kill -9), its host stays up, back in 1.1–1.4 s: the new coordinator grants the crash grace instead of fencing',
    config: { nodes: 3, resources: 3 },
    durationMs: 9000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => expectCrashRidden(sim, sim.coordinator() ?? 'n1', rng.int(1100, 1400))),
    expect: 'placed',
  },
  {
    name: 'agent-crash-slow-restart',
    description: '3 nodes, 2 resources, no watchdog: the holder\'s agent is killed (host up) and comes back slowly, as a cold start on a loaded machine does: it listens only just before its crash grace runs out and is heard 0.6–1 s after that: no fence, nothing moves',
    config: { nodes: 3, resources: 2, watchdog: false },
    durationMs: 20000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 500), () => {
        const v = holder(sim);
        const m = sim.machine(v);
        const held = [...m.phys.keys()];
        const powerOffs = sim.stats.powerOffs;
        const graceMs = sim.config.timing.crashGraceMs;
        const rho = sim.config.timing.maxDriftPpm / 1e6;
        sim.crashAgent(m, null);
        // once the coordinator applied the grace: bring the agent back (listening) 250–500 ms before
        // the grace ends there, and let it say nothing for 0.6–1 s (paused: its socket accepts, as a
        // starting agent's does before the coordinator's connection to it is retried)
        const whenGraced = () => {
          const c = sim.coordinator();
          const core = c !== null && c !== v ? sim.machine(c).core : null;
          const g = core?.graceStart.get(v);
          if (!core || !g) {
            sim.after(10, whenGraced);
            return;
          }
          const endsIn = (g.at + Math.ceil(graceMs * (1 + rho)) - sim.local(sim.machine(c!))) / sim.machine(c!).rate;
          sim.after(endsIn - rng.int(250, 500), () => {
            sim.startAgent(m);
            sim.pause(m);
            sim.after(rng.int(600, 1000), () => sim.resume(m));
          });
        };
        whenGraced();
        let reported = false;
        const check = () => {
          if (reported) return;
          const gone = held.filter((r) => !m.power || !m.phys.has(r));
          if (gone.length > 0) sim.violate('liveness', `${v}: ${gone.join(',')} no longer run there during its slow agent restart`);
          if (sim.stats.powerOffs !== powerOffs) sim.violate('liveness', `a machine was powered off during the slow agent restart of ${v}`);
          reported = gone.length > 0 || sim.stats.powerOffs !== powerOffs;
        };
        for (let t = 100; t < 16000; t += 100) sim.after(t, check);
      });
    },
    expect: 'placed',
  },
  {
    name: 'agent-crash-no-restart',
    description: '3 nodes, no watchdog: the holder\'s agent is killed and never returns (host up): crash grace, then fenced and r0 recovered',
    config: { nodes: 3, resources: 1, watchdog: false },
    durationMs: 17000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 500), () => {
        const v = holder(sim);
        const m = sim.machine(v);
        const crashAt = sim.now;
        const graceMs = sim.config.timing.crashGraceMs;
        sim.crashAgent(m, null);
        // the grace (from its commit, which follows the failure timeout) keeps it unfenced
        sim.after(graceMs, () => {
          if (!m.power || !m.phys.has('r0')) sim.violate('liveness', `${v} fenced or r0 stopped inside the crash grace`);
          if (sim.stats.crashGraces.grace === 0) sim.violate('liveness', `no crash grace for ${v} although its host answered with RST`);
          sim.markLost('r0');
        });
        sim.at(crashAt + graceMs + 2000, () => {
          if (m.fencedAt === null || m.fencedAt < crashAt + graceMs) sim.violate('liveness', `${v} not fenced after its crash grace expired`);
        });
      });
    },
    expect: 'placed',
  },
  {
    name: 'stale-rejoin',
    description: '3 nodes: a node is cut off while the others move resources (standby), then rejoins stale',
    config: { nodes: 3, resources: 3 },
    durationMs: 11000,
    script: (sim, rng, t0) => {
      let v = 'n1';
      let c = 'n2';
      sim.at(t0, () => {
        c = sim.coordinator() ?? 'n1';
        v = rng.pick(others(sim, c, 3));
        sim.partition([v], others(sim, v, 3));
      });
      sim.at(t0 + 2500, () => {
        const m = sim.machine(c);
        if (m.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: c, on: true }, now: sim.local(m) });
      });
      sim.at(t0 + 4500, () => sim.heal());
      sim.at(t0 + 6000, () => {
        const m = sim.machine(c);
        if (m.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: c, on: false }, now: sim.local(m) });
      });
    },
    expect: 'placed',
  },
  {
    name: 'drift-at-bound',
    description: '3 nodes with clocks drifting at the configured bound; the holder is cut off and later crashes',
    config: { nodes: 3, resources: 2 },
    params: { maxDrift: true },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        sim.partition([h], others(sim, h, 3));
      });
      sim.at(t0 + 3000, () => sim.heal());
      sim.at(t0 + 4500, () => crashHolder(sim, 2000));
    },
    expect: 'placed',
  },
  {
    name: 'lossy-network',
    description: '3 nodes over a network losing 20%, duplicating 5%, delaying 1–30 ms; the holder crashes; then calm',
    config: { nodes: 3, resources: 2 },
    params: { net: { loss: 0.2, dup: 0.05, delayMin: 1, delayMax: 30 } },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + 500 + rng.int(0, 500), () => crashHolder(sim, 2500));
      sim.at(t0 + 4500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
    expect: 'placed',
  },
  {
    name: 'dup-reorder',
    description: '3 nodes: 30% duplicated messages and 1–80 ms delays (heavy reordering); the coordinator crashes; then calm',
    config: { nodes: 3, resources: 2 },
    params: { net: { loss: 0.02, dup: 0.3, delayMin: 1, delayMax: 80 } },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + 500 + rng.int(0, 500), () => sim.powerOff(sim.machine(sim.coordinator() ?? 'n1'), 'crash', 1500));
      sim.at(t0 + 4500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
    expect: 'placed',
  },
  {
    name: 'election-storm',
    description: '3 nodes: the coordinator is isolated again and again while messages are duplicated and stall for up to 2 s',
    config: { nodes: 3, resources: 2 },
    params: { net: { loss: 0.05, dup: 0.2, delayMin: 1, delayMax: 20, longDelay: 0.1 } },
    durationMs: 14000,
    script: (sim, rng, t0) => {
      let t = t0;
      while (t < t0 + 6000) {
        const d = rng.int(300, 1200);
        sim.at(t, () => {
          const c = sim.coordinator() ?? rng.pick(names(3));
          sim.partition([c], others(sim, c, 3));
        });
        sim.at(t + d, () => sim.heal());
        t += d + rng.int(100, 800);
      }
      sim.at(t0 + 6500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
  },
  {
    name: 'split-vote-storm-5',
    description: '5 nodes: the coordinator is isolated repeatedly while a third of the messages stall up to 2 s (split votes)',
    config: { nodes: 5, resources: 3 },
    params: { net: { loss: 0.05, dup: 0.3, delayMin: 1, delayMax: 40, longDelay: 0.3 } },
    durationMs: 16000,
    script: (sim, rng, t0) => {
      let t = t0;
      while (t < t0 + 7000) {
        const d = rng.int(300, 1500);
        sim.at(t, () => {
          const c = sim.coordinator() ?? rng.pick(names(5));
          sim.partition([c], others(sim, c, 5));
        });
        sim.at(t + d, () => sim.heal());
        t += d + rng.int(100, 600);
      }
      sim.at(t0 + 7500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
  },
  {
    name: 'fast-timers-vote-chaos',
    description: '3 nodes with 30 ms heartbeats: elections over a network where 40% of messages stall up to 600 ms',
    config: {
      nodes: 3,
      resources: 2,
      timing: { heartbeatIntervalMs: 30, failureTimeoutMs: 150, electionTimeoutMs: 150, leaseMs: 600, watchdogMs: 1500, fenceRaceDelayMs: 300 },
    },
    params: { net: { loss: 0.1, dup: 0.3, delayMin: 1, delayMax: 30, longDelay: 0.4, longDelayMax: 600 } },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      let t = t0;
      while (t < t0 + 6000) {
        const d = rng.int(100, 500);
        sim.at(t, () => {
          const c = sim.coordinator() ?? rng.pick(names(3));
          sim.partition([c], others(sim, c, 3));
        });
        sim.at(t + d, () => sim.heal());
        t += d + rng.int(50, 300);
      }
      sim.at(t0 + 6500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
  },
  {
    name: 'stalled-vote-grants',
    description: '3 nodes with 30 ms heartbeats: half the vote replies stall up to 600 ms while the coordinator is isolated again and again',
    config: {
      nodes: 3,
      resources: 2,
      timing: { heartbeatIntervalMs: 30, failureTimeoutMs: 150, electionTimeoutMs: 150, leaseMs: 600, watchdogMs: 1500, fenceRaceDelayMs: 300 },
    },
    params: { net: { loss: 0.05, dup: 0.3, delayMin: 1, delayMax: 10, longDelay: 0.5, longDelayMax: 600, longDelayTypes: ['VoteResponse'] } },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      let t = t0;
      while (t < t0 + 6000) {
        const d = rng.int(100, 400);
        sim.at(t, () => {
          const c = sim.coordinator() ?? rng.pick(names(3));
          sim.partition([c], others(sim, c, 3));
        });
        sim.at(t + d, () => sim.heal());
        t += d + rng.int(50, 250);
      }
      sim.at(t0 + 6500, () => (sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 }));
    },
  },
  {
    name: 'crash-restart-loop',
    description: '3 nodes: random machines crash and reboot every 0.5–1.5 s for 6 s',
    config: { nodes: 3, resources: 3 },
    durationMs: 14000,
    script: (sim, rng, t0) => {
      let t = t0;
      while (t < t0 + 6000) {
        const v = rng.pick(names(3));
        const reboot = rng.int(300, 1500);
        sim.at(t, () => sim.powerOff(sim.machine(v), 'crash', reboot));
        t += rng.int(500, 1500);
      }
    },
    expect: 'placed',
  },
  {
    name: 'watchdog-only-recovery',
    description: '3 nodes without a fence device: a cut-off holder is recovered after lease + drift + watchdog',
    config: { nodes: 3, resources: 2, fenceDevice: false, watchdog: true },
    durationMs: 14000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        sim.partition([h], others(sim, h, 3));
      });
      sim.at(t0 + 9000, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'watchdog-paused-holder',
    description: '3 nodes without a fence device: the holder freezes for 9 s; its watchdog resets it first',
    config: { nodes: 3, resources: 1, fenceDevice: false, watchdog: true },
    durationMs: 15000,
    script: (sim, rng, t0) => {
      let h = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        h = holder(sim);
        sim.pause(sim.machine(h));
      });
      sim.at(t0 + 9000, () => sim.resume(sim.machine(h)));
    },
    expect: 'placed',
  },
  {
    name: 'fence-failures',
    description: '3 nodes: the fence agent fails half the time for 5 s, then works; recovery waits for a confirmed fence',
    config: { nodes: 3, resources: 2 },
    params: { fenceFailRate: 0.5 },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        sim.partition([h], others(sim, h, 3));
      });
      // liveness needs the device to work eventually: a device failing forever leaves r0 stopped
      sim.at(t0 + 5000, () => (sim.fenceFailRate = 0));
    },
    expect: 'placed',
  },
  {
    name: 'operator-fence-holder',
    description: '3 nodes: an operator on another node asks the cluster to fence the holder (tsha fence); it is fenced, recorded, and r0 recovered',
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      let h: NodeName = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        h = holder(sim);
        const asker = sim.machine(others(sim, h, 3)[rng.int(0, 1)]!);
        for (const r of sim.machine(h).phys.keys()) sim.markLost(r);
        sim.input(asker, { type: 'command', cmd: { type: 'fenceRequest', node: h, on: true, action: 'off', by: 'cli:operator' }, now: sim.local(asker) });
      });
      sim.at(t0 + 4000, () => {
        if (sim.machine(h).fencedAt === null) sim.violate('liveness', `${h} was not fenced 4 s after the operator asked`);
      });
    },
    expect: 'placed',
  },
  {
    name: 'freeze-policy-partition',
    description: '3 nodes, no-quorum-policy freeze: a cut-off holder keeps running until it is fenced',
    config: { nodes: 3, resources: 2, noQuorumPolicy: 'freeze' },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        sim.partition([h], others(sim, h, 3));
      });
      sim.at(t0 + 3500, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'fence-policy-minority',
    description: '5 nodes, no-quorum-policy fence: two nodes cut off from three reset themselves',
    config: { nodes: 5, resources: 4, noQuorumPolicy: 'fence', fenceDevice: false, watchdog: true },
    params: { rebootMs: 1500 },
    durationMs: 15000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        const all = names(5);
        const a = rng.int(0, 4);
        const minority = [all[a]!, all[(a + 1) % 5]!];
        sim.partition(minority, all.filter((x) => !minority.includes(x)));
      });
      sim.at(t0 + 9500, () => sim.heal());
    },
    expect: 'placed',
  },
  {
    name: 'resource-failures',
    description: '3 nodes: running resources crash at random; restarted in place, then moved past the threshold',
    config: { nodes: 3, resources: 3, migrationThreshold: 2 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      // at most 4 failures: one resource can never exhaust all 3 nodes at threshold 2
      for (let i = 0; i < 4; i++) {
        sim.at(t0 + i * 900 + rng.int(0, 300), () => {
          const r = `r${rng.int(0, 2)}`;
          const h = sim.holderOf(r);
          if (h) sim.failResource(h, r);
        });
      }
    },
    expect: 'placed',
  },
  {
    name: 'hand-started-copy',
    description: '3 nodes: the operator starts a copy of a running resource by hand on another node, then puts the first holder in standby; the cluster stops both copies and starts one (multiple-active stop_start), never one beside the hand-made copy',
    config: { nodes: 3, resources: 3 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      let first: { r: string; holder: NodeName } | null = null;
      const byHand = () => {
        const r = `r${rng.int(0, 2)}`;
        const h = sim.holderOf(r);
        const others = names(3).filter((n) => n !== h && sim.machine(n).power);
        if (!h || others.length === 0) return;
        first ??= { r, holder: h };
        sim.startByHand(rng.pick(others), r);
      };
      sim.at(t0 + rng.int(0, 500), byHand);
      // the holder the cluster placed goes into standby: the resource moves, and never beside the
      // hand-made copy while that one runs (the agent reported it, so it is stopped first)
      sim.at(t0 + 2500 + rng.int(0, 300), () => {
        if (!first) return;
        const m = sim.machine(rng.pick(names(3)));
        if (m.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: first.holder, on: true }, now: sim.local(m) });
      });
      sim.at(t0 + 5000 + rng.int(0, 500), byHand);
    },
    expect: 'placed',
  },
  {
    name: 'standby-move',
    description: '3 nodes: the operator puts the holder in standby; r0 stops there before it starts elsewhere',
    config: { nodes: 3, resources: 2 },
    durationMs: 7000,
    script: (sim, rng, t0) =>
      sim.at(t0 + rng.int(0, 300), () => {
        const h = holder(sim);
        const from = rng.pick(names(3));
        const m = sim.machine(from);
        if (m.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: h, on: true }, now: sim.local(m) });
      }),
    expect: 'placed',
  },
  {
    name: 'add-node',
    description: '3 → 4 nodes: the configuration adds n4; it joins as a learner, then becomes a voter',
    config: { nodes: 4, resources: 3 },
    setup: (p) => {
      p.initialConfig = { ...p.config, nodes: p.config.nodes.slice(0, 3), fencing: { ...p.config.fencing } };
      p.offAtStart = ['n4'];
    },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        sim.changeConfig(sim.config);
        sim.powerOn(sim.machine('n4'));
      });
      sim.at(t0 + 3000 + rng.int(0, 500), () => {
        const c = sim.coordinator();
        if (c) sim.powerOff(sim.machine(c), 'crash', 2000);
      });
    },
    expect: 'placed',
  },
  {
    name: 'remove-node',
    description: '4 → 3 nodes: the configuration removes n4; it leaves the voters, then its machine goes',
    config: { nodes: 4, resources: 3 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        sim.changeConfig({ ...sim.config, nodes: sim.config.nodes.slice(0, 3) });
      });
      sim.at(t0 + 2000 + rng.int(0, 500), () => sim.powerOff(sim.machine('n4'), 'removed', null));
      sim.at(t0 + 3500 + rng.int(0, 500), () => {
        const c = sim.coordinator();
        if (c) sim.powerOff(sim.machine(c), 'crash', 2000);
      });
    },
    expect: 'placed',
  },
  {
    name: 'group-holder-crash',
    description: '3 nodes, a group of three: its node loses power; the members start on a survivor in order, each after the one before runs',
    config: { nodes: 3, resources: 4, shape: group('g', ['r0', 'r1', 'r2']) },
    durationMs: 8000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => crashHolder(sim, 2500)),
    measureFailover: true,
  },
  {
    name: 'ordered-apart-crash',
    description: '3 nodes: r1 starts after r0 on another node; the node of r0 crashes: r1 restarts after r0 runs again',
    config: { nodes: 3, resources: 2, shape: orderedApart('r0', 'r1') },
    durationMs: 9000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => crashHolder(sim, 2500)),
  },
  {
    name: 'clone-node-crash',
    description: '3 nodes, a clone of three: a node crashes and reboots; the clone runs once on every node again, never twice on one',
    config: { nodes: 3, resources: 1, shape: clone('c', 'cr', 3) },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 500), () => sim.powerOff(sim.machine(rng.pick(names(3))), 'crash', 2000));
      sim.at(8900, () => expectCloneEverywhere(sim, 'cr', 3));
    },
  },
  {
    name: 'promotable-primary-crash',
    description: '3 nodes, a promotable clone (one promoted): the promoted node loses power; a survivor is promoted after the fence, never two at once',
    config: { nodes: 3, resources: 1, shape: clone('p', 'pr', 3, true) },
    durationMs: 9000,
    script: (sim, rng, t0) => crashPrimary(sim, rng, t0, 'pr', 'promotable clone: {n} promoted at the end, want 1'),
  },
  {
    name: 'promotable-agent-restarts',
    description: '3 nodes, a promotable clone: every agent is killed and restarted in turn; the instances are re-adopted by number, one stays promoted, nothing churns',
    config: { nodes: 3, resources: 1, shape: clone('p', 'pr', 3, true) },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      for (const [i, n] of names(3).entries()) sim.at(t0 + i * 2000 + rng.int(0, 300), () => sim.crashAgent(sim.machine(n), 1200));
      let transitions = 0;
      let events = 0;
      sim.at(9000, () => {
        transitions = sim.stats.transitions;
        events = sim.stats.events;
      });
      sim.at(11900, () => {
        if (sim.stats.transitions !== transitions) sim.violate('liveness', `${sim.stats.transitions - transitions} transitions after the cluster settled (churn)`);
        // an idle 3-node cluster steps a few hundred times in 3 s; a loop (a stop retried forever,
        // a report that never matches the record) steps far more
        if (sim.stats.events - events > 3000) sim.violate('liveness', `${sim.stats.events - events} events in the last 3 s: the cluster does not settle`);
        const promoted = promotedOn(sim, 'pr');
        if (promoted.length !== 1) sim.violate('liveness', `promotable clone: ${promoted.length} promoted at the end, want 1`);
        expectCloneEverywhere(sim, 'pr', 3);
      });
    },
  },
  {
    name: 'stop-failures',
    description: '3 nodes: stops fail at random while the operator moves resources with standby; a failed stop gets its node fenced',
    config: { nodes: 3, resources: 3 },
    params: { stopFailRate: 0.3 },
    durationMs: 12000,
    script: (sim, rng, t0) => {
      for (let i = 0; i < 3; i++) {
        sim.at(t0 + i * 1500 + rng.int(0, 300), () => {
          const c = sim.coordinator();
          const m = c ? sim.machine(c) : null;
          const h = holder(sim, `r${rng.int(0, 2)}`);
          if (m?.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: h, on: true }, now: sim.local(m) });
          sim.after(700, () => {
            if (m?.core) sim.input(m, { type: 'command', cmd: { type: 'standby', node: h, on: false }, now: sim.local(m) });
          });
        });
      }
      sim.at(t0 + 5500, () => (sim.stopFailRate = 0));
    },
  },
  {
    name: 'start-failures',
    description: '3 nodes: every start fails for 3 s; failed starts ban their node, retried with back-off, never in a tight loop; then starts succeed again',
    config: { nodes: 3, resources: 2 },
    durationMs: 14000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => {
        sim.startFailRate = 1;
        const actions = sim.stats.actions;
        crashHolder(sim, 1500);
        sim.after(3000, () => {
          if (sim.stats.actions - actions > 60) sim.violate('retry-storm', `${sim.stats.actions - actions} actions in 3 s of failing starts`);
          sim.startFailRate = 0;
          // the operator cleans up the failures: everything runs again
          const c = sim.coordinator();
          const m = c ? sim.machine(c) : null;
          for (const r of ['r0', 'r1']) if (m?.core) sim.input(m, { type: 'command', cmd: { type: 'cleanup', resource: r, node: null }, now: sim.local(m) });
        });
      });
    },
  },
  {
    name: 'drbd-outdate-request',
    description: "3 nodes: a DRBD fence-peer handler's outdate request and the peer's answer go through the log across a coordinator crash; every live node ends with the answer, placements untouched",
    config: { nodes: 3, resources: 2 },
    durationMs: 9000,
    script: (sim, rng, t0) => {
      // the runtime's part (src/runtime/drbd-fencing.ts), played here: the asking node proposes its
      // request until it is committed; the asked node answers once it applied it, until committed
      const id = `sim-${rng.int(0, 1_000_000)}`;
      const coord = sim.coordinator() ?? 'n1';
      const others = ['n1', 'n2', 'n3'].filter((n) => n !== coord);
      const [by, target] = rng.chance(0.5) ? [others[0]!, others[1]!] : [others[1]!, others[0]!];
      const request = (m: ReturnType<Sim['machine']>) => m.core?.cluster.outdateRequests.find((r) => r.id === id);
      const tick = (k: number) => {
        if (k > 60) return;
        const asker = sim.machine(by);
        const asked = sim.machine(target);
        if (asker.core && !asker.paused && !request(asker)) {
          sim.input(asker, { type: 'command', cmd: { type: 'outdateRequest', id, resource: 'r0', node: target, by }, now: sim.local(asker) });
        }
        const seen = asked.core && !asked.paused ? request(asked) : undefined;
        if (asked.core && seen && seen.answer === null) {
          sim.input(asked, { type: 'command', cmd: { type: 'outdateAnswer', id, node: target, outcome: 'outdated', reason: 'r0: local disk outdated' }, now: sim.local(asked) });
        }
        sim.after(100, () => tick(k + 1));
      };
      sim.at(t0 + rng.int(0, 300), () => tick(0));
      sim.at(t0 + 150 + rng.int(0, 300), () => sim.powerOff(sim.machine(coord), 'crash', 1500));
      sim.at(t0 + 6000, () => {
        for (const n of ['n1', 'n2', 'n3']) {
          const m = sim.machine(n);
          if (!m.core) continue;
          const r = request(m);
          if (r?.answer?.outcome !== 'outdated' || r.node !== target || r.by !== by) sim.violate('drbd-outdate', `${n}: request ${id} is ${JSON.stringify(r ?? null)}, not answered "outdated" by ${target}`);
        }
      });
    },
  },
  {
    name: 'maintenance-mode',
    description: '3 nodes: the cluster goes into maintenance, resources fail and nothing acts; after maintenance they are recovered',
    config: { nodes: 3, resources: 2 },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      sim.at(t0 + rng.int(0, 300), () => sim.changeConfig({ ...sim.config, maintenanceMode: true }));
      sim.at(t0 + 1000 + rng.int(0, 300), () => {
        const h = sim.holderOf('r0');
        if (h) sim.failResource(h, 'r0');
      });
      sim.at(t0 + 2500, () => {
        if (sim.holderOf('r0') !== null) sim.violate('maintenance', 'r0 was recovered in maintenance');
        sim.changeConfig(sim.config);
      });
    },
  },
  {
    name: 'rbd-holder-crash',
    description: '3 nodes, r0 holds an RBD image: its machine loses power; a survivor writes only after the fence, the blocklist and the broken lock',
    config: { nodes: 3, resources: 2, shape: rbd('r0') },
    durationMs: 8000,
    script: (sim, rng, t0) => sim.at(t0 + rng.int(0, 500), () => crashHolder(sim, 2500)),
    measureFailover: true,
  },
  {
    name: 'rbd-holder-pause',
    description: '3 nodes, r0 holds an RBD image: its machine freezes for 4 s and resumes after the takeover; never two writers',
    config: { nodes: 3, resources: 1, shape: rbd('r0') },
    durationMs: 10000,
    script: (sim, rng, t0) => {
      let h = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        h = holder(sim);
        sim.pause(sim.machine(h));
      });
      sim.at(t0 + 4300, () => sim.resume(sim.machine(h)));
    },
  },
  {
    name: 'rbd-watchdog-paused-holder',
    description: '3 nodes without a fence device, r0 holds an RBD image: the holder freezes for 9 s; the takeover waits for its lease and watchdog',
    config: { nodes: 3, resources: 1, fenceDevice: false, watchdog: true, shape: rbd('r0') },
    durationMs: 15000,
    script: (sim, rng, t0) => {
      let h = 'n1';
      sim.at(t0 + rng.int(0, 300), () => {
        h = holder(sim);
        sim.pause(sim.machine(h));
      });
      sim.at(t0 + 9000, () => sim.resume(sim.machine(h)));
    },
  },
  {
    name: 'drbd-primary-crash',
    description: '2 nodes and a witness, a DRBD promotable clone: the Primary loses power; the survivor is promoted only after the fence and the peer outdated',
    config: { nodes: 2, witness: true, resources: 0, shape: drbdClone('d', 'r0d', 2) },
    durationMs: 9000,
    script: (sim, rng, t0) => crashPrimary(sim, rng, t0, 'r0d', 'DRBD clone: {n} Primary at the end, want 1'),
  },
  {
    name: 'chaos-storage-3',
    description: '3 nodes, an RBD-backed resource and a DRBD promotable clone: a random mix of crashes, pauses, partitions and agent restarts for 6 s, then calm',
    config: { nodes: 3, resources: 2, shape: shapes(rbd('r0'), drbdClone('d', 'r0d', 3)) },
    params: { net: { loss: 0.05, dup: 0.05, delayMin: 1, delayMax: 20 } },
    durationMs: 16000,
    script: (sim, rng, t0) => chaos(sim, rng, t0, 3, 6000),
  },
  {
    name: 'chaos-clones-3',
    description: '3 nodes, a clone on every node and a promotable clone: a random mix of crashes, pauses, partitions and agent restarts for 6 s, then calm; instance numbers stay unique',
    config: { nodes: 3, resources: 1, shape: shapes(clone('c', 'cc', 3), clone('p', 'pr', 3, true)) },
    params: { net: { loss: 0.05, dup: 0.05, delayMin: 1, delayMax: 20 } },
    durationMs: 16000,
    script: (sim, rng, t0) => chaos(sim, rng, t0, 3, 6000),
  },
  {
    name: 'chaos-3',
    description: '3 nodes: a random mix of crashes, pauses, partitions and agent restarts for 6 s, then calm',
    config: { nodes: 3, resources: 3 },
    params: { net: { loss: 0.05, dup: 0.05, delayMin: 1, delayMax: 20 } },
    durationMs: 16000,
    script: (sim, rng, t0) => chaos(sim, rng, t0, 3, 6000),
  },
  {
    name: 'chaos-5',
    description: '5 nodes: a random mix of crashes, pauses, partitions and agent restarts for 6 s, then calm',
    config: { nodes: 5, resources: 4 },
    params: { net: { loss: 0.05, dup: 0.05, delayMin: 1, delayMax: 20 } },
    durationMs: 16000,
    script: (sim, rng, t0) => chaos(sim, rng, t0, 5, 6000),
  },
];

export const scenarios: Scenario[] = raw.map((s) => ({ ...s, expect: s.expect ?? 'placed' }));

function chaos(sim: Sim, rng: Rng, t0: number, n: number, span: number) {
  let t = t0;
  const all = names(n);
  while (t < t0 + span) {
    const kind = rng.int(0, 4);
    const v = rng.pick(all);
    switch (kind) {
      case 0:
        sim.at(t, () => sim.powerOff(sim.machine(v), 'crash', rng.int(300, 2000)));
        break;
      case 1: {
        const d = rng.int(100, 3000);
        sim.at(t, () => sim.pause(sim.machine(v)));
        sim.at(t + d, () => sim.resume(sim.machine(v)));
        break;
      }
      case 2: {
        const g = all.filter(() => rng.chance(0.5));
        sim.at(t, () => sim.partition(g, all.filter((x) => !g.includes(x))));
        sim.at(t + rng.int(200, 2000), () => sim.heal());
        break;
      }
      case 3:
        sim.at(t, () => sim.crashAgent(sim.machine(v), rng.int(50, 800)));
        break;
      default: {
        const w = rng.pick(all);
        sim.at(t, () => v !== w && sim.cutOneWay(v, w));
        sim.at(t + rng.int(200, 1500), () => sim.heal());
      }
    }
    t += rng.int(200, 1200);
  }
  sim.at(t0 + span + 10, () => {
    sim.heal();
    sim.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5 };
    for (const m of sim.machines.values()) {
      sim.resume(m);
      if (!m.power) sim.powerOn(m);
    }
  });
}

export function findScenario(name: string): Scenario {
  const s = scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`no scenario named "${name}" (have: ${scenarios.map((x) => x.name).join(', ')})`);
  return s;
}

export { makeConfig };
