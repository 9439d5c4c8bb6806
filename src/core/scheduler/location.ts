// Stage 2: apply location constraints and bans (Pacemaker's apply_node_criteria). Each unit gets
// a base score per node; a -INFINITY on a group member cuts the group's chain on that node (the
// members before it may still run there). Constraints with role "promoted" feed promotion scores.

import type { LocationConstraint, ResourceId } from '../../config/types.js';
import { parseRuleNumber, ruleTypeOf } from '../../config/types.js';
import { addScores, INFINITY } from './scores.js';
import type { WNode, WorkingSet } from './working-set.js';

/**
 * Compare a node attribute with a rule's value: -1, 0 or 1. Type "number" compares numerically
 * when both sides are numbers (Pacemaker's type="number"/"integer"), and falls back to comparing
 * strings otherwise, as Pacemaker does; the string ordering is case-insensitive like its strcasecmp.
 */
function compareRuleValues(value: string, ruleValue: string, type: 'string' | 'number'): number {
  if (type === 'number') {
    const a = parseRuleNumber(value), b = parseRuleNumber(ruleValue);
    if (a !== null && b !== null) return a < b ? -1 : a > b ? 1 : 0;
  }
  const a = value.toLowerCase(), b = ruleValue.toLowerCase();
  return a < b ? -1 : a > b ? 1 : 0;
}

export function ruleMatches(rule: NonNullable<LocationConstraint['rule']>, node: WNode): boolean {
  const value = rule.attribute === '#uname' ? node.name : node.attributes[rule.attribute];
  const type = ruleTypeOf(rule);
  switch (rule.op) {
    // eq and ne on strings stay exact (case-sensitive); see docs/scheduler.md.
    case 'eq': return value !== undefined && (type === 'string' ? value === rule.value : compareRuleValues(value, rule.value!, type) === 0);
    case 'ne': return type === 'string' || value === undefined ? value !== rule.value : compareRuleValues(value, rule.value!, type) !== 0;
    case 'gt': return value !== undefined && compareRuleValues(value, rule.value!, type) > 0;
    case 'gte': return value !== undefined && compareRuleValues(value, rule.value!, type) >= 0;
    case 'lt': return value !== undefined && compareRuleValues(value, rule.value!, type) < 0;
    case 'lte': return value !== undefined && compareRuleValues(value, rule.value!, type) <= 0;
    case 'defined': return value !== undefined;
    case 'not_defined': return value === undefined;
  }
}

function applyScore(ws: WorkingSet, resource: ResourceId, nodeIdx: number, score: number, promoted: boolean): void {
  const unit = ws.unitOf.get(resource);
  if (!unit) return;
  if (promoted) {
    if (unit.clone?.promotable) unit.promotion[nodeIdx] = addScores(unit.promotion[nodeIdx]!, score);
    return;
  }
  const pos = ws.posOf.get(resource) ?? 0;
  if (pos > 0 && score <= -INFINITY) {
    unit.cut[nodeIdx] = Math.min(unit.cut[nodeIdx]!, pos);
    return;
  }
  unit.base[nodeIdx] = addScores(unit.base[nodeIdx]!, score);
  if (unit.base[nodeIdx]! <= -INFINITY) unit.cut[nodeIdx] = 0;
}

export function applyLocation(ws: WorkingSet): void {
  for (const c of ws.config.constraints.location) {
    const promoted = c.role === 'promoted';
    if (c.node !== null) {
      const idx = ws.nodeIndex.get(c.node);
      if (idx !== undefined) applyScore(ws, c.resource, idx, c.score, promoted);
    } else if (c.rule !== null) {
      for (const n of ws.nodes) if (ruleMatches(c.rule, n)) applyScore(ws, c.resource, n.index, c.score, promoted);
    }
  }
  for (const b of ws.snapshot.bans) {
    const idx = ws.nodeIndex.get(b.node);
    if (idx !== undefined) applyScore(ws, b.resource, idx, b.score, false);
  }
  // Promotion preferences published by the resource agents (e.g. DRBD's UpToDate peer) as node
  // attributes "promotion-<child>", like Pacemaker's master-<rsc> attributes.
  for (const unit of ws.units) {
    if (!unit.clone?.promotable) continue;
    const attr = `promotion-${unit.clone.child}`;
    for (const n of ws.nodes) {
      const v = n.attributes[attr];
      if (v === undefined) continue;
      const num = v === 'INFINITY' ? INFINITY : v === '-INFINITY' ? -INFINITY : Number(v);
      if (Number.isFinite(num)) unit.promotion[n.index] = addScores(unit.promotion[n.index]!, num);
    }
  }
}
