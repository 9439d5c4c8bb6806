// Inputs to and effects of the cluster core (src/core/cluster/node.ts). The runtime shell feeds
// inputs and carries out effects IN THE ORDER GIVEN; in particular:
//
//   1. `persist` comes first in a step's effects whenever the step changed durable state, and must
//      be on stable storage (write temp, fsync, rename, fsync dir) BEFORE any later `send` of the
//      same step is handed to the network: a vote, a term or an acknowledged entry is never
//      announced before it is durable.
//   2. `execute` carries out one plan action of this node (execution.ts decides when: its
//      predecessors succeeded and this node holds its lease); the runtime reports the outcome back
//      as an `actionResult` input, exactly once, unless the action was cancelled first. A recurring
//      monitor it started reports a change of the resource's state as a `monitored` input, and a
//      probe of a resource not held here that finds it running reports it as `found`.
//   3. `fence` is carried out by a fence agent; the result comes back as `fenceResult`. The core
//      never lets anyone start a lost node's resources before a confirmed fence (or the lease,
//      drift and watchdog bound) — the runtime must never report ok for an unconfirmed fence.
//   4. `selfFence` means reset this machine now (sysrq / watchdog expiry); `feedWatchdog` pets the
//      hardware or soft watchdog (only emitted while the node may keep its resources).

import type { CompiledConfig, NoQuorumPolicy, NodeName, ResourceId } from '../../config/types.js';
import type { LocalCommand } from './commands.js';
import type { Entry, Message, Snapshot } from './messages.js';
import type { ActionResult, PlanAction, SchedulerInput } from '../scheduler/types.js';

export type Input =
  | { type: 'tick'; now: number }
  | { type: 'message'; from: NodeName; msg: Message; now: number }
  /** an operator command issued on this node; forwarded to the coordinator */
  | { type: 'command'; cmd: LocalCommand; now: number }
  /** the outcome of an `execute` effect (transition 0: this node's own no-quorum stop) */
  | { type: 'actionResult'; transition: number; actionId: number; result: ActionResult; now: number }
  /**
   * A recurring monitor saw the resource change state: it failed or stopped on its own (`ok` false
   * or `running` false), or it runs again after a failure (in maintenance or unmanaged nothing
   * recovers it, so the operator may have). Reported on changes only.
   */
  | { type: 'monitored'; resource: ResourceId; intervalMs: number; result: ActionResult; running: boolean; promoted: boolean; now: number }
  /**
   * A probe found a resource running here that this node does not hold (started by hand, or left
   * behind): it is held from now on, so the node's report carries it and the coordinator resolves
   * the extra copy by the resource's multiple-active policy. Ignored for a resource held already.
   */
  | { type: 'found'; resource: ResourceId; role: 'started' | 'promoted'; now: number }
  | { type: 'fenceResult'; requestId: string; target: NodeName; ok: boolean; now: number; /** the device(s) that confirmed it, for the fence history */ device?: string }
  /**
   * Evidence "host alive, agent gone": a plain TCP connect to `node`'s mesh address (asked for by a
   * `probePeer` effect) was refused — the peer's kernel answered with RST, so its host and the path
   * to it are up and only the agent is not listening (crashed, OOM-killed, restarting). `now` is
   * when the refusal was seen (own clock, ≤ now: the step may run a little later). A timeout or any
   * other error proves nothing and is not reported.
   */
  | { type: 'peerAgentDown'; node: NodeName; seenAt: number; now: number }
  /**
   * A `probePeer` connect to `node`'s mesh port was accepted (`seenAt`, own clock, ≤ now). Only
   * counts after a refusal of the same silence: then a new agent process listens there (an agent
   * opens the port only after it probed what runs on its node), so its restart is under way and its
   * first message is near. Report every accepted probe; the core ignores the ones that follow no
   * refusal (a paused agent's socket accepts too).
   */
  | { type: 'peerAgentListening'; node: NodeName; seenAt: number; now: number }
  /** SIGTERM: announce a graceful restart (committed `restarting` entry), leave resources running */
  | { type: 'gracefulStop'; now: number }
  /** a new compiled configuration (nixos-rebuild switch): membership follows it one node at a time */
  | { type: 'configChanged'; config: CompiledConfig; now: number };

/** What survives a restart: written by `persist`, read back by `restartNode`. */
export interface Durable {
  term: number;
  votedFor: NodeName | null;
  snapshot: Snapshot;
  /** entries after snapshot.index, in order */
  entries: Entry[];
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

export type Effect =
  /** the whole durable state; on disk before any following `send` (rule 1) */
  | { type: 'persist'; durable: Durable }
  | { type: 'send'; to: NodeName; msg: Message }
  /** carry out this plan action on this node; answer with one `actionResult` (rule 2) */
  | { type: 'execute'; transition: number; action: PlanAction }
  /** stop waiting for an action that timed out and kill what it started; no result is expected */
  | { type: 'cancel'; transition: number; actionId: number; reason: string }
  /** a resource found running at start under a clone child's id now has its instance number `to` */
  | { type: 'renamed'; from: ResourceId; to: ResourceId }
  /** the coordinator scheduled this input (for the recorder: `tsha simulate --input` replays it) */
  | { type: 'scheduled'; input: SchedulerInput; actions: number }
  /**
   * fence `target` through its levels: power off, or reboot when an operator asked for one; `on`:
   * unfence it (every fabric-fencing device that covers it gives its storage back), answered by
   * a `fenceResult` like a fence
   */
  | { type: 'fence'; target: NodeName; requestId: string; action: 'off' | 'reboot' | 'on' }
  | { type: 'selfFence'; cause: string }
  | { type: 'feedWatchdog' }
  | { type: 'applyNoQuorumPolicy'; policy: NoQuorumPolicy; cause: string }
  | { type: 'becameCoordinator'; term: number }
  | { type: 'lostCoordinator'; term: number; cause: string }
  | { type: 'lease'; holds: boolean; until: number }
  /**
   * Probe `target`'s mesh address with a plain TCP connect (short timeout): it has been silent for
   * more than two heartbeats. Answer with a `peerAgentDown` input when the connection was refused,
   * a `peerAgentListening` input when it was accepted, nothing otherwise (a timeout proves nothing).
   * Emitted at most once per heartbeat per silent peer.
   */
  | { type: 'probePeer'; target: NodeName }
  /**
   * The coordinator's decision on a silent peer whose agent is known down while its host is up:
   * `grace` = a `restarting` entry proposed on its behalf (no fence for timing.crashGraceMs);
   * `fence` = no (further) grace, the normal loss handling runs. For metrics and logs only.
   */
  | { type: 'crashGraceDecision'; node: NodeName; decision: 'grace' | 'fence'; cause: string }
  /** a state transition or decision for the runtime to log: { node, term, from, to, cause } */
  | { type: 'trace'; node: NodeName; term: number; event: string; from?: string; to?: string; cause: string };

/**
 * Test-only switches that each turn off ONE safeguard, so tests can prove the simulator's checker
 * catches the resulting violation. Never set in production (the runtime has no way to set them).
 */
export interface UnsafeSwitches {
  /** treat a fence as confirmed as soon as it is requested */
  skipFenceWait?: boolean;
  /** count vote grants that answer an older term's request */
  acceptStaleVotes?: boolean;
  /** recover a silent node's resources as soon as it is suspected, without waiting for its lease */
  startBeforeLeaseExpiry?: boolean;
  /** ignore a copy a probe found running here (started by hand): the coordinator never hears of it */
  ignoreFoundCopies?: boolean;
}
