// The deterministic cluster simulator: N agents (plus an optional witness) in one process, driven
// by one seeded event queue. It plays the runtime shell for each core (persist, send, start, stop,
// fence, watchdog) and the world around it: a network that loses, duplicates, delays and reorders,
// partitions (symmetric, asymmetric, pairwise), machines that crash, pause and reboot, clocks that
// drift within the configured bound, resources with start/stop durations and failures, and a fence
// device that powers a machine off and confirms after a delay.
//
// After EVERY event the checker asserts the safety rules of DESIGN.md from the nodes' local state;
// a violation records {rule, detail, time}. Fake parts, named as such: the fence device, the
// resources and the watchdog are simulated here (nothing real can run in this process).

import type { CompiledConfig, NodeName, ResourceId } from '../../src/config/types.js';
import type { ActiveRole } from '../../src/core/cluster/commands.js';
import type { Message } from '../../src/core/cluster/messages.js';
import type { ActionResult, PlanAction } from '../../src/core/scheduler/types.js';
import { nextTickAt, unsettledTickMs, startNode, step, termAt, quorumSpec, restartAnnounced, type NodeState } from '../../src/core/cluster/node.js';
import { hasQuorum } from '../../src/core/cluster/quorum.js';
import { storageName } from '../../src/ports/storage.js';
import { Rng } from '../../src/core/cluster/rng.js';
import type { Durable, Effect, Input, UnsafeSwitches } from '../../src/core/cluster/types.js';

export interface NetParams {
  loss: number;
  dup: number;
  delayMin: number;
  delayMax: number;
  /** probability that a message is held back 200–2000 ms (a stalled connection) */
  longDelay?: number;
  /** upper bound of a long delay (default 2000 ms) */
  longDelayMax?: number;
  /** long delays hit only these message types (default: all) */
  longDelayTypes?: Message['type'][];
}

export interface SimParams {
  seed: number;
  config: CompiledConfig;
  unsafe?: UnsafeSwitches;
  net?: Partial<NetParams>;
  startMs?: number;
  stopMs?: number;
  fenceMs?: number;
  /** fence agent reports failure with this probability (and powers nothing off) */
  fenceFailRate?: number;
  /** a start action fails (error, nothing left running) with this probability */
  startFailRate?: number;
  /** a stop action fails (error, the resource keeps running) with this probability */
  stopFailRate?: number;
  /** time a powered-off machine takes to boot again; null: stays off */
  rebootMs?: number | null;
  /** clock rates spread to the configured bound (drift at the bound) */
  maxDrift?: boolean;
  /** snapshot every N entries (small to exercise compaction) */
  snapshotEvery?: number;
  /** the configuration agents start with (default: config); see changeConfig */
  initialConfig?: CompiledConfig;
  /** machines that stay powered off at the start */
  offAtStart?: NodeName[];
}

export interface Violation {
  rule: string;
  detail: string;
  time: number;
}

type Phys = 'starting' | 'running' | 'stopping';

interface Machine {
  name: NodeName;
  witness: boolean;
  power: boolean;
  paused: boolean;
  /** agent process up (machine may be up with the agent down) */
  core: NodeState | null;
  /** increments on every agent start: stale timers and deliveries are dropped */
  boot: number;
  disk: Durable | null;
  rate: number;
  offset: number;
  phys: Map<ResourceId, Phys>;
  /** resources running here in the promoted role */
  promoted: Set<ResourceId>;
  inbox: Input[];
  lastFeed: number;
  watchdogArmed: boolean;
  maxTerm: number;
  commitSeen: number;
  /** last lease grant adopted: who granted, in which term, real send time */
  grant: { leader: NodeName; term: number; sentAt: number } | null;
  fencedAt: number | null;
  /** when the agent's next tick is due (real time; nextTickAt on its clock), Infinity if none */
  tickAt: number;
  /** the tick event that is still valid (older ones were superseded by an earlier due time) */
  tickSeq: number;
  /** ticks stepped so far (all boots) */
  ticks: number;
}

interface Ev {
  t: number;
  seq: number;
  fn: () => void;
}

class Heap {
  private a: Ev[] = [];
  get size() {
    return this.a.length;
  }
  push(e: Ev) {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(a[i]!, a[p]!)) {
        [a[i], a[p]] = [a[p]!, a[i]!];
        i = p;
      } else break;
    }
  }
  pop(): Ev | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l]!, a[m]!)) m = l;
        if (r < a.length && less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
const less = (x: Ev, y: Ev) => x.t < y.t || (x.t === y.t && x.seq < y.seq);

export class Sim {
  readonly rng: Rng;
  readonly config: CompiledConfig;
  now = 0;
  readonly machines = new Map<NodeName, Machine>();
  readonly violations: Violation[] = [];
  /** global ledger of committed entries: index → term */
  readonly ledger = new Map<number, number>();
  /** the highest-indexed stamped entry committed so far (cluster-time-monotonic) */
  private stampAt = { index: 0, at: -Infinity };
  /** the lowest term in which each ledger entry was known committed */
  readonly committedInTerm = new Map<number, number>();
  readonly leaders = new Map<number, NodeName>();
  /** real time each term's leader was elected */
  readonly electedAt = new Map<number, number>();
  /** directed links that are cut: "a>b" */
  readonly cut = new Set<string>();
  /**
   * SIMULATED storage (an RBD image, a DRBD resource, by name): the machines a takeover step cut
   * off from it (blocklisted, outdated) since they last powered on. A machine's client of the
   * storage lives as long as the machine is powered, agent restarts included.
   */
  readonly storageCut = new Map<string, Set<NodeName>>();
  private readonly storageDoubled = new Set<string>();
  net: NetParams;
  readonly params: Required<Omit<SimParams, 'unsafe' | 'net' | 'rebootMs' | 'initialConfig' | 'offAtStart' | 'startFailRate' | 'stopFailRate'>> & {
    rebootMs: number | null;
    unsafe: UnsafeSwitches;
  };
  /** probability that the fence device fails a request (scenarios may change it over time) */
  fenceFailRate: number;
  /** probabilities that a start / a stop action fails (scenarios may change them over time) */
  startFailRate: number;
  stopFailRate: number;
  /** the configuration agents currently run with */
  agentConfig: CompiledConfig;
  private q = new Heap();
  private seq = 0;
  stats = { events: 0, messages: 0, powerOffs: 0, probes: 0, refused: 0, crashGraces: { grace: 0, fence: 0 }, actions: 0, transitions: 0 };
  /** per resource: real time it was last lost (holder crashed / cut off), for failover measurement */
  readonly failovers: number[] = [];
  private lostAt = new Map<ResourceId, number>();

  constructor(p: SimParams) {
    this.rng = new Rng(p.seed * 2654435761 + 1);
    this.config = p.config;
    this.agentConfig = p.initialConfig ?? p.config;
    this.fenceFailRate = p.fenceFailRate ?? 0;
    this.startFailRate = p.startFailRate ?? 0;
    this.stopFailRate = p.stopFailRate ?? 0;
    this.net = { loss: 0, dup: 0, delayMin: 1, delayMax: 5, ...p.net };
    this.params = {
      seed: p.seed,
      config: p.config,
      startMs: p.startMs ?? 50,
      stopMs: p.stopMs ?? 50,
      fenceMs: p.fenceMs ?? 50,
      fenceFailRate: p.fenceFailRate ?? 0,
      rebootMs: p.rebootMs === undefined ? 2000 : p.rebootMs,
      maxDrift: p.maxDrift ?? false,
      snapshotEvery: p.snapshotEvery ?? 16,
      unsafe: p.unsafe ?? {},
    };
    const rho = p.config.timing.maxDriftPpm / 1e6;
    const names = p.config.nodes.map((n) => n.name);
    if (p.config.witness) names.push(p.config.witness.name);
    for (const name of names) {
      // relative drift between any two clocks stays within the bound: each within ±rho/2 of real time
      const spread = this.params.maxDrift ? (this.rng.chance(0.5) ? 1 : -1) : this.rng.next() * 2 - 1;
      const m: Machine = {
        name,
        witness: p.config.witness?.name === name,
        power: true,
        paused: false,
        core: null,
        boot: 0,
        disk: null,
        rate: 1 + (spread * rho) / 2 * 0.999,
        offset: this.rng.int(0, 100000),
        phys: new Map(),
        promoted: new Set(),
        inbox: [],
        lastFeed: 0,
        watchdogArmed: false,
        maxTerm: 0,
        commitSeen: 0,
        grant: null,
        fencedAt: null,
        tickAt: Infinity,
        tickSeq: 0,
        ticks: 0,
      };
      this.machines.set(name, m);
    }
    for (const m of this.machines.values()) {
      if (p.offAtStart?.includes(m.name)) m.power = false;
      else this.at(this.rng.int(0, 20), () => this.startAgent(m));
    }
  }

  // ---- scheduling ------------------------------------------------------------------------------
  at(t: number, fn: () => void) {
    this.q.push({ t: Math.max(t, this.now), seq: this.seq++, fn });
  }
  after(dt: number, fn: () => void) {
    this.at(this.now + dt, fn);
  }
  runUntil(t: number) {
    for (;;) {
      const e = this.q.pop();
      if (!e) break;
      if (e.t > t) {
        this.q.push(e);
        break;
      }
      this.now = e.t;
      this.stats.events++;
      e.fn();
      this.checkAlways();
    }
    this.now = Math.max(this.now, t);
  }

  local(m: Machine): number {
    return m.offset + this.now * m.rate;
  }

  // ---- agents ----------------------------------------------------------------------------------
  /** Starts the agent of a powered machine that has none (a crashed agent brought back by hand). */
  startAgent(m: Machine) {
    if (!m.power || m.core) return;
    m.boot++;
    // as the runtime's probe reports them: a clone instance by its clone child's id (the agent does
    // not know its instance number after a restart; the coordinator gives it one)
    const active = [...m.phys.entries()].filter(([, s]) => s !== 'stopping')
      .map(([resource]) => ({ resource: resource.replace(/:\d+$/, ''), role: (m.promoted.has(resource) ? 'promoted' : this.roleOfStarted(resource)) as ActiveRole }));
    // the machine's copy of a clone instance has no number of its own: the agent that held it is
    // gone, and the number the coordinator gives it (rename) may be another one
    for (const r of [...m.phys.keys()]) if (/:\d+$/.test(r)) this.rename(m, r, r.replace(/:\d+$/, ''));
    const core = startNode(this.agentConfig, m.name, m.disk, this.local(m), this.rng.int(1, 2 ** 30), {
      unsafe: this.params.unsafe,
      snapshotEvery: this.params.snapshotEvery,
    }, active);
    m.core = core;
    m.commitSeen = core.commitIndex;
    m.grant = null;
    if (core.term < m.maxTerm) this.violate('term-monotonic', `${m.name} restarted at term ${core.term} < ${m.maxTerm}`);
    // the first tick at a random phase, then as the core asks (nextTickAt), like the agent's timer
    m.tickAt = this.now + this.rng.int(0, unsettledTickMs(this.agentConfig.timing));
    this.postTick(m, m.tickAt);
  }

  /** After a step: move the pending tick to when the core next needs one (nextTickAt). */
  private armTick(m: Machine) {
    if (!m.core || !m.power || m.paused) return;
    const local = this.local(m);
    const due = this.now + Math.max(0, nextTickAt(m.core, local) - local) / m.rate;
    if (due === m.tickAt) return;
    const earlier = due < m.tickAt;
    m.tickAt = due;
    // a later due time reuses the pending event, which re-posts itself when it fires early
    if (earlier) this.postTick(m, due);
  }

  private postTick(m: Machine, due: number) {
    const seq = ++m.tickSeq;
    const boot = m.boot;
    this.at(due, () => {
      if (m.boot !== boot || seq !== m.tickSeq || !m.core) return;
      if (this.now < m.tickAt) {
        this.postTick(m, m.tickAt);
        return;
      }
      m.tickAt = Infinity;
      // a paused agent's timer fires late, when it is resumed (resume() re-arms it)
      if (m.paused) return;
      m.ticks++;
      this.input(m, { type: 'tick', now: this.local(m) });
    });
  }

  /** Feed one input to a node's core and carry out its effects in order. */
  input(m: Machine, inp: Input) {
    if (!m.core || !m.power) return;
    if (m.paused) {
      m.inbox.push(inp);
      return;
    }
    const core = m.core;
    const before = core.leaseUntil;
    const { effects } = step(core, inp);
    this.afterStep(m, core, inp, before);
    for (const e of effects) this.effect(m, e);
    if (m.core === core) this.armTick(m);
  }

  private afterStep(m: Machine, core: NodeState, inp: Input, leaseBefore: number) {
    if (core.term < m.maxTerm) this.violate('term-monotonic', `${m.name} term ${core.term} < ${m.maxTerm}`);
    m.maxTerm = Math.max(m.maxTerm, core.term);
    if (core.leaseUntil > leaseBefore && !core.leaseGrace) {
      if (inp.type === 'message' && inp.msg.type === 'AppendEntries') {
        const sent = (inp.msg as Message & { __sentReal?: number }).__sentReal ?? this.now;
        m.grant = { leader: inp.from, term: inp.msg.term, sentAt: sent };
      } else if (core.role === 'leader') {
        m.grant = { leader: m.name, term: core.term, sentAt: this.now };
      }
    }
    // committed entries never lost: every index any node commits must agree with the ledger
    if (core.commitIndex > m.commitSeen) {
      for (let i = m.commitSeen + 1; i <= core.commitIndex; i++) {
        const t = termAt(core, i);
        if (t === undefined) continue;
        const known = this.ledger.get(i);
        if (known === undefined || core.term < (this.committedInTerm.get(i) ?? Infinity)) this.committedInTerm.set(i, core.term);
        if (known === undefined) {
          this.ledger.set(i, t);
          const stamped = core.log[i - core.snapshot.index - 1];
          if (stamped && 'at' in stamped.cmd && typeof stamped.cmd.at === 'number') {
            // cluster time never goes backwards in the committed log
            if (stamped.cmd.at < this.stampAt.at && i > this.stampAt.index) {
              this.violate('cluster-time-monotonic', `index ${i} stamped ${stamped.cmd.at.toFixed(1)}, index ${this.stampAt.index} before it ${this.stampAt.at.toFixed(1)}`);
            }
            if (i > this.stampAt.index) this.stampAt = { index: i, at: stamped.cmd.at };
          }
          const e = core.log[i - core.snapshot.index - 1];
          if (e && e.cmd.type === 'nodeDown') {
            const node = e.cmd.node;
            // every fence is recorded with why (a lost node, a failed stop, a fence race, an operator's request)
            if (e.cmd.cause === 'fenced' && !e.cmd.reason) this.violate('fence-reason', `index ${i}: ${node} fenced without a reason in the record`);
            // an older-term "down" that a new coordinator neutralised with a "node up" releases
            // nothing by itself: the node must report its stop; not a recovery decision
            const neutralised = core.log.some((x) => x.index > i && x.term > e.term && x.cmd.type === 'nodeUp' && x.cmd.node === node);
            if (!neutralised) this.checkNodeDown(node, e.cmd.cause);
          }
        } else if (known !== t) this.violate('committed-entry-lost', `${m.name} committed index ${i} at term ${t}, ledger has term ${known}`);
      }
      m.commitSeen = core.commitIndex;
    }
  }

  /** optional event log for debugging a seed (`npm run sim -- --trace`) */
  log: ((line: string) => void) | null = null;
  /** optional observer of every message a core sends, before the network decides its fate */
  onSend: ((from: NodeName, to: NodeName, msg: Message) => void) | null = null;

  private effect(m: Machine, e: Effect) {
    if (this.log && e.type !== 'send' && e.type !== 'persist' && e.type !== 'feedWatchdog') {
      const { type, ...rest } = e as Effect & Record<string, unknown>;
      this.log(`${this.now.toFixed(1).padStart(8)} ${m.name.padEnd(7)} ${type} ${JSON.stringify(rest)}`);
    }
    switch (e.type) {
      case 'persist':
        m.disk = e.durable;
        return;
      case 'send':
        this.send(m, e.to, e.msg);
        return;
      case 'execute':
        this.execute(m, e.transition, e.action);
        return;
      case 'renamed':
        this.rename(m, e.from, e.to);
        return;
      case 'scheduled':
        if (e.actions > 0) this.stats.transitions++;
        return;
      case 'fence':
        this.fence(m, e.target, e.requestId, e.action === 'on');
        return;
      case 'selfFence':
        this.powerOff(m, 'self-fence');
        return;
      case 'feedWatchdog':
        if (this.config.fencing.watchdog) this.feedWatchdog(m);
        return;
      case 'probePeer':
        this.probe(m, e.target);
        return;
      case 'crashGraceDecision':
        this.stats.crashGraces[e.decision]++;
        return;
      case 'becameCoordinator': {
        const prev = this.leaders.get(e.term);
        if (prev !== undefined && prev !== m.name) this.violate('one-coordinator-per-term', `term ${e.term}: ${prev} and ${m.name}`);
        this.leaders.set(e.term, m.name);
        this.electedAt.set(e.term, this.now);
        // leader completeness (Raft §5.4): the coordinator of term T holds every entry committed
        // in an earlier term
        const core = m.core!;
        for (const [i, t] of this.ledger) {
          if (i <= core.snapshot.index || (this.committedInTerm.get(i) ?? 0) >= e.term) continue;
          if (termAt(core, i) !== t) {
            this.violate('committed-entry-lost', `new coordinator ${m.name} (term ${e.term}) lacks committed index ${i}`);
            break;
          }
        }
        return;
      }
      default:
        return;
    }
  }

  // ---- network ---------------------------------------------------------------------------------
  private send(from: Machine, to: NodeName, msg: Message) {
    this.onSend?.(from.name, to, msg);
    const dst = this.machines.get(to);
    if (!dst) return;
    this.stats.messages++;
    if (this.cut.has(`${from.name}>${to}`)) return;
    if (this.net.loss > 0 && this.rng.chance(this.net.loss)) return;
    const copies = this.net.dup > 0 && this.rng.chance(this.net.dup) ? 2 : 1;
    const tagged = msg as Message & { __sentReal?: number };
    tagged.__sentReal = this.now;
    for (let c = 0; c < copies; c++) {
      let delay = this.net.delayMin + this.rng.next() * (this.net.delayMax - this.net.delayMin);
      if (this.net.longDelay && (!this.net.longDelayTypes || this.net.longDelayTypes.includes(msg.type)) && this.rng.chance(this.net.longDelay)) delay += this.rng.int(50, this.net.longDelayMax ?? 2000);
      const boot = dst.boot;
      this.after(delay, () => {
        if (dst.boot !== boot || !dst.core || !dst.power) return; // connection died with the process
        if (this.cut.has(`${from.name}>${to}`)) return;
        this.input(dst, { type: 'message', from: from.name, msg, now: this.local(dst) });
      });
    }
  }

  /**
   * The runtime's TCP probe of a peer's mesh port (fake: the kernels are simulated). The SYN and the
   * answer cross the network (both directions must be up; loss may eat either). Only a machine that
   * is powered on with its agent process gone answers with RST (refused → peerAgentDown); a
   * powered-off machine never answers, a running or paused agent's socket accepts
   * (→ peerAgentListening, which the core counts only after a refusal).
   */
  private probe(from: Machine, to: NodeName) {
    const dst = this.machines.get(to);
    if (!dst) return;
    this.stats.probes++;
    const boot = from.boot;
    const leg = () => this.net.delayMin + this.rng.next() * (this.net.delayMax - this.net.delayMin);
    const lost = () => this.net.loss > 0 && this.rng.chance(this.net.loss);
    if (this.cut.has(`${from.name}>${to}`) || lost()) return;
    this.after(leg(), () => {
      // the SYN arrives: a live kernel without a listener answers with RST, a listener accepts
      if (!dst.power) return;
      const listening = dst.core !== null;
      if (this.cut.has(`${to}>${from.name}`) || lost()) return;
      this.after(leg(), () => {
        if (from.boot !== boot || !from.core || !from.power) return;
        if (listening) {
          this.input(from, { type: 'peerAgentListening', node: to, seenAt: this.local(from), now: this.local(from) });
          return;
        }
        this.stats.refused++;
        this.input(from, { type: 'peerAgentDown', node: to, seenAt: this.local(from), now: this.local(from) });
      });
    });
  }

  // ---- resources -------------------------------------------------------------------------------
  // A fake resource agent: start and stop take startMs / stopMs, monitors read the machine's state,
  // promote and demote flip the promoted flag; every outcome goes back as an actionResult.

  private roleOfStarted(r: ResourceId): ActiveRole {
    const base = r.replace(/:\d+$/, '');
    for (const res of Object.values(this.config.resources)) {
      if (res.type !== 'clone' || !res.promotable) continue;
      const child = this.config.resources[res.child];
      if (res.child === base || (child?.type === 'group' && child.members.includes(base))) return 'unpromoted';
    }
    return 'started';
  }

  /** The agent gave a clone instance it found running its number: the machine's copy goes by it. */
  private rename(m: Machine, from: ResourceId, to: ResourceId) {
    const s = m.phys.get(from);
    if (s === undefined || m.phys.has(to)) return;
    m.phys.delete(from);
    m.phys.set(to, s);
    if (m.promoted.delete(from)) m.promoted.add(to);
  }

  private execute(m: Machine, transition: number, a: PlanAction) {
    this.stats.actions++;
    const boot = m.boot;
    const reply = (delay: number, result: ActionResult) =>
      this.after(delay, () => {
        if (m.boot === boot && m.core && m.power) this.input(m, { type: 'actionResult', transition, actionId: a.id, result, now: this.local(m) });
      });
    const r = a.resource;
    if (r === null) return;
    this.checkAction(m, transition, a);
    switch (a.type) {
      case 'start':
      case 'migrate_from': {
        if (m.phys.has(r)) {
          reply(1, { status: 'ok' });
          return;
        }
        this.checkStart(m, r, transition, a);
        if (this.startFailRate > 0 && this.rng.chance(this.startFailRate)) {
          reply(this.params.startMs, { status: 'error', reason: 'simulated start failure' });
          return;
        }
        m.phys.set(r, 'starting');
        this.checkOneCopy(r, m.name);
        this.checkOneWriter(r);
        this.after(this.params.startMs, () => {
          if (!m.power) return;
          if (m.phys.get(r) !== 'starting') {
            // stopped while it started (a no-quorum stop ran meanwhile): the start did not stick
            if (m.boot === boot && m.core) this.input(m, { type: 'actionResult', transition, actionId: a.id, result: { status: 'error', reason: 'stopped while starting' }, now: this.local(m) });
            return;
          }
          m.phys.set(r, 'running');
          const lost = this.lostAt.get(r);
          if (lost !== undefined) {
            this.failovers.push(this.now - lost);
            this.lostAt.delete(r);
          }
          if (m.boot === boot && m.core) this.input(m, { type: 'actionResult', transition, actionId: a.id, result: { status: 'ok' }, now: this.local(m) });
        });
        return;
      }
      case 'stop':
      case 'migrate_to': {
        const cur = m.phys.get(r);
        if (!cur) {
          reply(1, { status: 'ok' });
          return;
        }
        if (this.stopFailRate > 0 && this.rng.chance(this.stopFailRate)) {
          reply(this.params.stopMs, { status: 'error', reason: 'simulated stop failure' });
          return;
        }
        m.phys.set(r, 'stopping');
        m.promoted.delete(r);
        this.after(this.params.stopMs, () => {
          if (!m.power) return;
          if (m.phys.get(r) !== 'stopping') {
            if (m.boot === boot && m.core) this.input(m, { type: 'actionResult', transition, actionId: a.id, result: { status: m.phys.has(r) ? 'error' : 'ok' }, now: this.local(m) });
            return;
          }
          m.phys.delete(r);
          this.handCopies.delete(`${r}@${m.name}`);
          if (m.boot === boot && m.core) this.input(m, { type: 'actionResult', transition, actionId: a.id, result: { status: 'ok' }, now: this.local(m) });
        });
        return;
      }
      case 'monitor':
        reply(1, m.phys.get(r) === 'running' ? { status: 'ok' } : { status: 'error', reason: 'not running' });
        return;
      case 'promote':
        if (m.phys.get(r) !== 'running') {
          reply(1, { status: 'error', reason: 'not running' });
          return;
        }
        m.promoted.add(r);
        this.checkPromoted(r);
        this.checkOneWriter(r);
        reply(1, { status: 'ok' });
        return;
      case 'demote':
        m.promoted.delete(r);
        reply(1, { status: 'ok' });
        return;
      case 'storage_blocklist':
      case 'storage_break_lock':
      case 'storage_outdate_peer': {
        const lost = a.target!;
        const st = this.storageOf(r);
        // the takeover acts against a machine whose holder of the storage is gone (fenced, reset or
        // stopped): never against one that still runs it
        const victim = this.machines.get(lost);
        const live = st && victim?.power ? [...victim.phys.keys()].filter((x) => this.storageOf(x)?.name === st.name) : [];
        if (live.length > 0) this.violate('storage-before-fence', `${m.name} ran ${a.key} while ${lost} still runs ${live.join(', ')}`);
        if (st) {
          const cut = this.storageCut.get(st.name) ?? new Set<NodeName>();
          cut.add(lost);
          this.storageCut.set(st.name, cut);
        }
        reply(1, { status: 'ok' });
        return;
      }
      default:
        reply(1, { status: 'ok' });
    }
  }

  /** The storage a resource instance holds (by name), and whether only its promoted instance writes. */
  private storageOf(r: ResourceId): { name: string; promotable: boolean } | null {
    const base = r.replace(/:\d+$/, '');
    const p = this.config.resources[base];
    if (!p || p.type !== 'primitive' || !p.storage) return null;
    const promotable = Object.values(this.config.resources).some((c) => c.type === 'clone' && c.promotable && c.child === base);
    return { name: storageName(p.storage), promotable };
  }

  /**
   * The operator starts a copy of `r` by hand on `name`, beside the cluster (systemctl start): the
   * machine runs it from now on, and the agent's probe of what it does not run reports it
   * (`found`) one monitor interval later. The copy is the operator's, not the cluster's: the
   * one-active-copy check does not count it against the cluster, but a start by the cluster while
   * it runs is a violation.
   */
  startByHand(name: NodeName, r: ResourceId, probeMs = 1000) {
    const m = this.machines.get(name)!;
    if (!m.power || m.phys.has(r)) return;
    this.log?.(`${this.now.toFixed(1).padStart(8)} ${name.padEnd(7)} RESOURCE ${r} STARTED BY HAND`);
    m.phys.set(r, 'running');
    this.handCopies.add(`${r}@${name}`);
    const boot = m.boot;
    this.after(probeMs, () => {
      if (m.boot === boot && m.core && m.power && m.phys.get(r) === 'running') this.input(m, { type: 'found', resource: r, role: 'started', now: this.local(m) });
    });
  }

  /** a running resource dies on its own (process crash): its recurring monitor reports it */
  failResource(name: NodeName, r: ResourceId) {
    const m = this.machines.get(name)!;
    if (m.phys.get(r) !== 'running') return;
    this.log?.(`${this.now.toFixed(1).padStart(8)} ${name.padEnd(7)} RESOURCE ${r} FAILED`);
    m.phys.delete(r);
    m.promoted.delete(r);
    this.handCopies.delete(`${r}@${name}`);
    if (m.core) this.input(m, { type: 'monitored', resource: r, intervalMs: 10_000, result: { status: 'ok' }, running: false, promoted: false, now: this.local(m) });
  }

  // ---- machines --------------------------------------------------------------------------------
  /** power loss: volatile state and resources gone; reboots after rebootMs unless told otherwise */
  powerOff(m: Machine, cause: string, rebootMs: number | null = this.params.rebootMs) {
    if (!m.power) return;
    this.log?.(`${this.now.toFixed(1).padStart(8)} ${m.name.padEnd(7)} POWER OFF (${cause})`);
    this.stats.powerOffs++;
    for (const r of m.phys.keys()) this.markLost(r);
    m.power = false;
    m.paused = false;
    m.core = null;
    m.inbox = [];
    for (const r of m.phys.keys()) this.handCopies.delete(`${r}@${m.name}`);
    m.phys.clear();
    m.promoted.clear();
    m.boot++;
    m.watchdogArmed = false;
    m.fencedAt = this.now;
    if (rebootMs !== null) this.after(rebootMs, () => this.powerOn(m));
  }

  powerOn(m: Machine) {
    if (m.power) return;
    m.power = true;
    for (const cut of this.storageCut.values()) cut.delete(m.name); // a new boot, a new storage client
    m.lastFeed = this.now;
    this.startAgent(m);
  }

  /**
   * The agent process crashes (kill -9, OOM); the machine and its resources keep running, and its
   * kernel answers probes of the mesh port with RST. The agent starts again after downMs from its
   * durable state and re-adopts what runs (null: it never comes back).
   */
  crashAgent(m: Machine, downMs: number | null) {
    if (!m.power || !m.core) return;
    this.log?.(`${this.now.toFixed(1).padStart(8)} ${m.name.padEnd(7)} AGENT CRASH (host up, back ${downMs === null ? 'never' : `in ${downMs} ms`})`);
    m.core = null;
    m.paused = false;
    m.inbox = [];
    m.boot++;
    if (downMs !== null) this.after(Math.max(downMs, this.params.startMs + this.params.stopMs + 1), () => this.startAgent(m));
  }

  /**
   * SIGTERM, as the runtime handles it: announce the restart, wait (at most 1 s) until it is
   * committed, then exit leaving the resources running; the agent starts again after `downMs`
   * (null: never — the machine keeps running its resources without an agent).
   */
  gracefulStopAgent(m: Machine, downMs: number | null, onExit?: (announced: boolean) => void) {
    if (!m.power || !m.core) return;
    const core = m.core;
    this.input(m, { type: 'gracefulStop', now: this.local(m) });
    const deadline = this.now + 1000;
    const poll = () => {
      if (m.core !== core) return; // crashed or powered off meanwhile
      const announced = restartAnnounced(core);
      if (!announced && this.now < deadline) {
        this.after(5, poll);
        return;
      }
      this.log?.(`${this.now.toFixed(1).padStart(8)} ${m.name.padEnd(7)} AGENT EXIT (graceful, restart ${announced ? 'announced' : 'NOT committed'})`);
      onExit?.(announced);
      if (downMs === null) {
        m.core = null;
        m.paused = false;
        m.inbox = [];
        m.boot++;
      } else {
        this.crashAgent(m, downMs);
      }
    };
    poll();
  }

  pause(m: Machine) {
    if (m.power && m.core) m.paused = true;
  }

  resume(m: Machine) {
    if (!m.paused) return;
    m.paused = false;
    const inbox = m.inbox;
    m.inbox = [];
    // the process wakes with stale beliefs and a backlog of messages, all seen "now"
    for (const inp of inbox) this.input(m, { ...inp, now: this.local(m) } as Input);
    // its timer is re-armed for what the core needs now (one overdue while it was stopped fires at once)
    m.tickAt = Infinity;
    this.armTick(m);
  }

  markLost(r: ResourceId) {
    if (!this.lostAt.has(r)) this.lostAt.set(r, this.now);
  }

  private feedWatchdog(m: Machine) {
    m.lastFeed = this.now;
    if (m.watchdogArmed) return;
    m.watchdogArmed = true;
    const boot = m.boot;
    const check = () => {
      if (m.boot !== boot && !m.power) return;
      if (!m.power) return;
      const limit = this.config.timing.watchdogMs / m.rate;
      if (this.now >= m.lastFeed + limit) { // the same sum as the event time below (float rounding)
        this.powerOff(m, 'watchdog');
        return;
      }
      this.at(m.lastFeed + limit, check);
    };
    this.at(m.lastFeed + this.config.timing.watchdogMs / m.rate, check);
  }

  /** `unfence`: action on of a SIMULATED fabric-fencing device, which powers nothing off */
  private fence(from: Machine, target: NodeName, requestId: string, unfence = false) {
    const victim = this.machines.get(target);
    if (!victim) return;
    const boot = from.boot;
    this.after(this.params.fenceMs, () => {
      const ok = !this.rng.chance(this.fenceFailRate);
      if (ok && !unfence) this.powerOff(victim, `fenced by ${from.name}`);
      // a fabric fence cuts the node off until an unfence (on) that follows it
      if (ok) (unfence ? this.unfencedAt : this.fencedAt).set(target, this.now);
      if (from.boot === boot && from.core && from.power) this.input(from, { type: 'fenceResult', requestId, target, ok, now: this.local(from) });
    });
  }

  // ---- network faults --------------------------------------------------------------------------
  /** cut every link between groups (symmetric partition) */
  partition(...groups: NodeName[][]) {
    this.log?.(`${this.now.toFixed(1).padStart(8)} PARTITION ${JSON.stringify(groups)}`);
    this.cut.clear();
    for (const g of groups)
      for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.cut.add(`${a}>${b}`);
  }
  cutOneWay(from: NodeName, to: NodeName) {
    this.cut.add(`${from}>${to}`);
  }
  cutBoth(a: NodeName, b: NodeName) {
    this.cut.add(`${a}>${b}`);
    this.cut.add(`${b}>${a}`);
  }
  heal() {
    this.log?.(`${this.now.toFixed(1).padStart(8)} NETWORK HEAL`);
    this.cut.clear();
  }

  /** nixos-rebuild switch on every running agent (and the config later boots use) */
  changeConfig(cfg: CompiledConfig) {
    this.agentConfig = cfg;
    for (const m of this.machines.values()) if (m.core) this.input(m, { type: 'configChanged', config: cfg, now: this.local(m) });
  }

  machine(name: NodeName): Machine {
    return this.machines.get(name)!;
  }

  // ---- checker ---------------------------------------------------------------------------------
  violate(rule: string, detail: string) {
    this.violations.push({ rule, detail, time: this.now });
  }

  /** copies the operator started by hand ("r@node"), until they stop (see startByHand) */
  private readonly handCopies = new Set<string>();
  /**
   * One active copy per resource instance, counted from each machine's own state (paused ones
   * included). A copy started by hand is the operator's doing, not counted against the cluster;
   * but the cluster starting a copy (`startedOn`) while any other copy runs, by hand or not, is.
   */
  private doubled = new Set<ResourceId>();
  private checkOneCopy(r: ResourceId, startedOn?: NodeName) {
    const clone = Object.values(this.config.resources).find((c) => c.type === 'clone' && c.child === r.replace(/:\d+$/, ''));
    if (clone?.type === 'clone') {
      // a clone's copies: a number once (below), and never more copies than the clone has instances
      const copies = [...this.machines.values()].filter((m) => m.power).flatMap((m) => [...m.phys.keys()].filter((x) => x.replace(/:\d+$/, '') === clone.child).map((x) => `${x}@${m.name}`));
      if (copies.length > clone.max && !this.doubled.has(clone.id)) {
        this.doubled.add(clone.id);
        this.violate('clone-max', `${clone.id}: ${copies.length} copies (${copies.join(', ')}), at most ${clone.max}`);
      }
      if (r === clone.child) return; // a copy whose agent restarted has no number until the coordinator gives it one
    }
    const holders: NodeName[] = [];
    for (const m of this.machines.values()) if (m.power && m.phys.has(r)) holders.push(m.name);
    const byHand = holders.filter((n) => this.handCopies.has(`${r}@${n}`));
    const cluster = holders.filter((n) => !byHand.includes(n));
    const besideHand = startedOn !== undefined && byHand.some((n) => n !== startedOn);
    if ((cluster.length > 1 || besideHand) && !this.doubled.has(r)) {
      this.doubled.add(r); // reported once per resource and run
      const hand = byHand.length > 0 ? ` (by hand on ${byHand.join(', ')})` : '';
      this.violate('one-active-copy', `${r} active on ${holders.join(', ')}${hand}${besideHand ? `: started on ${startedOn} beside a copy started by hand` : ''}`);
    }
  }

  /**
   * At most one writer per storage: powered machines that may write to it (running its holder; the
   * promoted instance, for a promotable one) and that no takeover step cut off.
   */
  private checkOneWriter(r: ResourceId) {
    const st = this.storageOf(r);
    if (!st || this.storageDoubled.has(st.name)) return;
    const writers: string[] = [];
    for (const m of this.machines.values()) {
      if (!m.power || this.storageCut.get(st.name)?.has(m.name)) continue;
      for (const x of m.phys.keys()) {
        const xs = this.storageOf(x);
        if (xs?.name === st.name && (!xs.promotable || m.promoted.has(x))) writers.push(`${x}@${m.name}`);
      }
    }
    if (writers.length > 1) {
      this.storageDoubled.add(st.name);
      this.violate('one-writer-per-storage', `${st.name} writable from ${writers.join(', ')}`);
    }
  }

  private checkAlways() {
    const seen = new Set<ResourceId>();
    for (const m of this.machines.values()) for (const r of m.phys.keys()) if (!seen.has(r)) {
      seen.add(r);
      this.checkOneCopy(r);
      this.checkOneWriter(r);
    }
  }

  /** At most promotedMax instances of a promotable clone are promoted at a time, on all machines together. */
  private checkPromoted(r: ResourceId) {
    const base = r.replace(/:\d+$/, '');
    const clone = Object.values(this.config.resources).find((c) => c.type === 'clone' && c.child === base);
    if (!clone || clone.type !== 'clone') return;
    const promoted: string[] = [];
    for (const m of this.machines.values()) if (m.power) for (const p of m.promoted) if (p.replace(/:\d+$/, '') === base) promoted.push(`${p}@${m.name}`);
    if (promoted.length > clone.promotedMax) this.violate('promoted-max', `${clone.id}: ${promoted.length} promoted (${promoted.join(', ')}), at most ${clone.promotedMax}`);
  }

  /**
   * Every action a node carries out is one of a committed transition (or its own no-quorum stop),
   * and nothing is started, stopped, promoted or demoted in maintenance (cluster or node).
   */
  private checkAction(m: Machine, transition: number, a: PlanAction) {
    const core = m.core!;
    if (transition === 0) {
      if (a.type !== 'stop' && a.type !== 'demote') this.violate('start-outside-quorum', `${m.name} ran ${a.key} in its own no-quorum run`);
      return;
    }
    const t = core.cluster.transition;
    if (!t || t.id !== transition || t.plan.actions[a.id]?.key !== a.key) {
      this.violate('action-outside-transition', `${m.name} ran ${a.key} of transition ${transition}, not the committed one (${t?.id ?? 'none'})`);
      return;
    }
    if (this.ledger.get(t.id) !== termAt(core, t.id) && t.id > core.snapshot.index) {
      this.violate('action-outside-transition', `${m.name} ran ${a.key} of an uncommitted transition (index ${t.id})`);
    }
    if (core.config.maintenanceMode || core.cluster.maintenance.includes(m.name)) {
      this.violate('maintenance', `${m.name} ran ${a.key} in maintenance`);
    }
  }

  /**
   * Nothing is started outside a quorate partition: the node's lease was granted by a coordinator
   * before any later coordinator was elected. And starts respect order: a group member starts only
   * with the member before it running on the same machine, and the `then` of a mandatory order only
   * with its `first` running somewhere.
   */
  /** when a device last fenced each machine, and when one last unfenced it (engine time) */
  private readonly fencedAt = new Map<NodeName, number>();
  private readonly unfencedAt = new Map<NodeName, number>();

  private checkStart(m: Machine, r: ResourceId, _transition: number, _a: PlanAction) {
    // unfencing (Pacemaker's provides=unfencing): a machine a fabric-fencing device fenced starts
    // nothing before a device unfenced it again
    const fabric = this.config.fencing.devices.some((d) => d.unfence && d.hosts.includes(m.name));
    const fenced = this.fencedAt.get(m.name);
    if (fabric && fenced !== undefined && !((this.unfencedAt.get(m.name) ?? -Infinity) > fenced)) {
      this.violate('unfence-before-start', `${m.name} started ${r} after its fence at ${fenced.toFixed(1)} without an unfence since`);
    }
    const g = m.grant;
    if (!g) {
      this.violate('start-outside-quorum', `${m.name} started ${r} without a lease grant`);
      return;
    }
    for (const [term, at] of this.electedAt) {
      if (term > g.term && at < g.sentAt) {
        this.violate('start-outside-quorum', `${m.name} started ${r} on a lease granted by ${g.leader} (term ${g.term}) after term ${term} had a coordinator`);
        return;
      }
    }
    const [base, inst] = r.split(':') as [string, string | undefined];
    const suffix = inst === undefined ? '' : `:${inst}`;
    for (const res of Object.values(this.config.resources)) {
      if (res.type !== 'group') continue;
      const i = res.members.indexOf(base);
      if (i <= 0) continue;
      const before = `${res.members[i - 1]!}${suffix}`;
      if (m.phys.get(before) !== 'running') this.violate('order', `${m.name} started ${r} before ${before} was running there (group ${res.id})`);
    }
    for (const o of this.config.constraints.order) {
      if (o.kind !== 'mandatory' || o.firstAction !== 'start' || o.thenAction !== 'start' || o.then !== base) continue;
      const running = [...this.machines.values()].some((x) => x.power && [...x.phys].some(([k, st]) => st === 'running' && (k === o.first || k.startsWith(`${o.first}:`))));
      if (!running) this.violate('order', `${m.name} started ${r} while ${o.first} ran nowhere (order ${o.id})`);
    }
  }

  /**
   * No recovery after a node loss before fence confirmation or lease expiry: when "node down" is
   * committed, that machine must run nothing and hold no lease (it is off, stopped or reset).
   */
  private checkNodeDown(name: NodeName, cause: string) {
    const m = this.machines.get(name);
    if (!m || !m.power) return;
    if (m.phys.size > 0) this.violate('recovery-before-fence-or-lease', `${name} declared down (${cause}) while running ${[...m.phys.keys()].join(',')}`);
    else if (m.core && !m.paused && this.local(m) < m.core.leaseUntil && !m.core.leaseGrace)
      this.violate('recovery-before-fence-or-lease', `${name} declared down (${cause}) while its lease holds`);
  }

  // ---- observation helpers for scenarios ---------------------------------------------------------
  coordinator(): NodeName | null {
    let best: NodeState | null = null;
    for (const m of this.machines.values()) {
      if (!m.power || !m.core || m.paused || m.core.role !== 'leader') continue;
      if (!best || m.core.term > best.term) best = m.core;
    }
    return best?.self ?? null;
  }

  /** where each primitive outside clones physically runs (running state only), and every clone instance running */
  running(): Map<ResourceId, NodeName[]> {
    const out = new Map<ResourceId, NodeName[]>();
    for (const r of this.singletons()) out.set(r, []);
    for (const m of this.machines.values()) {
      if (!m.power) continue;
      for (const [r, s] of m.phys) {
        if (s !== 'running') continue;
        const l = out.get(r) ?? [];
        l.push(m.name);
        out.set(r, l);
      }
    }
    return out;
  }

  /** primitives not in a clone: each must run exactly once when the cluster is well */
  singletons(): ResourceId[] {
    const cloned = new Set<ResourceId>();
    for (const r of Object.values(this.config.resources)) {
      if (r.type !== 'clone') continue;
      cloned.add(r.child);
      const child = this.config.resources[r.child];
      if (child?.type === 'group') for (const x of child.members) cloned.add(x);
    }
    return Object.values(this.config.resources).filter((r) => r.type === 'primitive' && !cloned.has(r.id)).map((r) => r.id);
  }

  holderOf(r: ResourceId): NodeName | null {
    return this.running().get(r)?.[0] ?? null;
  }

  allPlaced(): boolean {
    for (const [, ns] of this.running()) if (ns.length !== 1) return false;
    return true;
  }

  noneRunning(): boolean {
    for (const m of this.machines.values()) if (m.power && m.phys.size > 0) return false;
    return true;
  }

  /** whether some quorate set of machines is up, unpaused and fully connected */
  quorumPossible(): boolean {
    const anyCore = [...this.machines.values()].find((m) => m.core);
    if (!anyCore?.core) return false;
    const spec = quorumSpec(anyCore.core);
    const up = [...this.machines.values()].filter((m) => m.power && m.core && !m.paused).map((m) => m.name);
    return hasQuorum(spec, new Set(up));
  }
}
