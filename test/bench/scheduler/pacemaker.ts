// The Pacemaker side of the scheduler benchmark: find the tools, calibrate the CIB details that
// depend on the installed version, validate a CIB with crm_verify, time crm_simulate as a
// subprocess, and read which resources it starts.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CibOptions } from './cib.js';

const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of a Pacemaker tool, or null when it is not installed. */
export function findTool(name: 'crm_simulate' | 'crm_verify'): string | null {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), ...SBIN]) {
    if (dir === '') continue;
    const p = join(dir, name);
    const r = spawnSync(p, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return null;
}

export function pacemakerVersion(crmSimulate: string): string {
  const r = spawnSync(crmSimulate, ['--version'], { encoding: 'utf8' });
  return /Pacemaker (\S+)/.exec(r.stdout)?.[1] ?? 'unknown';
}

/**
 * Asks the installed crm_simulate for its feature set and the operation digests of a
 * parameterless ocf:pacemaker:Dummy with the workload's monitor, by simulating one start on a
 * one-node CIB and reading the history it writes. Those digests go into the generated history,
 * so Pacemaker sees an unchanged definition and does not restart everything.
 */
export function calibrate(crmSimulate: string, monitorIntervalMs: number, opTimeoutMs: number): CibOptions {
  const dir = mkdtempSync(join(tmpdir(), 'tsha-bench-cal-'));
  try {
    const input = join(dir, 'cal.xml');
    const output = join(dir, 'cal-out.xml');
    writeFileSync(
      input,
      `<cib have-quorum="1" dc-uuid="1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="cal" class="ocf" provider="pacemaker" type="Dummy">
        <operations><op id="cal-monitor" name="monitor" interval="${monitorIntervalMs / 1000}s" timeout="${opTimeoutMs / 1000}s"/></operations>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status/>
</cib>
`,
    );
    const r = spawnSync(crmSimulate, ['-S', '-x', input, '-u', 'n1', '-O', output], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`crm_simulate calibration failed (exit ${r.status}): ${r.stderr}`);
    const xml = readFileSync(output, 'utf8');
    const attr = (key: string, name: string): string => {
      const m = new RegExp(`<lrm_rsc_op [^>]*operation_key="${key}"[^>]*>`).exec(xml);
      const v = m === null ? undefined : new RegExp(`${name}="([^"]*)"`).exec(m[0])?.[1];
      if (v === undefined) throw new Error(`crm_simulate calibration: no ${name} on ${key} in ${output}`);
      return v;
    };
    return {
      featureSet: attr('cal_start_0', 'crm_feature_set'),
      digestOneShot: attr('cal_start_0', 'op-digest'),
      digestMonitor: attr(`cal_monitor_${monitorIntervalMs}`, 'op-digest'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface VerifyResult {
  ok: boolean;
  ms: number;
  output: string;
}

/** `crm_verify -x FILE`: exit 0 and nothing on stderr (no errors, no warnings) counts as valid. */
export function verifyCib(crmVerify: string, file: string): VerifyResult {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(crmVerify, ['-x', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const output = `${r.stdout}${r.stderr}`.trim();
  return { ok: r.status === 0 && output === '', ms, output };
}

export type CrmMode = '-R' | '-S';

export interface CrmRun {
  /** wall time from spawn to exit, ms; null when it was killed at the timeout */
  ms: number | null;
  exitCode: number | null;
  stdout: string;
}

/**
 * Runs `crm_simulate MODE -x FILE` once and measures its wall time with hrtime, from spawn() to
 * the exit event: process start, reading and schema-checking the CIB, unpacking the status,
 * scheduling, printing the status and transition summary (and for -S, simulating every action
 * through a file-backed CIB and printing the revised status). stdout is drained into memory.
 */
export function runCrmSimulate(crmSimulate: string, mode: CrmMode, file: string, timeoutMs: number): Promise<CrmRun> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const t0 = process.hrtime.bigint();
    const child = spawn(crmSimulate, [mode, '-x', file], { stdio: ['ignore', 'pipe', 'ignore'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      clearTimeout(timer);
      resolve({ ms: timedOut ? null : ms, exitCode: code, stdout: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

export interface TransitionSummary {
  /** one entry per primitive instance Pacemaker starts, as "rsc" (clone instance suffix dropped) */
  starts: string[];
  /** "Start", "Move", "Restart", ... → how many summary lines */
  verbs: Record<string, number>;
}

/**
 * Reads the "Transition Summary" of crm_simulate's text output. Every Start, Move, Recover,
 * Restart, Migrate and Promote-less role change that brings an instance up somewhere counts as
 * one start of that primitive.
 */
export function parseTransitionSummary(stdout: string): TransitionSummary {
  const at = stdout.indexOf('Transition Summary:');
  if (at < 0) throw new Error('crm_simulate output has no "Transition Summary:" section');
  const starts: string[] = [];
  const verbs: Record<string, number> = {};
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^\s+\* (\w+)\s+(\S+)/.exec(line);
    if (m === null) {
      if (line.trim() === '') continue;
      break;
    }
    const verb = m[1]!;
    verbs[verb] = (verbs[verb] ?? 0) + 1;
    if (['Start', 'Move', 'Recover', 'Restart', 'Migrate'].includes(verb)) starts.push(m[2]!.replace(/:\d+$/, ''));
  }
  return { starts, verbs };
}
