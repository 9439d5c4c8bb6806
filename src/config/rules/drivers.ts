// Drivers: a resource whose kind or storage this build cannot carry out is refused, never accepted
// to fail at run time. Which kinds and storage types have a driver is src/config/drivers.ts.

import { kindHasDriver, kindNotBuilt, storageHasDriver, storageNotBuilt } from '../drivers.js';
import { joinPath } from '../issues.js';
import type { RawPrimitive } from '../options.js';
import type { ResourceKind } from '../types.js';
import type { Model } from './model.js';

export function checkDrivers({ ctx }: Model, id: string, r: RawPrimitive): void {
  const base = joinPath('resources', id);
  const kind = r.kind as ResourceKind;
  if (!kindHasDriver(kind)) ctx.error(joinPath(base, 'kind'), kindNotBuilt(kind));
  if (r.storage && !storageHasDriver(r.storage.type)) ctx.error(joinPath(base, 'storage'), storageNotBuilt(r.storage.type));
}
