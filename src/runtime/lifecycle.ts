// The daemon's life, as an explicit state machine (STYLE.md practice 12):
//
//   starting ──► joining ──► running ──► stopping ──► stopped
//       │           │            │
//       └───────────┴────────────┴──────► stopping   (signal, fatal error)
//
//   starting  configuration validated, state directory loaded, resources probed (re-adoption),
//             mesh and control socket bound; the core is not stepped yet
//   joining   the core runs; waiting to see a quorate partition (a coordinator that this node
//             follows, or this node leading one). READY=1 is sent on leaving this state.
//   running   joined: a quorate partition was reached, or the join timeout passed while the
//             cluster is not quorate (a node started alone; STATUS says so). It stays `running`
//             when quorum comes and goes later: that is the core's business (lease, no-quorum
//             policy), shown in STATUS and the metrics, not a change of the daemon's life.
//   stopping  a signal or a fatal error: monitors stopped, sockets closed, the state directory
//             released. Resources keep running (the next start re-adopts them).
//   stopped   the process may exit.
//
// Every transition is logged on the child logger with { node, term, from, to, cause }.

import type { Logger } from '../observability/logger.js';

export type LifeState = 'starting' | 'joining' | 'running' | 'stopping' | 'stopped';

const ALLOWED: Record<LifeState, readonly LifeState[]> = {
  starting: ['joining', 'stopping'],
  joining: ['running', 'stopping'],
  running: ['stopping'],
  stopping: ['stopped'],
  stopped: [],
};

export class IllegalTransitionError extends Error {
  override readonly name = 'IllegalTransitionError';
  constructor(
    readonly from: LifeState,
    readonly to: LifeState,
  ) {
    super(`daemon life: no transition from ${from} to ${to}`);
  }
}

export class Lifecycle {
  private current: LifeState = 'starting';
  private readonly listeners: ((from: LifeState, to: LifeState, cause: string) => void)[] = [];
  readonly since = new Map<LifeState, number>([['starting', performance.now()]]);

  constructor(
    private readonly log: Logger,
    private readonly node: string,
    private readonly term: () => number,
  ) {}

  get state(): LifeState {
    return this.current;
  }

  is(...states: LifeState[]): boolean {
    return states.includes(this.current);
  }

  onTransition(fn: (from: LifeState, to: LifeState, cause: string) => void): void {
    this.listeners.push(fn);
  }

  /** Move to `to`; a transition the table does not allow is a bug and throws. */
  transition(to: LifeState, cause: string): void {
    const from = this.current;
    if (!ALLOWED[from].includes(to)) throw new IllegalTransitionError(from, to);
    this.current = to;
    this.since.set(to, performance.now());
    this.log.info({ node: this.node, term: this.term(), from, to, cause }, `daemon ${from} → ${to}`);
    for (const fn of this.listeners) fn(from, to, cause);
  }

  /** Like transition, but a no-op when already there or past it (idempotent stop paths). */
  tryTransition(to: LifeState, cause: string): boolean {
    if (this.current === to || !ALLOWED[this.current].includes(to)) return false;
    this.transition(to, cause);
    return true;
  }
}
