// Cross-field rules: what the options table alone cannot say. Each rule is a named function over
// the structurally checked configuration; it reports to the sink and never throws. A rule that
// needs a section skips it when that section is broken (its own errors are already reported), and
// references are resolved against every name the file declares, valid or not, so one broken
// resource does not cause "no resource named …" noise elsewhere.

import type { CheckContext } from '../spec.js';
import { type Declared, type Model, type Sections, buildModel, valid } from './model.js';
import { checkTiming } from './timing.js';
import { checkAddresses, checkUniqueIds } from './nodes.js';
import { checkFencing, checkQuorum, warnAboutFencing } from './fencing.js';
import { checkClones, checkMembership, checkResourceDefaults } from './membership.js';
import { checkPrimitive } from './primitives.js';
import { checkDrivers } from './drivers.js';
import { checkConstraints } from './constraints.js';
import { checkColocationCycles, checkOrderCycles } from './cycles.js';
import { checkVirtualIpAddresses } from './virtual-ip.js';
import { checkSharedStorage, checkStatefulWithoutFencing } from './storage.js';

export { cloneOf, type Model, type Sections } from './model.js';

export function applyRules(s: Sections, ctx: CheckContext): Model {
  const m = buildModel(s, ctx);
  checkTiming(m);
  checkAddresses(m);
  checkUniqueIds(m);
  checkFencing(m);
  checkQuorum(m);
  checkMembership(m);
  for (const [id, r] of Object.entries(valid(s.resources) ? s.resources : {})) {
    checkPrimitive(m, id, r);
    checkDrivers(m, id, r);
  }
  for (const [kind, section] of [
    ['resources', s.resources],
    ['groups', s.groups],
    ['clones', s.clones],
  ] as const) {
    if (!valid(section)) continue;
    for (const [id, r] of Object.entries(section as Record<string, Declared>)) checkConstraints(m, `${kind}`, id, r);
  }
  checkClones(m);
  checkVirtualIpAddresses(m);
  checkSharedStorage(m);
  checkStatefulWithoutFencing(m);
  checkResourceDefaults(m);
  checkOrderCycles(m);
  checkColocationCycles(m);
  warnAboutFencing(m);
  return m;
}
