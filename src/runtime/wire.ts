// The core's messages (src/core/cluster/messages.ts) on the mesh envelope (proto tsha.mesh.v1).
//
// Pre-vote and vote requests/responses have bodies of their own in the envelope and map field for
// field (the term travels in the envelope header). So do AppendEntries and AppendEntriesResponse,
// the messages an idle cluster sends every heartbeat, with each log entry's command as JSON in
// LogEntry.data; but only to a peer whose messages say it reads them (Envelope.features): to any
// other, and always for InstallSnapshot and Propose, a message travels in the envelope's `core`
// body, `kind` = the message type and `data` = the JSON of the message, which every agent reads.
//
// Inbound messages come from the network and are checked here before the core sees them: a value
// that does not have the shape the core expects is refused with a MalformedMessageError (the
// runtime drops it and counts it as `malformed`), never passed on.

import { checkCommand, type Command } from '../core/cluster/commands.js';
import { checkClusterState } from '../core/cluster/state-check.js';
import type { Entry, Message, NodeReport, WitnessSight as CoreSight } from '../core/cluster/messages.js';
import type { ActionStatus } from '../core/scheduler/types.js';
import type { Envelope, OutboundMessage } from '../ports/transport.js';
import { decodeJson, encodeJson, type EntryKind, type LogEntry, type NodeReport as WireReport, type WitnessSight as WireSight } from '../ports/mesh-messages.js';
import { completeClusterState } from './stored-state.js';

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
  constructor(
    readonly from: string,
    readonly detail: string,
  ) {
    super(`malformed message from ${from}: ${detail}`);
  }
}

const CORE_KINDS = new Set(['AppendEntries', 'AppendEntriesResponse', 'InstallSnapshot', 'Propose']);

/**
 * The envelope body for a core message. `typed`: the peer reads typed appendEntries and
 * appendEntriesResponse bodies (FEATURE_TYPED_APPEND in its messages' features); without it those
 * two go as `core` JSON, which agents older than the bit read.
 */
export function toOutbound(msg: Message, typed: boolean): OutboundMessage {
  switch (msg.type) {
    case 'AppendEntries':
      if (!typed) break;
      return {
        term: msg.term, body: 'appendEntries',
        appendEntries: {
          prevLogTerm: msg.prevLogTerm, prevLogIndex: msg.prevLogIndex, entries: msg.entries.map(toLogEntry), leaderCommit: msg.leaderCommit,
          sentAtMs: msg.sentAt, lease: msg.lease && { atMs: msg.lease.at, incarnation: msg.lease.incarnation }, peerIncluded: msg.peerIncluded,
          witness: msg.witness ? toWireSight(msg.witness) : null,
        },
      };
    case 'AppendEntriesResponse':
      if (!typed) break;
      return {
        term: msg.term, body: 'appendEntriesResponse',
        appendEntriesResponse: {
          success: msg.success, matchIndex: msg.matchIndex, conflictTerm: 0, conflictIndex: 0, lastLogIndex: 0,
          echoMs: msg.echo, nodeTimeMs: msg.nodeTime, incarnation: msg.incarnation, report: msg.report && toWireReport(msg.report),
        },
      };
    case 'PreVoteRequest':
      return { term: msg.term, body: 'preVoteRequest', preVoteRequest: { lastLogIndex: msg.lastLogIndex, lastLogTerm: msg.lastLogTerm } };
    case 'PreVoteResponse':
      return { term: msg.term, body: 'preVoteResponse', preVoteResponse: { granted: msg.granted, reason: '' } };
    case 'VoteRequest':
      return { term: msg.term, body: 'voteRequest', voteRequest: { lastLogIndex: msg.lastLogIndex, lastLogTerm: msg.lastLogTerm, transfer: false } };
    case 'VoteResponse':
      return { term: msg.term, body: 'voteResponse', voteResponse: { granted: msg.granted, reason: '' } };
  }
  return { term: msg.term, body: 'core', core: { kind: msg.type, data: encodeJson(msg) } };
}

/** The core's report on the wire; a steady one keeps the shape the short codec path writes. */
function toWireReport(r: NodeReport): WireReport {
  return {
    applied: r.applied, active: r.active, promoted: r.promoted, failed: r.failed, busy: r.busy,
    run: r.run && { transition: r.run.transition, results: r.run.results.map((x) => ({ action: x.action, status: x.status, exitCode: x.exitCode ?? -1, reason: x.reason ?? '' })) },
    failures: r.failures,
    witness: r.witness ? toWireSight(r.witness) : null,
  };
}

function toWireSight(w: CoreSight): WireSight {
  return { reachable: w.reachable, heard: w.lastContactAgeMs !== null, lastContactAgeMs: w.lastContactAgeMs ?? 0, term: w.term };
}

function fromWireSight(w: WireSight): CoreSight {
  return { reachable: w.reachable, lastContactAgeMs: w.heard ? w.lastContactAgeMs : null, term: w.term };
}

/** Either form of a witness sight (the core's JSON: lastContactAgeMs null when never heard; the wire's: a heard flag). */
function checkSight(w: unknown): boolean {
  return isObj(w) && typeof w.reachable === 'boolean' && isCount(w.term) && (w.lastContactAgeMs === null || isCount(w.lastContactAgeMs));
}

/** The wire's report as the core reads it (checked by checkReport first). */
function fromWireReport(r: WireReport): NodeReport {
  return {
    applied: r.applied, active: r.active, promoted: r.promoted, failed: r.failed, busy: r.busy,
    run: r.run && {
      transition: r.run.transition,
      results: r.run.results.map((x) => ({
        action: x.action, status: x.status as ActionStatus, ...(x.exitCode >= 0 ? { exitCode: x.exitCode } : {}), ...(x.reason ? { reason: x.reason } : {}),
      })),
    },
    failures: r.failures.map((f) => ({ ...f, status: f.status as ActionStatus })),
    ...(r.witness ? { witness: fromWireSight(r.witness) } : {}),
  };
}

function entryKind(cmd: Command): EntryKind {
  return cmd.type === 'noop' ? 'noop' : cmd.type === 'voters' ? 'config' : 'normal';
}

function toLogEntry(e: Entry): LogEntry {
  return { term: e.term, index: e.index, data: encodeJson(e.cmd), kind: entryKind(e.cmd) };
}

/** Envelope → core message; throws MalformedMessageError for anything the core must not see. */
export function fromEnvelope(env: Envelope): Message {
  const bad = (detail: string): never => {
    throw new MalformedMessageError(env.from, detail);
  };
  const term = env.term;
  if (!isCount(term)) bad(`term ${String(term)} is not a non-negative integer`);
  switch (env.body) {
    case 'preVoteRequest': {
      const b = env.preVoteRequest;
      if (!isCount(b.lastLogIndex) || !isCount(b.lastLogTerm)) bad('preVoteRequest: bad log position');
      return { type: 'PreVoteRequest', term, lastLogIndex: b.lastLogIndex, lastLogTerm: b.lastLogTerm };
    }
    case 'preVoteResponse':
      return { type: 'PreVoteResponse', term, granted: env.preVoteResponse.granted === true };
    case 'voteRequest': {
      const b = env.voteRequest;
      if (!isCount(b.lastLogIndex) || !isCount(b.lastLogTerm)) bad('voteRequest: bad log position');
      return { type: 'VoteRequest', term, lastLogIndex: b.lastLogIndex, lastLogTerm: b.lastLogTerm };
    }
    case 'voteResponse':
      return { type: 'VoteResponse', term, granted: env.voteResponse.granted === true };
    case 'appendEntries': {
      const b = env.appendEntries;
      if (!isCount(b.prevLogIndex) || !isCount(b.prevLogTerm) || !isCount(b.leaderCommit) || !isNum(b.sentAtMs)) bad('appendEntries: bad header fields');
      const l = b.lease;
      if (l !== null && !(isNum(l.atMs) && isNum(l.incarnation))) bad('appendEntries: bad lease');
      if (b.witness !== null && !checkSight(b.witness)) bad('appendEntries: bad witness');
      const entries: Entry[] = [];
      for (const e of b.entries) {
        if (!isCount(e.index) || !isCount(e.term)) bad('appendEntries: bad entry');
        let cmd: unknown;
        try {
          cmd = decodeJson(e.data);
        } catch (err) {
          bad(`appendEntries: entry ${e.index} is not JSON (${err instanceof Error ? err.message : String(err)})`);
        }
        const p = checkCommand(cmd);
        if (p) bad(`appendEntries: entry ${e.index}: ${p}`);
        if (entryKind(cmd as Command) !== e.kind) bad(`appendEntries: entry ${e.index}: kind ${e.kind} for a ${(cmd as Command).type} command`);
        entries.push({ index: e.index, term: e.term, cmd: cmd as Command });
      }
      return {
        type: 'AppendEntries', term, prevLogIndex: b.prevLogIndex, prevLogTerm: b.prevLogTerm, entries, leaderCommit: b.leaderCommit,
        sentAt: b.sentAtMs, lease: l && { at: l.atMs, incarnation: l.incarnation }, peerIncluded: b.peerIncluded === true,
        ...(b.witness ? { witness: fromWireSight(b.witness) } : {}),
      };
    }
    case 'appendEntriesResponse': {
      const b = env.appendEntriesResponse;
      if (!isCount(b.matchIndex) || !isNum(b.echoMs) || !isNum(b.nodeTimeMs) || !isNum(b.incarnation)) bad('appendEntriesResponse: bad fields');
      const r = b.report;
      let report: NodeReport | null = null;
      if (r !== null) {
        const problem = checkReport(r);
        if (problem) bad(`appendEntriesResponse: ${problem}`);
        report = fromWireReport(r);
      }
      return {
        type: 'AppendEntriesResponse', term, success: b.success === true, matchIndex: b.matchIndex, echo: b.echoMs, nodeTime: b.nodeTimeMs,
        incarnation: b.incarnation, report,
      };
    }
    case 'core': {
      const kind = env.core.kind;
      if (!CORE_KINDS.has(kind)) bad(`core: unknown kind ${JSON.stringify(kind)}`);
      let value: unknown;
      try {
        value = decodeJson(env.core.data);
      } catch (e) {
        bad(`core ${kind}: not JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const problem = checkCoreMessage(kind, value);
      if (problem) bad(`core ${kind}: ${problem}`);
      const msg = value as Message;
      if (msg.term !== term) bad(`core ${kind}: term ${msg.term} differs from the envelope's ${term}`);
      if (msg.type === 'InstallSnapshot') msg.snapshot = { ...msg.snapshot, state: completeClusterState(msg.snapshot.state) };
      return msg;
    }
    default:
      return bad(`body ${JSON.stringify(env.body)} is not used by this agent`);
  }
}

// ---- shape checks (what the core dereferences: commands and cluster states deeply, by the core's own tables) ----

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isStr(v: unknown): v is string {
  return typeof v === 'string';
}

function checkEntries(v: unknown): string | null {
  if (!Array.isArray(v)) return 'entries is not a list';
  for (const e of v) {
    if (!isObj(e) || !isCount(e.index) || !isCount(e.term)) return 'bad entry';
    const p = checkCommand(e.cmd);
    if (p) return `entry ${String(e.index)}: ${p}`;
  }
  return null;
}

const STATUSES = new Set(['ok', 'error', 'errorHard', 'errorFatal', 'timeout', 'notInstalled']);
const isStrs = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

/** A NodeReport as the core reads it (either form of AppendEntriesResponse carries one). */
function checkReport(r: unknown): string | null {
  if (!isObj(r) || !isCount(r.applied) || !isStrs(r.active) || !isStrs(r.promoted) || !isStrs(r.failed) || typeof r.busy !== 'boolean') return 'bad report';
  if (r.run !== null && r.run !== undefined) {
    const run = r.run;
    if (!isObj(run) || !isCount(run.transition) || !Array.isArray(run.results)) return 'bad report run';
    for (const x of run.results) {
      if (!isObj(x) || !isCount(x.action) || !STATUSES.has(x.status as string) || (x.exitCode !== undefined && !isNum(x.exitCode)) || (x.reason !== undefined && !isStr(x.reason))) return 'bad report run result';
    }
  }
  if (r.witness !== null && r.witness !== undefined && !checkSight(r.witness)) return 'bad report witness';
  if (!Array.isArray(r.failures)) return 'bad report failures';
  for (const f of r.failures) {
    if (!isObj(f) || !isCount(f.seq) || !isStr(f.resource) || !isStr(f.operation) || !isCount(f.intervalMs) || !STATUSES.has(f.status as string) || !isNum(f.exitCode) || !isStr(f.reason)) {
      return 'bad report failure';
    }
  }
  return null;
}

function checkCoreMessage(kind: string, m: unknown): string | null {
  if (!isObj(m)) return 'not an object';
  if (m.type !== kind) return `type ${JSON.stringify(m.type)} is not the kind`;
  if (!isCount(m.term)) return 'bad term';
  switch (kind) {
    case 'AppendEntries': {
      if (!isCount(m.prevLogIndex) || !isCount(m.prevLogTerm) || !isCount(m.leaderCommit) || !isNum(m.sentAt)) return 'bad header fields';
      if (typeof m.peerIncluded !== 'boolean') return 'bad peerIncluded';
      if (m.lease !== null && !(isObj(m.lease) && isNum(m.lease.at) && isNum(m.lease.incarnation))) return 'bad lease';
      return checkEntries(m.entries);
    }
    case 'AppendEntriesResponse': {
      if (typeof m.success !== 'boolean' || !isCount(m.matchIndex) || !isNum(m.echo) || !isNum(m.nodeTime) || !isNum(m.incarnation)) return 'bad fields';
      return m.report === null ? null : checkReport(m.report);
    }
    case 'InstallSnapshot': {
      if (!isNum(m.sentAt)) return 'bad sentAt';
      const s = m.snapshot;
      if (!isObj(s) || !isCount(s.index) || !isCount(s.term)) return 'bad snapshot';
      return checkClusterState(s.state);
    }
    case 'Propose': {
      if (!Array.isArray(m.cmds)) return 'cmds is not a list';
      for (const c of m.cmds) {
        const p = checkCommand(c);
        if (p) return p;
      }
      return null;
    }
    default:
      return 'unknown kind';
  }
}
