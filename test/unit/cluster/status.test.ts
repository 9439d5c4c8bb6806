// The core's status function is the one source of node states for `tsha status` and the
// agent's metrics: what "heard recently" means is decided once (liveness.ts heardRecently), and
// a member that follows a coordinator it hears shows the other members as the record has them.
import { describe, expect, it } from 'vitest';
import { heardRecently, NODE_STATUS_STATES, startNode, statusOf } from '../../../src/core/cluster/node.js';
import { makeConfig } from '../../sim/config.js';

const cfg = makeConfig({ nodes: 3, resources: 1 });
const failure = cfg.timing.failureTimeoutMs;

describe('status: node states', () => {
  it('a peer is heard recently strictly within the failure timeout; this node always is', () => {
    const st = startNode(cfg, 'n1', null, 0, 1);
    expect(heardRecently(st, 'n1', 1_000_000)).toBe(true);
    expect(heardRecently(st, 'n2', 0)).toBe(false);
    st.heard.set('n2', 100);
    expect(heardRecently(st, 'n2', 100 + failure - 1)).toBe(true);
    expect(heardRecently(st, 'n2', 100 + failure)).toBe(false);
  });

  it('a follower shows itself and its heard coordinator online, the other members online as recorded, nothing when it follows none', () => {
    const st = startNode(cfg, 'n1', null, 0, 1);
    const states = (now: number) => Object.fromEntries(statusOf(st, now).nodes.map((n) => [n.name, n.state]));
    expect(states(10)).toEqual({ n1: 'online', n2: 'pending', n3: 'pending' });
    st.leader = 'n2';
    st.heard.set('n2', 10);
    expect(states(20)).toEqual({ n1: 'online', n2: 'online', n3: 'online' });
    expect(states(10 + failure)).toEqual({ n1: 'online', n2: 'pending', n3: 'pending' });
    for (const n of statusOf(st, 20).nodes) expect(NODE_STATUS_STATES).toContain(n.state);
  });
});
