// The Fencer port over fence-agents: a fence runs the target's levels in order (fence-agent.ts);
// the preflight of `tsha fence check` asks every device without fencing (fence-check.ts).

import type { FencingConfig, NodeName } from '../../config/types.js';
import type { FenceAttemptResult, FenceCheckReport, FenceOutcome, Fencer } from '../../ports/fencer.js';
import { levelsFor, runFenceAgent, unfence, type FenceAgentOptions } from './fence-agent.js';
import { checkFencing } from './fence-check.js';

export class FenceAgentFencer implements Fencer {
  constructor(
    private readonly fencing: () => FencingConfig,
    private readonly opts: FenceAgentOptions = {},
  ) {}

  check(nodes: NodeName[]): Promise<FenceCheckReport> {
    return checkFencing(this.fencing(), nodes, this.opts, this.opts.env?.TSHA_NODE ?? '');
  }

  async fence(target: NodeName, action: 'off' | 'reboot'): Promise<FenceOutcome> {
    const attempts: FenceAttemptResult[] = [];
    const levels = levelsFor(this.fencing(), target);
    for (const [i, devices] of levels.entries()) {
      if (devices.length === 0) continue;
      let all = true;
      for (const d of devices) {
        const r = await runFenceAgent(d, target, action, i + 1, this.opts);
        attempts.push(r);
        if (r.status !== 'ok') {
          all = false;
          break;
        }
      }
      if (all) return { target, confirmed: true, attempts };
    }
    return { target, confirmed: false, attempts };
  }

  async unfence(target: NodeName): Promise<FenceOutcome> {
    const attempts: FenceAttemptResult[] = [];
    const devices = this.fencing().devices.filter((d) => d.unfence && d.hosts.includes(target));
    for (const d of devices) {
      const r = await unfence(d, target, this.opts);
      attempts.push(r);
      if (r.status !== 'ok') return { target, confirmed: false, attempts };
    }
    return { target, confirmed: attempts.length > 0, attempts };
  }
}
