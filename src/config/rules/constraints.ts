// Constraints: references, roles and shape of location, colocation and order constraints.

import { joinPath } from '../issues.js';
import { parseRuleNumber, ruleTypeOf, VALUE_RULE_OPS } from '../types.js';
import { type Declared, type Model, cloneOf, describeId, isPromotableClone, refNode, refResource, valid } from './model.js';

export function checkConstraints(m: Model, section: string, id: string, r: Declared): void {
  const { ctx } = m;
  const base = joinPath(section, id);
  const hasAny = r.location.length + r.colocation.length + r.order.length > 0;
  const clone = cloneOf(m, id);
  if (hasAny && clone !== null) {
    ctx.error(base, `has constraints but runs inside clone ${JSON.stringify(clone)}: declare them on the clone`);
    return;
  }
  const promotable = section === 'clones' && isPromotableClone(m, id);
  r.location.forEach((loc, i) => {
    const path = `${joinPath(base, 'location')}[${i}]`;
    if ((loc.node === null) === (loc.rule === null)) ctx.error(path, 'needs exactly one of node and rule');
    if (loc.node !== null) refNode(m, loc.node, joinPath(path, 'node'));
    if (loc.rule) {
      const rulePath = joinPath(path, 'rule');
      const needsValue = VALUE_RULE_OPS.includes(loc.rule.op);
      if (needsValue && loc.rule.value === null) ctx.error(joinPath(rulePath, 'value'), `is required with op ${JSON.stringify(loc.rule.op)}`);
      if (!needsValue && loc.rule.value !== null) ctx.error(joinPath(rulePath, 'value'), `does not apply with op ${JSON.stringify(loc.rule.op)}`);
      if (!needsValue && loc.rule.type !== null) ctx.error(joinPath(rulePath, 'type'), `does not apply with op ${JSON.stringify(loc.rule.op)}`);
      if (needsValue && loc.rule.value !== null && ruleTypeOf({ op: loc.rule.op, ...(loc.rule.type !== null ? { type: loc.rule.type } : {}) }) === 'number'
        && parseRuleNumber(loc.rule.value) === null) {
        ctx.error(joinPath(rulePath, 'value'), `${JSON.stringify(loc.rule.value)} is not a number (op ${JSON.stringify(loc.rule.op)} compares numbers; set type = "string" to compare strings)`);
      }
      if (valid(m.s.nodes) && !Object.values(m.s.nodes).some((n) => Object.hasOwn(n.attributes, loc.rule!.attribute))) {
        ctx.warn(joinPath(joinPath(path, 'rule'), 'attribute'), `no node has attribute ${JSON.stringify(loc.rule.attribute)}`);
      }
    }
    if (loc.role && !promotable) ctx.error(joinPath(path, 'role'), `"promoted" applies to promotable clones only; ${JSON.stringify(id)} is not one`);
  });
  r.colocation.forEach((col, i) => {
    const path = `${joinPath(base, 'colocation')}[${i}]`;
    if (col.with === id) return ctx.error(joinPath(path, 'with'), 'a resource cannot be colocated with itself');
    const ok = refResource(m, col.with, joinPath(path, 'with'));
    if (ok && col.withRole && !isPromotableClone(m, col.with)) {
      ctx.error(joinPath(path, 'withRole'), `"promoted" needs a promotable clone; ${JSON.stringify(col.with)} is not one`);
    }
    if (col.role && !promotable) ctx.error(joinPath(path, 'role'), `"promoted" applies to promotable clones only; ${JSON.stringify(id)} is not one`);
  });
  r.order.forEach((o, i) => {
    const path = `${joinPath(base, 'order')}[${i}]`;
    if ((o.after === null) === (o.before === null)) return ctx.error(path, 'needs exactly one of after and before');
    const other = (o.after ?? o.before)!;
    const key = o.after !== null ? 'after' : 'before';
    if (other === id) return ctx.error(joinPath(path, key), 'a resource cannot be ordered against itself');
    refResource(m, other, joinPath(path, key));
    const first = o.after ?? id;
    const then = o.after !== null ? id : other;
    const thenAction = o.thenAction ?? o.firstAction;
    for (const [who, action, field] of [
      [first, o.firstAction, 'firstAction'],
      [then, thenAction, 'thenAction'],
    ] as const) {
      if ((action === 'promote' || action === 'demote') && describeId(m, who) !== null && !isPromotableClone(m, who)) {
        ctx.error(joinPath(path, field), `${JSON.stringify(action)} needs a promotable clone; ${JSON.stringify(who)} is not one`);
      }
    }
  });
}
