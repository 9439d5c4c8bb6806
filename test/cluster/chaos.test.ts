// A short chaos campaign (test/chaos/) in CI: 3 real agents on the real-cluster harness, a fixed
// seed's 10 faults (power loss, link, pairwise and one-way cuts, agent SIGSTOP, kill -9, SIGTERM),
// judged by the outside checker: never two copies, one copy within 15 s of each undo, fences only
// of faulted nodes, every node quorate again. The full campaign is `npm run chaos` (docs/chaos.md).
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterPrerequisites } from './harness.js';
import { ensureBuilt } from './tsha-cluster.js';
import { runCampaign } from '../chaos/campaign.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);

/** Its 10 faults cover every 3-node kind but a non-holder power loss (test/chaos/schedule.ts). */
const SEED = 9;

describe.skipIf(!pre.ok)('chaos campaign on the real-cluster harness', () => {
  beforeAll(() => {
    ensureBuilt();
  }, 180_000);

  it(`seed ${SEED}, 10 faults: no violation`, async () => {
    const r = await runCampaign({ seed: SEED, faults: 10, topology: '3', log: (l) => console.log(l) });
    console.log(`[itest chaos] seed ${SEED}: ${r.schedule.length} faults in ${Math.round(r.durationMs / 1000)} s, ${r.fences} fences, recovery ms ${JSON.stringify(r.schedule.map((f) => f.recoveryMs))}`);
    expect(r.violations, `${JSON.stringify(r.violations, null, 1)}\nschedule ${JSON.stringify(r.schedule)}\nevidence in ${r.keptIn}`).toEqual([]);
  }, 240_000);
});
