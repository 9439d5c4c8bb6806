// All resource agents of a node behind the one ResourceAgent port: each call goes to the agent that
// handles the resource's kind. A kind no agent handles here (e.g. lxc on a node without LXC) is
// notInstalled, which keeps it off this node without calling anything.

import type { ResourceKind } from '../config/types.js';
import type { ActionResult, MonitorResult, OperationOptions, ResourceAgent, ResourceRef } from '../ports/resource-agent.js';

export class ResourceAgents implements ResourceAgent {
  readonly kinds: readonly ResourceKind[];
  private readonly byKind = new Map<ResourceKind, ResourceAgent>();

  constructor(agents: ResourceAgent[]) {
    for (const a of agents) {
      for (const k of a.kinds) {
        if (this.byKind.has(k)) throw new Error(`two resource agents handle kind "${k}"`);
        this.byKind.set(k, a);
      }
    }
    this.kinds = [...this.byKind.keys()];
  }

  private missing(res: ResourceRef): ActionResult {
    return { status: 'notInstalled', reason: `no resource agent for kind "${res.kind}" on this node (resources.${res.id}.kind)` };
  }

  start(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const a = this.byKind.get(res.kind);
    return a ? a.start(res, op) : Promise.resolve(this.missing(res));
  }

  stop(res: ResourceRef, op: OperationOptions): Promise<ActionResult> {
    const a = this.byKind.get(res.kind);
    // nothing here could have started it: it is not running here
    return a ? a.stop(res, op) : Promise.resolve({ status: 'ok', reason: this.missing(res).reason });
  }

  monitor(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    const a = this.byKind.get(res.kind);
    return a ? a.monitor(res, op) : Promise.resolve({ ...this.missing(res), state: 'stopped', running: false });
  }

  probe(res: ResourceRef, op: OperationOptions): Promise<MonitorResult> {
    const a = this.byKind.get(res.kind);
    return a ? a.probe(res, op) : Promise.resolve({ ...this.missing(res), state: 'stopped', running: false });
  }

  async close(): Promise<void> {
    await Promise.all([...new Set(this.byKind.values())].map((a) => a.close()));
  }
}
