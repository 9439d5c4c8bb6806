// /proc readings the benchmarks share.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** utime+stime in clock ticks, and VmRSS in KiB, of one process. */
export function procUsage(pid: number): { ticks: number; rssKiB: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]);
  const rss = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { ticks, rssKiB: Number(rss?.[1] ?? NaN) };
}

/** Voluntary context switches of a process's main thread: how often it went to sleep, i.e. its wake-ups. */
export function mainThreadWakeups(pid: number): number {
  const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

/** Clock ticks per second (utime and stime are counted in them). */
export function clockTicks(): number {
  return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
}
