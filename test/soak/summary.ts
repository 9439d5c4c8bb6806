// The soak's figures and its verdict, from the per-node samples alone (pure: no I/O, so the
// growth rules are unit-tested in summary.test.ts). A node's agent is a new process after each
// power-on: RSS and descriptors are judged per agent lifetime, on the samples taken after the
// lifetime's warm-up; the state directory and the log files outlive the process and are judged
// over the whole run.

/** One reading of one node, taken from outside (/proc and the node's files). */
export interface Sample {
  /** ms since the soak started */
  readonly t: number;
  readonly node: string;
  /** the agent process (a new pid after each power-on) */
  readonly pid: number;
  /** ms since this pid was first seen */
  readonly age: number;
  readonly rssKiB: number;
  readonly fds: number;
  /** apparent size of everything under the agent's --state-dir */
  readonly stateDirBytes: number;
  /** of which the replicated log's segments, the snapshot, and the recorded scheduler inputs */
  readonly logSegBytes: number;
  readonly snapshotBytes: number;
  readonly inputsBytes: number;
  readonly inputsCount: number;
  /** the agent's stdout+stderr (pino JSON lines), appended across its restarts */
  readonly agentLogBytes: number;
  /** the node's systemd --user (undefined when not found) */
  readonly systemdPid?: number;
  readonly systemdRssKiB?: number;
  readonly systemdFds?: number;
  readonly systemdLogBytes?: number;
  /** taken right after a failover settled (every node up, one copy): the equal-phase series */
  readonly settled: boolean;
}

export interface Bounds {
  /** a long-lived agent's RSS may grow at most this much (MB) from the middle to the last third of its life after warm-up (lateGrowth) */
  readonly rssGrowthMb: number;
  /** no agent's RSS above this (MB) */
  readonly rssMaxMb: number;
  /** a long-lived agent's descriptors at settled phases: last minus first at most this */
  readonly fdGrowth: number;
  /** the state directory at most this big (KB) */
  readonly stateDirMaxKb: number;
  /** each node's agent log grows at most this fast (KB per hour), failovers included */
  readonly logKbPerHour: number;
  /** an agent counts as long-lived (its growth judged) after this much life past its warm-up (ms) */
  readonly longLivedMs: number;
  /** samples younger than this (ms of an agent's life) are warm-up: V8 compiles and sizes its heap */
  readonly warmupMs: number;
}

interface Span {
  first: number;
  last: number;
  max: number;
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const span = (xs: readonly number[], d = 1): Span | null => (xs.length === 0 ? null : { first: round(xs[0]!, d), last: round(xs.at(-1)!, d), max: round(Math.max(...xs), d) });

/** Least-squares slope of y over t, in y per hour (t in ms); null under two points. */
export function slopePerHour(points: readonly { t: number; y: number }[]): number | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 3_600_000;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Whether a series has levelled off: the median of its last third minus the median of its middle
 * third. Not first-to-last: V8's old generation fills for many minutes before its first full
 * collection (RSS rises, then drops when it comes), so the first third is still warm-up, and a
 * single end sample says more about where the sawtooth stands than about a trend. A leak of r MB a
 * minute shows as about r times a third of the window.
 */
export function lateGrowth(ys: readonly number[]): number {
  if (ys.length < 6) return ys.length < 2 ? 0 : ys.at(-1)! - ys[0]!;
  const k = Math.floor(ys.length / 3);
  return median(ys.slice(-k)) - median(ys.slice(ys.length - 2 * k, ys.length - k));
}

export interface Lifetime {
  readonly pid: number;
  readonly from_s: number;
  readonly to_s: number;
  readonly samples: number;
  readonly rss_mb: Span | null;
  /** after warm-up (as fds): lateGrowth and the least-squares slope */
  readonly rss_growth_mb: number | null;
  readonly rss_slope_mb_per_h: number | null;
  readonly fds: Span | null;
  /** descriptors right after each failover settled (every node up, one copy): equal phases of this lifetime */
  readonly fds_settled: number[];
  readonly long_lived: boolean;
}

export interface NodeSummary {
  readonly agent_lifetimes: number;
  /** the node's longest-lived agent, after its warm-up */
  readonly rss_mb: (Span & { growth: number | null; slope_mb_per_h: number | null }) | null;
  readonly fds: Span | null;
  /** the longest-lived agent at the equal phases (sampled right after each failover settled) */
  readonly fds_settled: number[];
  readonly rss_mb_settled: number[];
  readonly state_dir_kb: Span | null;
  readonly state_dir_parts_kb: { log_segments: Span | null; snapshot: Span | null; scheduler_inputs: Span | null; scheduler_inputs_count: Span | null };
  readonly log_kb: (Span & { kb_per_h: number | null }) | null;
  readonly systemd: { rss_mb: Span | null; fds: Span | null; log_kb: Span | null } | null;
  readonly lifetimes: Lifetime[];
}

export interface Verdict {
  readonly ok: boolean;
  readonly failures: string[];
  /** bounds that had nothing to judge (e.g. no agent lived long enough): said, not passed silently */
  readonly unjudged: string[];
}

export function summarizeNode(samples: readonly Sample[], bounds: Bounds): NodeSummary {
  const pids = [...new Set(samples.map((s) => s.pid))];
  const lifetimes = pids.map((pid): Lifetime => {
    const all = samples.filter((s) => s.pid === pid);
    const warm = all.filter((s) => s.age >= bounds.warmupMs);
    const rss = warm.map((s) => s.rssKiB / 1024);
    const longLived = warm.length >= 2 && warm.at(-1)!.t - warm[0]!.t >= bounds.longLivedMs;
    return {
      pid,
      from_s: Math.round(all[0]!.t / 1000),
      to_s: Math.round(all.at(-1)!.t / 1000),
      samples: all.length,
      rss_mb: span(all.map((s) => s.rssKiB / 1024)),
      rss_growth_mb: warm.length >= 2 ? round(lateGrowth(rss)) : null,
      rss_slope_mb_per_h: warm.length >= 2 ? round(slopePerHour(warm.map((s) => ({ t: s.t, y: s.rssKiB / 1024 })))!) : null,
      fds: span(warm.map((s) => s.fds), 0),
      fds_settled: all.filter((s) => s.settled).map((s) => s.fds),
      long_lived: longLived,
    };
  });
  const longest = [...pids].sort((a, b) => lifeMs(samples, b) - lifeMs(samples, a))[0];
  const lw = samples.filter((s) => s.pid === longest && s.age >= bounds.warmupMs);
  const lwRss = lw.map((s) => s.rssKiB / 1024);
  const settled = samples.filter((s) => s.settled && s.pid === longest);
  const logPts = samples.map((s) => ({ t: s.t, y: s.agentLogBytes / 1024 }));
  const logSpan = span(logPts.map((p) => p.y));
  const sd = samples.filter((s) => s.systemdRssKiB !== undefined);
  return {
    agent_lifetimes: pids.length,
    rss_mb: lw.length === 0 ? null : { ...span(lwRss)!, growth: lw.length >= 2 ? round(lateGrowth(lwRss)) : null, slope_mb_per_h: lw.length >= 2 ? round(slopePerHour(lw.map((s) => ({ t: s.t, y: s.rssKiB / 1024 })))!) : null },
    fds: span(lw.map((s) => s.fds), 0),
    fds_settled: settled.map((s) => s.fds),
    rss_mb_settled: settled.map((s) => round(s.rssKiB / 1024)),
    state_dir_kb: span(samples.map((s) => s.stateDirBytes / 1024)),
    state_dir_parts_kb: {
      log_segments: span(samples.map((s) => s.logSegBytes / 1024)),
      snapshot: span(samples.map((s) => s.snapshotBytes / 1024)),
      scheduler_inputs: span(samples.map((s) => s.inputsBytes / 1024)),
      scheduler_inputs_count: span(samples.map((s) => s.inputsCount), 0),
    },
    log_kb: logSpan === null ? null : { ...logSpan, kb_per_h: round(slopePerHour(logPts) ?? 0, 0) },
    systemd: sd.length === 0 ? null : { rss_mb: span(sd.map((s) => s.systemdRssKiB! / 1024)), fds: span(sd.map((s) => s.systemdFds!), 0), log_kb: span(sd.map((s) => (s.systemdLogBytes ?? 0) / 1024)) },
    lifetimes,
  };
}

function lifeMs(samples: readonly Sample[], pid: number): number {
  const mine = samples.filter((s) => s.pid === pid);
  return mine.length === 0 ? 0 : mine.at(-1)!.t - mine[0]!.t;
}

/** Every bound checked against every node; a bound with nothing to judge is listed as unjudged. */
export function verdict(nodes: Readonly<Record<string, NodeSummary>>, bounds: Bounds): Verdict {
  const failures: string[] = [];
  const unjudged: string[] = [];
  let longLived = 0;
  for (const [name, n] of Object.entries(nodes)) {
    for (const l of n.lifetimes) {
      if (l.rss_mb && l.rss_mb.max > bounds.rssMaxMb) failures.push(`${name}: agent pid ${l.pid} RSS ${l.rss_mb.max} MB above ${bounds.rssMaxMb} MB`);
      if (!l.long_lived) continue;
      longLived++;
      if (l.rss_growth_mb !== null && l.rss_growth_mb > bounds.rssGrowthMb) failures.push(`${name}: agent pid ${l.pid} RSS grew ${l.rss_growth_mb} MB from the middle to the last third of its life after warm-up (alive ${l.from_s}–${l.to_s} s), bound ${bounds.rssGrowthMb} MB`);
      if (l.fds && l.fds.last - l.fds.first > bounds.fdGrowth) failures.push(`${name}: agent pid ${l.pid} descriptors ${l.fds.first} → ${l.fds.last}, bound +${bounds.fdGrowth}`);
      const fs = l.fds_settled;
      if (fs.length >= 2 && Math.max(...fs) - fs[0]! > bounds.fdGrowth) failures.push(`${name}: agent pid ${l.pid} descriptors at settled phases ${fs[0]} → max ${Math.max(...fs)}, bound +${bounds.fdGrowth}`);
    }
    if (n.state_dir_kb && n.state_dir_kb.max > bounds.stateDirMaxKb) failures.push(`${name}: state directory ${n.state_dir_kb.max} KB above ${bounds.stateDirMaxKb} KB`);
    if (n.log_kb?.kb_per_h != null && n.log_kb.kb_per_h > bounds.logKbPerHour) failures.push(`${name}: agent log grows ${n.log_kb.kb_per_h} KB/h, bound ${bounds.logKbPerHour} KB/h`);
  }
  if (longLived === 0) unjudged.push(`RSS and descriptor growth: no agent lived ${Math.round(bounds.longLivedMs / 60_000)} min past its ${Math.round(bounds.warmupMs / 60_000)} min warm-up (run longer)`);
  return { ok: failures.length === 0, failures, unjudged };
}
