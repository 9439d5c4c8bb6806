// Groups and clones: who contains whom, and clone sizes.

import { didYouMean, joinPath } from '../issues.js';
import { type Model, type Owner, valid } from './model.js';

export function checkMembership(m: Model): void {
  const { s, ctx, owner } = m;
  const claim = (member: string, by: Owner, path: string) => {
    const prior = owner.get(member);
    if (prior) {
      ctx.error(path, `${JSON.stringify(member)} is already in ${prior.type} ${JSON.stringify(prior.id)}: a resource belongs to at most one group or clone`);
      return;
    }
    owner.set(member, by);
  };
  if (valid(s.groups)) {
    for (const [id, g] of Object.entries(s.groups)) {
      const seen = new Set<string>();
      g.members.forEach((member, i) => {
        const path = `${joinPath(joinPath('groups', id), 'members')}[${i}]`;
        if (seen.has(member)) return ctx.error(path, `${JSON.stringify(member)} is listed twice`);
        seen.add(member);
        if (m.groupIds.has(member) || m.cloneIds.has(member)) {
          return ctx.error(path, `${JSON.stringify(member)} is a ${m.groupIds.has(member) ? 'group' : 'clone'}: group members must be primitive resources`);
        }
        if (!m.resourceIds.has(member)) {
          if (m.namesComplete) ctx.error(path, `no resource named ${JSON.stringify(member)}${didYouMean(member, m.resourceIds)}`);
          return;
        }
        claim(member, { type: 'group', id }, path);
      });
    }
  }
  if (valid(s.clones)) {
    for (const [id, c] of Object.entries(s.clones)) {
      const path = joinPath(joinPath('clones', id), 'child');
      if (m.cloneIds.has(c.child)) ctx.error(path, `${JSON.stringify(c.child)} is a clone: a clone cannot be cloned`);
      else if (!m.resourceIds.has(c.child) && !m.groupIds.has(c.child)) {
        if (m.namesComplete) ctx.error(path, `no resource or group named ${JSON.stringify(c.child)}${didYouMean(c.child, [...m.resourceIds, ...m.groupIds])}`);
      } else claim(c.child, { type: 'clone', id }, path);
    }
  }
}



export function checkClones(m: Model): void {
  const { s, ctx } = m;
  if (!valid(s.clones)) return;
  const nodeCount = m.nodeNames.size;
  for (const [id, c] of Object.entries(s.clones)) {
    const base = joinPath('clones', id);
    const max = c.max ?? nodeCount;
    if (c.promotable && c.promotedMax > max) ctx.error(joinPath(base, 'promotedMax'), `must not exceed the number of instances (${max}), got ${c.promotedMax}`);
    if (c.promotable && c.promotedMaxPerNode > c.maxPerNode) {
      ctx.error(joinPath(base, 'promotedMaxPerNode'), `must not exceed maxPerNode (${c.maxPerNode}), got ${c.promotedMaxPerNode}`);
    }
    if (nodeCount > 0 && max > nodeCount * c.maxPerNode) {
      ctx.warn(joinPath(base, 'max'), `${max} instances but at most ${nodeCount * c.maxPerNode} fit (${nodeCount} nodes × maxPerNode ${c.maxPerNode}): the rest stay stopped`);
    }
    if (!c.promotable && (c.meta.targetRole === 'promoted' || c.meta.targetRole === 'unpromoted')) {
      ctx.error(joinPath(joinPath(base, 'meta'), 'targetRole'), `${JSON.stringify(c.meta.targetRole)} applies to promotable clones only`);
    }
  }
}

/** resourceDefaults apply to every resource: a role only promotable clones have cannot be a default. */
export function checkResourceDefaults({ s, ctx }: Model): void {
  if (!valid(s.resourceDefaults)) return;
  const role = s.resourceDefaults.targetRole;
  if (role === 'promoted' || role === 'unpromoted') {
    ctx.error('resourceDefaults.targetRole', `${JSON.stringify(role)} applies to promotable clones only; set it on those clones' meta instead`);
  }
}
