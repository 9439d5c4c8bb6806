// Golden scenarios replayed by real agents: for every scenario of test/scenarios whose input the
// running agents can reach, a loopback cluster of `tsha agent` processes is built with the
// scenario's configuration and record (test/agent/golden-replay/reach.ts says how each part of an
// input is reached), and the actions the agents carry out in the transition that follows must be
// the golden plan's: the same actions, with the simulation's outcomes, each edge before → after
// kept (after began once before had ended). The coordinator must also have scheduled the
// scenario's input itself (what differs is shown). An empty golden plan means no transition and no
// action once the coordinator scheduled that input.
//
// The scenarios the runtime cannot reach are listed below with the reason; the first tests check
// that the list is exactly the set of unreachable scenarios, each for the reason given, and that
// each reached input plans what the scenario plans.
//
// Five clusters run at a time (vitest's maxConcurrency). Diagnostics:
//   GOLDEN_REPLAY_VERBOSE=1      print what each replay carried out, with its times
//   GOLDEN_REPLAY_SETTLE_MS=15000  print what the cluster did in that long after the plan
//   GOLDEN_REPLAY_KEEP=1         keep a failed replay's directory (configuration, logs, state)

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CompiledConfig } from '../../src/config/types.js';
import { validate } from '../../src/config/validate.js';
import { parseSchedulerInput } from '../../src/core/scheduler/record.js';
import { simulate, type SimulateOptions, type SimulationResult } from '../../src/core/scheduler/simulate.js';
import { ensureBuilt } from '../cluster/tsha-cluster.js';
import { rawConfig, ReplayCluster, REPLAY_TIMING, type ReplayNet } from './golden-replay/cluster.js';
import { actionId, actionsOf, compareWithPlan, fencesOf, sameSnapshot, snapshotDiff } from './golden-replay/compare.js';
import { reach, UnreachableError, type ReplaySetup } from './golden-replay/reach.js';

const SCENARIOS = resolve(import.meta.dirname, '../scenarios');
const names = readdirSync(SCENARIOS, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();

const REFUSED_UNFENCEABLE = 'the configuration is refused: a node no fence device covers, without watchdog fencing';
const REFUSED_MIGRATE = 'the configuration is refused: live migration (allowMigrate) is planned, not built';
const TWO_NODE_PEER_LOST = 'two_node with its peer lost: the survivor is quorate only once it fenced the peer, so it never schedules with the peer unclean';
const STORAGE = 'storage takeover (storage_* actions) needs a Ceph cluster or DRBD, which loopback agents have not: test/cluster/rbd.test.ts and drbd.test.ts carry it out on the harness';

/** Scenarios the running agents cannot reach, and why. */
const UNREACHABLE: Record<string, string> = {
  'blocked-copy-elsewhere-stopped': REFUSED_UNFENCEABLE,
  'node-loss-no-fence-device': REFUSED_UNFENCEABLE,
  'storage-chain-unfenceable': REFUSED_UNFENCEABLE,
  'order-then-blocked-first-stays': REFUSED_UNFENCEABLE,
  'node-loss-fencing-disabled-stateful': 'the configuration is refused: a stateful resource without fencing',
  'migrate-live': REFUSED_MIGRATE,
  'migrate-not-from-lost-node': REFUSED_MIGRATE,
  'group-migrate-not-live': REFUSED_MIGRATE,
  'clone-of-group-node-loss': TWO_NODE_PEER_LOST,
  'order-optional-first-recovered-no-restart': TWO_NODE_PEER_LOST,
  'two-node-fence-peer': TWO_NODE_PEER_LOST,
  'storage-chain-rbd-promotable': TWO_NODE_PEER_LOST,
  'storage-chain-drbd-failover': STORAGE,
  'storage-chain-rbd-failover': STORAGE,
  'storage-chain-rbd-watchdog': STORAGE,
  'no-quorum-freeze': 'no quorum with n1, n2, n3 online: agents that hear each other are quorate',
  'no-quorum-lost-node': 'no quorum with n1, n2 online: agents that hear each other are quorate',
  'no-quorum-stop-with-lost-node': 'no quorum with n1, n2 online: agents that hear each other are quorate',
  'node-loss-watchdog-unknown-lease': 'node n1\'s lease end is unknown: the coordinator always knows when a lost node\'s lease ended',
  'orphan-observation': 'old-app on n2 is not configured: agents probe configured resources only',
  'promotable-promotion-attribute': 'node n1\'s attribute promotion-drbd is set at run time; tsha takes node attributes from the configuration only',
};

interface Scenario {
  name: string;
  input: ReturnType<typeof parseSchedulerInput>;
  simulate: SimulateOptions;
}

function load(name: string): Scenario {
  const dir = join(SCENARIOS, name);
  const sim = join(dir, 'simulate.json');
  return {
    name,
    input: parseSchedulerInput(readFileSync(join(dir, 'input.json'), 'utf8')),
    simulate: existsSync(sim) ? (JSON.parse(readFileSync(sim, 'utf8')) as SimulateOptions) : {},
  };
}

const NET_DUMMY: ReplayNet = { ipPrefix: '127.200.0', portBase: 30000, clusterId: 'golden' };

/** The configuration the agents run, compiled by the agent's own validation, or why it is refused. */
function agentsConfig(setup: ReplaySetup): CompiledConfig | string {
  const r = validate(rawConfig(setup, '/nonexistent', NET_DUMMY));
  if (r.ok) return r.config;
  const e = r.errors[0]!;
  if (/cannot be fenced/.test(e.message)) return REFUSED_UNFENCEABLE;
  if (/cannot live-migrate/.test(e.message)) return REFUSED_MIGRATE;
  if (/is stateful but fencing is disabled/.test(e.message)) return 'the configuration is refused: a stateful resource without fencing';
  return `the configuration is refused: ${e.path}: ${e.message}`;
}

interface Replayable {
  setup: ReplaySetup;
  config: CompiledConfig;
  golden: SimulationResult;
}

/** A replayable scenario, or the reason it is not. */
function replayable(s: Scenario): Replayable | string {
  let setup: ReplaySetup;
  try {
    setup = reach(s.name, s.input, s.simulate);
  } catch (e) {
    if (e instanceof UnreachableError) return e.message;
    throw e;
  }
  const config = agentsConfig(setup);
  if (typeof config === 'string') return config;
  const golden = simulate(setup.input, setup.simulate);
  if (golden.plan.actions.some((a) => a.type.startsWith('storage_'))) return STORAGE;
  return { setup, config, golden };
}

const actionAt = (sim: SimulationResult, i: number): string => {
  const a = sim.plan.actions[i]!;
  return actionId(a.type, a.resource, a.node);
};
const keys = (sim: SimulationResult) => sim.results.map((r) => `${actionAt(sim, r.actionId)} ${r.result.status}`).sort();
const edges = (sim: SimulationResult) => sim.plan.edges.map((e) => `${actionAt(sim, e.before)} → ${actionAt(sim, e.after)}`).sort();

const scenarios = names.map(load);
const prepared = new Map(scenarios.map((s) => [s.name, replayable(s)]));

describe('golden scenarios replayed by real agents on loopback', () => {
  it('lists exactly the scenarios the runtime cannot reach, each with the reason that holds', () => {
    for (const name of Object.keys(UNREACHABLE)) expect(names, `UNREACHABLE lists ${name}, which is not a scenario`).toContain(name);
    for (const name of names) {
      const p = prepared.get(name)!;
      expect(typeof p === 'string' ? p : 'replayable', name).toBe(UNREACHABLE[name] ?? 'replayable');
    }
  });

  it('the input as the agents reach it plans what the scenario plans (the golden plan comes out of it)', () => {
    for (const [name, p] of prepared) {
      if (typeof p === 'string') continue;
      const reached = simulate({ snapshot: p.setup.expected, config: p.config, now: p.setup.input.now }, p.setup.simulate);
      expect(keys(reached), `${name}: actions`).toEqual(keys(p.golden));
      expect(edges(reached), `${name}: edges`).toEqual(edges(p.golden));
    }
  });

  beforeAll(() => ensureBuilt(), 180_000);
  const ipBase = 200 + Math.floor(Math.random() * 50);
  const portBase = 20000 + Math.floor(Math.random() * 30000);
  names.forEach((name, index) => {
    const p = prepared.get(name)!;
    if (typeof p === 'string') {
      it.concurrent.skip(`${name}: ${p}`, () => undefined);
      return;
    }
    it.concurrent(name, async () => {
      const net: ReplayNet = { ipPrefix: `127.${ipBase}.${index}`, portBase: portBase + 8 * index, clusterId: `golden-${index}-${portBase}` };
      await replay(p, net);
    }, 150_000);
  });
});

/** GOLDEN_REPLAY_KEEP=1 keeps a failed replay's directory (configuration, logs, state directories, fence log). */
const keep = process.env.GOLDEN_REPLAY_KEEP === '1';
const kept = (c: ReplayCluster) => (keep ? ` (kept in ${c.dir})` : '');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, c: ReplayCluster, fn: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (performance.now() > end) throw new Error(`${c.setup.name}: timed out after ${timeoutMs} ms waiting for ${what}${kept(c)}\n${c.tail()}`);
    await sleep(100);
  }
}

/** The transition ids the agents ran (run-finished), in order; 0 is a node's own no-quorum stop. */
function finishedRuns(c: ReplayCluster): Map<number, Set<string>> {
  const runs = new Map<number, Set<string>>();
  for (const l of c.allLogs()) {
    if (l.msg !== 'run-finished') continue;
    const m = /^transition (\d+):/.exec(String(l.cause));
    if (!m) continue;
    const id = Number(m[1]);
    if (!runs.has(id)) runs.set(id, new Set());
    runs.get(id)!.add(l.node);
  }
  return runs;
}

/** A run that missed the scenario's input by timing alone (ReplaySetup.racy); the replay tries again. */
class RaceLost extends Error {
  override readonly name = 'RaceLost';
}

const ATTEMPTS = 3;

async function replay(p: Replayable, net: ReplayNet): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await replayOnce(p, { ...net, clusterId: `${net.clusterId}-${attempt}` });
      return;
    } catch (e) {
      if (!(e instanceof RaceLost) || attempt >= ATTEMPTS) throw e;
      process.stdout.write(`[golden replay] ${p.setup.name}: attempt ${attempt} missed the input (${e.message}); trying again\n`);
    }
  }
}

async function replayOnce(p: Replayable, net: ReplayNet): Promise<void> {
  const { setup, golden } = p;
  const c = new ReplayCluster(setup, net);
  let ok = false;
  const preludes = setup.prelude ? 1 : 0;
  const transitions = () => [...finishedRuns(c).keys()].filter((id) => id > 0).sort((a, b) => a - b);
  /** the lost races ReplaySetup.racy names, seen in the logs */
  const raceLost = (): string | null => {
    if (setup.racy === null) return null;
    const self = c.allLogs().find((l) => l.msg === 'SELF-FENCE');
    if (self) return `${self.node}, the coordinator, fenced itself for its plan's fence action`;
    return null;
  };
  try {
    await c.prepare();
    // A node the plan fences should not be the coordinator (it would reset itself, and the next one
    // plans again): the others start first and elect one among themselves.
    const fenced = new Set(golden.plan.actions.filter((a) => a.type === 'fence').map((a) => a.node));
    const first = setup.running.filter((n) => !fenced.has(n));
    for (const n of first) c.start(n);
    if (first.length < setup.running.length) {
      if (first.length > 0) await sleep(1500);
      for (const n of setup.running) if (fenced.has(n)) c.start(n);
    }
    const problems: string[] = [];
    let transition: number | null = null;
    const timeout = 60_000 + (setup.simulate.opFail?.some((f) => f.operation === 'fence') ? 60_000 : 0);
    if (setup.local) {
      transition = 0;
      await waitFor('the lone node\'s own no-quorum stop', c, () => finishedRuns(c).has(0), timeout);
    } else {
      await waitFor('the coordinator to schedule the scenario\'s input', c, () => {
        if (c.recordedInputs().some((r) => sameSnapshot(setup.expected, r.input.snapshot))) return true;
        const lost = raceLost();
        if (lost) throw new RaceLost(lost);
        if (setup.racy !== null && transitions().length > preludes) throw new RaceLost(`transition ${transitions().at(-1)} ran before the scenario's input was scheduled`);
        return false;
      }, timeout).catch((e: Error) => {
        if (e instanceof RaceLost) throw e;
        const inputs = c.recordedInputs();
        const diffs = inputs.slice(-3).map((r, i) => `input ${inputs.length - Math.min(3, inputs.length) + i + 1} of ${inputs.length}, by ${r.node}:\n${snapshotDiff(setup.expected, r.input.snapshot)}`);
        throw new Error(`${e.message}\nthe inputs scheduled, against the scenario's ("-" only the scenario's, "+" only the input's):\n${diffs.join('\n') || '(none)'}`);
      });
      if (golden.plan.actions.length > 0) {
        transition = await waitFor(`transition ${preludes + 1} to run to its end on every agent`, c, () => {
          const lost = raceLost();
          if (lost) throw new RaceLost(lost);
          const id = transitions()[preludes];
          if (id === undefined) return null;
          const runs = finishedRuns(c).get(id)!;
          return setup.running.every((n) => !c.alive(n) || runs.has(n)) ? id : null;
        }, timeout);
      } else {
        await sleep(2 * REPLAY_TIMING.heartbeatIntervalMs + 1000);
        const ids = transitions();
        if (ids.length > preludes) problems.push(`the plan is empty, yet transition ${ids.at(-1)} ran`);
      }
    }
    const lines = c.allLogs();
    const watchdog = golden.plan.actions.filter((a) => a.type === 'fence' && a.method === 'watchdog').map((a) => a.node);
    const carried = [...(transition === null ? [] : actionsOf(lines, transition)), ...fencesOf(c.fenceLog(), lines, watchdog)];
    problems.push(...compareWithPlan(golden, carried));
    const seen = carried.sort((a, b) => a.beganAt - b.beganAt).map((x) => `  ${x.id}: ${x.status} by ${x.by}, ${x.beganAt.toFixed(3)} → ${x.endedAt.toFixed(3)}`).join('\n');
    if (process.env.GOLDEN_REPLAY_VERBOSE === '1') process.stdout.write(`[golden replay] ${setup.name}: transition ${transition ?? 'none'}\n${seen}\n`);
    const settleMs = Number(process.env.GOLDEN_REPLAY_SETTLE_MS ?? 0);
    if (settleMs > 0) process.stdout.write(await afterThePlan(c, transition, Date.now(), settleMs));
    if (problems.length > 0) {
      throw new Error(`${setup.name}: the agents did not carry out the golden plan (transition ${transition ?? 'none'}):\n  ${problems.join('\n  ')}\ncarried out:\n${seen}${kept(c)}\n${c.tail()}`);
    }
    ok = true;
  } finally {
    await c.destroy(!ok && keep);
  }
}

/**
 * GOLDEN_REPLAY_SETTLE_MS (a diagnostic, not checked): what the cluster did in that long after the
 * replayed transition: further transitions, failures, no-quorum stops. A plan that completed should
 * leave nothing more to do unless something changed.
 */
async function afterThePlan(c: ReplayCluster, transition: number | null, from: number, settleMs: number): Promise<string> {
  await sleep(settleMs);
  const after = c.allLogs().filter((l) => l.time >= from && ['transition', 'transition-end', 'resource-failed', 'no-quorum-stop', 'SELF-FENCE'].includes(l.msg) &&
    !(l.msg === 'transition-end' && String(l.cause).startsWith(`${transition} `)));
  const text = after.sort((a, b) => a.time - b.time).map((l) => `  ${new Date(l.time).toISOString().slice(11, 23)} ${l.node} ${l.msg}: ${String(l.cause ?? '')}`);
  return `[golden replay] ${c.setup.name}: ${text.length === 0 ? 'settled' : `after the plan:\n${text.join('\n')}`}\n`;
}
