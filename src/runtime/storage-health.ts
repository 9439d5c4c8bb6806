// Whether the state directory takes writes, as the runtime sees it (docs/agent.md, "Durable
// state"). A persist that fails with a StoreWriteError (ENOSPC, EDQUOT, EIO, EROFS …) does not stop
// the agent: it stalls (see Agent.enterStorageFault) and retries until the write goes through.
// Exported as two metrics on the agent's registry, so an alert can name the node and the cause:
//   tsha_state_dir_writable            1 normally, 0 while a persist is failing
//   tsha_state_write_failures_total    failed persist attempts, by errno code
import { Counter, Gauge } from 'prom-client';
import type { AgentMetrics } from '../observability/metrics.js';
import type { StoreWriteError } from '../ports/store.js';

export interface StorageFault {
  /** the file the store could not write, and the step (write, fsync, rename …) */
  file: string;
  operation: string;
  /** errno code, e.g. ENOSPC; null when the error had none */
  code: string | null;
  message: string;
  /** monotonic ms and wall-clock ms of the first failure */
  since: number;
  sinceUnixMs: number;
  /** failed retries since */
  retries: number;
}

export class StorageHealth {
  private readonly writable: Gauge;
  private readonly failures: Counter<'code'>;
  fault: StorageFault | null = null;

  constructor(metrics: AgentMetrics) {
    this.writable = new Gauge({ name: 'tsha_state_dir_writable', help: '1 while the state directory takes writes; 0 while a persist fails (the agent stalls: it votes, acknowledges and acts on nothing new)', registers: [metrics.registry] });
    this.failures = new Counter({ name: 'tsha_state_write_failures_total', help: 'persist attempts the state directory refused, by errno code', labelNames: ['code'] as const, registers: [metrics.registry] });
    this.writable.set(1);
  }

  /** A persist failed; returns true when this starts a fault (false: a retry failed again). */
  failed(e: StoreWriteError, now: number): boolean {
    this.failures.inc({ code: e.code ?? 'unknown' });
    this.writable.set(0);
    if (this.fault) {
      this.fault = { ...this.fault, file: e.file, operation: e.operation, code: e.code, message: e.message, retries: this.fault.retries + 1 };
      return false;
    }
    this.fault = { file: e.file, operation: e.operation, code: e.code, message: e.message, since: now, sinceUnixMs: Date.now(), retries: 0 };
    return true;
  }

  recovered(): StorageFault | null {
    const f = this.fault;
    this.fault = null;
    this.writable.set(1);
    return f;
  }
}
