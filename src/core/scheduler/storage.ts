// Stage: storage handover for stateful storage taken from a lost node. Before a survivor may
// write, the dead node must be unable to: it is fenced (fencing.ts), then its hold on the volume
// is revoked, then the survivor becomes the owner, and only then do the filesystem and the
// service start (those follow from the user's order constraints):
//
//   Ceph RBD: fence X → blocklist X's client → break X's exclusive lock → start/promote on Y
//   DRBD:     fence X → outdate X's disk (Y's fence-peer)              → promote on Y
//
// A clean handover (X alive, stops or demotes first) needs none of this: the stop/demote → start/
// promote edges of ordering.ts keep one owner at a time.

import type { WPrim, WorkingSet } from './working-set.js';
import { actionKey } from './working-set.js';
import { opTimeout } from './schedule-actions.js';

export function scheduleStorageHandover(ws: WorkingSet): void {
  for (const unit of ws.units) {
    const def = unit.chain.find((d) => d.storage !== null);
    if (!def || !def.storage) continue;
    const pos = unit.chain.indexOf(def);
    const prims = unit.instances.map((c) => c[pos]!);
    // Lost nodes that held the volume (for promotable clones: held the promoted role).
    const holders = new Set<number>();
    for (const p of prims) {
      for (const c of p.onLost) {
        if (unit.clone?.promotable ? c.role === 'promoted' : true) {
          const n = ws.nodes[c.node]!;
          if (n.fence !== null || n.assumedDown) holders.add(c.node);
        }
      }
    }
    if (holders.size === 0) continue;
    // The new owner's acquiring action: promote on a promotable clone, start otherwise.
    const acquiring: { p: WPrim; key: string; node: string }[] = [];
    for (const p of prims) {
      const t = p.target;
      if (!t || p.pinned !== null) continue;
      const type = unit.clone?.promotable ? 'promote' : 'start';
      if (unit.clone?.promotable && t.role !== 'promoted') continue;
      const key = actionKey(type, p.id, ws.nodes[t.node]!.name);
      if (ws.actions.has(key)) acquiring.push({ p, key, node: ws.nodes[t.node]!.name });
    }
    for (const h of [...holders].sort((a, b) => a - b)) {
      const lost = ws.nodes[h]!;
      for (const a of acquiring) {
        const fenceKey = lost.fence ? actionKey('fence', null, lost.name) : null;
        const steps: string[] = [];
        const add = (type: 'storage_blocklist' | 'storage_break_lock' | 'storage_outdate_peer', reason: string) => {
          const key = `${actionKey(type, a.p.id, a.node)} ${lost.name}`;
          ws.actions.set(key, {
            id: -1, key, type, resource: a.p.id, node: a.node, target: lost.name,
            timeoutMs: opTimeout(a.p, 'start'), reason,
          });
          steps.push(key);
        };
        if (def.storage.type === 'rbd') {
          add('storage_blocklist', `blocklist ${lost.name}'s Ceph client for ${def.storage.pool}/${def.storage.image}`);
          add('storage_break_lock', `break ${lost.name}'s exclusive lock on ${def.storage.pool}/${def.storage.image}`);
        } else {
          add('storage_outdate_peer', `outdate ${lost.name}'s DRBD disk of ${def.storage.resource}`);
        }
        const chain = [...(fenceKey ? [fenceKey] : []), ...steps, a.key];
        for (let i = 0; i + 1 < chain.length; i++) ws.edges.push([chain[i]!, chain[i + 1]!]);
      }
    }
  }
}
