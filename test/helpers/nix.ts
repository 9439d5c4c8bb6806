// What the tests of nixos-module/ share: where nixpkgs' lib is, and a unit's [Service] section as
// nixpkgs renders the serviceConfig the module evaluated to.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** nixpkgs' lib: $TSHA_SHARED_DIR/nixpkgs-lib, else shared/ beside the repository (CI's clean clone) or beside one of its ancestors (a worktree); null when none is there. */
export function findNixpkgsLib(): { found: string | null; candidates: string[] } {
  const candidates: string[] = [];
  if (process.env.TSHA_SHARED_DIR) candidates.push(join(process.env.TSHA_SHARED_DIR, 'nixpkgs-lib/lib'));
  for (let d = ROOT; ; d = dirname(d)) {
    candidates.push(join(dirname(d), 'shared/nixpkgs-lib/lib'));
    if (dirname(d) === d) break;
  }
  return { found: candidates.find((p) => existsSync(join(p, 'default.nix'))) ?? null, candidates };
}

/** A [Service] section as nixpkgs renders serviceConfig (a list is one line per value, a boolean true/false), without the keys in `skip`, then `extra` lines. */
export function renderServiceSection(serviceConfig: Record<string, unknown>, skip: readonly string[] = [], extra: readonly string[] = []): string {
  const lines = ['[Service]'];
  for (const [k, v] of Object.entries(serviceConfig)) {
    if (skip.includes(k)) continue;
    for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}=${typeof x === 'boolean' ? (x ? 'true' : 'false') : String(x)}`);
  }
  return [...lines, ...extra].join('\n') + '\n';
}
