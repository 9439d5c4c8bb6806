// The witness as every node sees it, on the real-cluster harness: two `tsha agent` nodes and
// `tsha witness` in their own namespaces over wireguard-go. One node's link to the witness is cut
// with the harness's nftables bridge rules; the OTHER node's `tsha status --output json` (the built
// CLI over its control socket) must show that node's view of the witness as unreachable, its own
// as reachable, and both reachable again after the heal. Both ways: the member's link cut, asked
// at the coordinator (from the member's reports), and the coordinator's, asked at the member (from
// the coordinator's heartbeats).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterStatus, WitnessView } from '../../src/ports/control.js';
import { clusterPrerequisites, createCluster, now, type Cluster } from './harness.js';
import { ensureBuilt, MAIN_JS, TshaCluster } from './tsha-cluster.js';

const pre = clusterPrerequisites();
if (!pre.ok && process.env.CI === 'true') throw new Error(`CI must run the real-cluster tests; missing: ${pre.missing.join(', ')}`);
if (!pre.ok) console.warn(`skipping witness-view cluster test, missing: ${pre.missing.join(', ')}`);

const FORM_MS = 30_000;
const SEE_MS = 10_000;

/** `tsha status --output json` on `node`, run as an operator runs it. */
async function statusJson(t: TshaCluster, node: string): Promise<ClusterStatus> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN_JS, 'status', '--output', 'json', '--socket', t.socket(node)], { timeout: 10_000 });
  return JSON.parse(stdout) as ClusterStatus;
}

describe.skipIf(!pre.ok)('the witness as every node sees it (tsha status)', () => {
  let c: Cluster | undefined;
  beforeAll(() => ensureBuilt(), 180_000);
  afterEach(async () => {
    await c?.destroy();
    c = undefined;
  }, 60_000);

  it("2 nodes + witness: the member's link to the witness cut → the coordinator's status shows that member's view unreachable; heal → reachable", async () => {
    c = await createCluster({ nodes: 2, witness: true });
    const t = new TshaCluster(c);
    await t.installUnit();
    t.startAll();
    const coord = await t.waitQuorate(FORM_MS);
    const member = c.nodes.find((n) => n.name !== coord)!.name;
    const viewOf = (s: ClusterStatus, n: string): WitnessView | undefined => s.quorum?.witnessViews.find((v) => v.node === n);
    /** polls `asked`'s status until `ok` holds for it; returns it and when it first held */
    const until = async (what: string, ok: (s: ClusterStatus) => boolean, asked = coord): Promise<{ s: ClusterStatus; at: number }> => {
      const deadline = now() + SEE_MS;
      let last: ClusterStatus | undefined;
      while (now() < deadline) {
        last = await statusJson(t, asked);
        if (ok(last)) return { s: last, at: now() };
      }
      throw new Error(`${what}: not seen within ${SEE_MS} ms; last witness views ${JSON.stringify(last?.quorum?.witnessViews)}`);
    };

    const before = await until('both views reachable', (s) => [coord, member].every((n) => viewOf(s, n)?.state === 'reachable'));
    expect(before.s.nodeSelf).toBe(coord);
    expect(viewOf(before.s, coord)!.reportAgeMs).toBe(0);
    expect(viewOf(before.s, member)!.term).toBe(before.s.term);

    const cutAt = await c.cutPair(member, 'witness');
    const cut = await until(`${member}'s view unreachable`, (s) => viewOf(s, member)?.state === 'unreachable');
    // the coordinator's own path to the witness is untouched, and so is the quorum (2 of 3 votes)
    expect(viewOf(cut.s, coord)?.state).toBe('reachable');
    expect(cut.s.quorum?.quorate).toBe(true);
    expect(viewOf(cut.s, member)!.lastContactAgeMs).toBeGreaterThanOrEqual(500);

    // the text form says the same
    const { stdout: text } = await promisify(execFile)(process.execPath, [MAIN_JS, 'status', '--socket', t.socket(coord)], { timeout: 10_000 });
    expect(text).toMatch(new RegExp(`Witness witness \\(as each node sees it\\):\\n(.*\\n)*  \\* ${member}: UNREACHABLE`));

    const healAt = await c.healPair(member, 'witness');
    const healed = await until(`${member}'s view reachable again`, (s) => viewOf(s, member)?.state === 'reachable');
    expect(viewOf(healed.s, member)!.lastContactAgeMs).toBeLessThan(500);
    console.log(`[itest witness-view] coordinator ${coord}: ${member}'s view unreachable ${Math.round(cut.at - cutAt)} ms after the cut, reachable ${Math.round(healed.at - healAt)} ms after the heal`);

    // the other way: the coordinator's link to the witness cut, asked at the member
    await until(`${coord}'s view reachable at ${member}`, (s) => viewOf(s, coord)?.state === 'reachable' && viewOf(s, member)?.state === 'reachable', member);
    const cut2At = await c.cutPair(coord, 'witness');
    const cut2 = await until(`${coord}'s view unreachable at ${member}`, (s) => viewOf(s, coord)?.state === 'unreachable', member);
    expect(cut2.s.nodeSelf).toBe(member);
    expect(viewOf(cut2.s, member)?.state).toBe('reachable');
    expect(cut2.s.coordinator).toBe(coord); // still quorate with the member's vote
    const heal2At = await c.healPair(coord, 'witness');
    const healed2 = await until(`${coord}'s view reachable again at ${member}`, (s) => viewOf(s, coord)?.state === 'reachable', member);
    console.log(`[itest witness-view] member ${member}: ${coord}'s view unreachable ${Math.round(cut2.at - cut2At)} ms after the cut, reachable ${Math.round(healed2.at - heal2At)} ms after the heal`);
  }, 120_000);
});
