// What the tests of nixos-module/ share: where nixpkgs' lib is, and a unit's [Service] section as
// nixpkgs renders the serviceConfig the module evaluated to.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/** nixpkgs' lib: $TSHA_SHARED_DIR/nixpkgs-lib, else shared/ beside the repository (CI's clean clone) or beside one of its ancestors (a worktree); null when none is there. */
/** Whether nix-instantiate (Debian's nix-bin) is on PATH: the module tests evaluate with it. */
export function hasNixInstantiate(): boolean {
  try {
    execFileSync('nix-instantiate', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

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

/**
 * A whole unit file as nixpkgs writes a service (nixos/lib/systemd-lib.nix): [Unit] with its
 * description, dependencies, start limit and the switch's triggers; [Service] with PATH from
 * `path`, the switch's X-RestartIfChanged/X-StopIfChanged, and serviceConfig. Store paths are
 * moved under `storeRoot` (where a test puts stand-in executables).
 */
export function renderUnit(service: Record<string, unknown>, storeRoot = ''): string {
  const list = (k: string) => (service[k] as string[] | undefined) ?? [];
  const unit = ['[Unit]'];
  if (service.description) unit.push(`Description=${String(service.description)}`);
  for (const [key, opt] of [['Wants', 'wants'], ['Requires', 'requires'], ['After', 'after'], ['Before', 'before'], ['BindsTo', 'bindsTo'], ['PartOf', 'partOf']] as const) {
    if (list(opt).length) unit.push(`${key}=${list(opt).join(' ')}`);
  }
  if (service.startLimitIntervalSec !== undefined) unit.push(`StartLimitIntervalSec=${String(service.startLimitIntervalSec)}`);
  if (list('reloadTriggers').length) unit.push(`X-Reload-Triggers=${list('reloadTriggers').join(' ')}`);
  if (list('restartTriggers').length) unit.push(`X-Restart-Triggers=${list('restartTriggers').join(' ')}`);
  for (const [k, v] of Object.entries((service.unitConfig as Record<string, unknown> | undefined) ?? {})) unit.push(`${k}=${String(v)}`);
  const extra = [`Environment="PATH=${list('path').map((p) => `${p}/bin:${p}/sbin`).join(':')}"`];
  if (service.restartIfChanged === false) extra.push('X-RestartIfChanged=false');
  if (service.stopIfChanged === false) extra.push('X-StopIfChanged=false');
  const text = unit.join('\n') + '\n' + renderServiceSection(service.serviceConfig as Record<string, unknown>, [], extra);
  return storeRoot ? text.replaceAll('/nix/store/', `${storeRoot}/nix/store/`) : text;
}
