// A tiny real microVM guest for tests: Debian's kernel (downloaded with apt-get, not installed) and a
// busybox initramfs whose init prints TSHA-MICROVM-READY on the serial console, booted by
// `qemu-system-x86_64 -M microvm -accel tcg`. The guest runs under TCG, QEMU's software emulation,
// because no usable KVM exists on the test machines: that is the only thing here that is not as in
// production (a boot takes 5 to 10 s instead of well under one).
//
// The image is built by the team's recipe, `shared/recipes/microvm-image.sh` beside the repository
// (CI checks out ../shared; $TSHA_SHARED_DIR overrides), which needs only Debian's mirrors (apt-get
// download) and the packages qemu-system-x86 busybox-static cpio. It is built once per recipe
// version under test/.cache/ and shared by every test file of a run: the first file to need it
// builds it under a lock directory, the others wait for its `ready` marker.
//
// One change to the recipe's run.sh, in a copy (run-icount.sh): `-icount shift=auto,sleep=on`, so
// the guest's clock advances with the instructions it executes instead of the host's wall clock.
// Without it, on a loaded host (the test machine runs several suites at once) the guest kernel
// runs too slowly against real time to calibrate its TSC against the PIT ("tsc: Unable to
// calibrate against PIT") and hangs early in boot, never reaching init: seen at load 11-20 on 2
// cores, where the same guest with icount was ready after 13-16 s (6.5 s of CPU time).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What the guest's init prints on its serial console once it is up. */
export const MICROVM_READY = 'TSHA-MICROVM-READY';

export interface MicrovmImage {
  dir: string;
  /** `run-icount.sh SERIAL_FILE`: QEMU in the foreground (an ExecStart), serial console to the file; SIGTERM stops it */
  runSh: string;
}

/** The recipe script: $TSHA_SHARED_DIR, else shared/ beside the repository or beside one of its ancestors (a worktree). */
export function recipeScript(): string | null {
  const candidates: string[] = [];
  if (process.env.TSHA_SHARED_DIR) candidates.push(join(process.env.TSHA_SHARED_DIR, 'recipes/microvm-image.sh'));
  for (let d = resolve(ROOT); ; d = dirname(d)) {
    candidates.push(join(dirname(d), 'shared/recipes/microvm-image.sh'));
    if (dirname(d) === d) break;
  }
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Why a QEMU guest cannot run here, or null when it can. */
export function microvmUnavailable(): string | null {
  const have = (bin: string): boolean => ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].some((d) => existsSync(join(d, bin)));
  for (const [bin, pkg] of [['qemu-system-x86_64', 'qemu-system-x86'], ['busybox', 'busybox-static'], ['cpio', 'cpio'], ['apt-get', 'apt']] as const) {
    if (!have(bin)) return `${bin} is missing (apt-get install ${pkg})`;
  }
  if (!recipeScript()) return 'shared/recipes/microvm-image.sh not found beside the repository (set TSHA_SHARED_DIR)';
  return null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The image, built now unless this run (or an earlier one, same recipe) already has it. */
export async function microvmImage(timeoutMs = 300_000): Promise<MicrovmImage> {
  const script = recipeScript();
  if (!script) throw new Error(microvmUnavailable() ?? 'no recipe');
  const version = createHash('sha256').update(readFileSync(script)).digest('hex').slice(0, 12);
  const dir = join(ROOT, 'test/.cache', `microvm-image-${version}`);
  const lock = `${dir}.lock`;
  const ready = join(dir, 'ready');
  const image = { dir, runSh: join(dir, 'run-icount.sh') };
  const end = Date.now() + timeoutMs;
  mkdirSync(dirname(dir), { recursive: true });
  while (!existsSync(ready)) {
    try {
      mkdirSync(lock);
    } catch {
      // another test file builds it; take over if its process died
      const owner = Number(readFileSafe(join(lock, 'pid')));
      if (owner > 0 && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > end) throw new Error(`microVM image: waited ${timeoutMs} ms for the build under ${lock}`);
      await sleep(500);
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      if (existsSync(ready)) break;
      await execFileP('bash', [script, dir], { timeout: Math.max(1000, end - Date.now()), maxBuffer: 1 << 24 });
      const run = readFileSync(join(dir, 'run.sh'), 'utf8');
      if (!run.includes(' -accel tcg ')) throw new Error(`${join(dir, 'run.sh')}: no "-accel tcg" to add -icount to; the recipe changed`);
      writeFileSync(image.runSh, run.replace(' -accel tcg ', ' -accel tcg -icount shift=auto,sleep=on '), { mode: 0o755 });
      writeFileSync(ready, `${new Date().toISOString()}\n`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return image;
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
