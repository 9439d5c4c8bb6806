// The core's messages (src/core/cluster/messages.ts) on the mesh envelope (proto tsha.mesh.v1), one
// body and one encoding for each (WIRE_BODIES below).
//
// Pre-vote and vote requests/responses have bodies of their own in the envelope and map field for
// field (the term travels in the envelope header). So do AppendEntries and AppendEntriesResponse,
// the messages an idle cluster sends every heartbeat, with each log entry's command as JSON in
// LogEntry.data. InstallSnapshot and Propose, rare, travel in the envelope's `core` body, `kind` =
// the message type and `data` = the JSON of the message.
//
// Inbound messages come from the network and are checked here before the core sees them: a value
// that does not have the shape the core expects is refused with a MalformedMessageError (the
// runtime drops it and counts it as `malformed`), never passed on.

import { checkCommand, isActionStatus, type Command } from '../core/cluster/commands.js';
import { checkClusterState } from '../core/cluster/state-check.js';
import type { Entry, Message, NodeReport, WitnessSight as CoreSight } from '../core/cluster/messages.js';
import type { ActionStatus } from '../core/scheduler/types.js';
import type { Envelope, OutboundMessage } from '../ports/transport.js';
import { decodeJson, encodeJson, type EntryKind, type EnvelopeBodyKind, type LogEntry, type NodeReport as WireReport, type WitnessSight as WireSight } from '../ports/mesh-messages.js';
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

/** The envelope body each core message travels in: the one table toOutbound and fromEnvelope follow. */
export const WIRE_BODIES = {
  PreVoteRequest: 'preVoteRequest',
  PreVoteResponse: 'preVoteResponse',
  VoteRequest: 'voteRequest',
  VoteResponse: 'voteResponse',
  AppendEntries: 'appendEntries',
  AppendEntriesResponse: 'appendEntriesResponse',
  InstallSnapshot: 'core',
  Propose: 'core',
} as const satisfies Record<Message['type'], EnvelopeBodyKind>;

type CoreKind = { [T in keyof typeof WIRE_BODIES]: (typeof WIRE_BODIES)[T] extends 'core' ? T : never }[keyof typeof WIRE_BODIES];
type CoreBodyMessage = Extract<Message, { type: CoreKind }>;

const isCoreKind = (kind: string): kind is CoreKind => Object.hasOwn(WIRE_BODIES, kind) && WIRE_BODIES[kind as Message['type']] === 'core';

/** The envelope body for a core message. */
export function toOutbound(msg: Message): OutboundMessage {
  switch (msg.type) {
    case 'AppendEntries':
      return {
        term: msg.term, body: 'appendEntries',
        appendEntries: {
          prevLogTerm: msg.prevLogTerm, prevLogIndex: msg.prevLogIndex, entries: msg.entries.map(toLogEntry), leaderCommit: msg.leaderCommit,
          sentAtMs: msg.sentAt, lease: msg.lease && { atMs: msg.lease.at, incarnation: msg.lease.incarnation }, peerIncluded: msg.peerIncluded,
          witness: msg.witness ? toWireSight(msg.witness) : null,
        },
      };
    case 'AppendEntriesResponse':
      return {
        term: msg.term, body: 'appendEntriesResponse',
        appendEntriesResponse: {
          success: msg.success, matchIndex: msg.matchIndex,
          echoMs: msg.echo, nodeTimeMs: msg.nodeTime, incarnation: msg.incarnation, report: msg.report && toWireReport(msg.report),
        },
      };
    case 'PreVoteRequest':
      return { term: msg.term, body: 'preVoteRequest', preVoteRequest: { lastLogIndex: msg.lastLogIndex, lastLogTerm: msg.lastLogTerm } };
    case 'PreVoteResponse':
      return { term: msg.term, body: 'preVoteResponse', preVoteResponse: { granted: msg.granted } };
    case 'VoteRequest':
      return { term: msg.term, body: 'voteRequest', voteRequest: { lastLogIndex: msg.lastLogIndex, lastLogTerm: msg.lastLogTerm } };
    case 'VoteResponse':
      return { term: msg.term, body: 'voteResponse', voteResponse: { granted: msg.granted } };
    case 'InstallSnapshot':
    case 'Propose':
      return { term: msg.term, body: WIRE_BODIES[msg.type], core: { kind: msg.type, data: encodeJson(msg) } };
  }
}

/** The core's report on the wire. */
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
      if (!isCoreKind(kind)) return bad(`core: unknown kind ${JSON.stringify(kind)}`);
      let value: unknown;
      try {
        value = decodeJson(env.core.data);
      } catch (e) {
        bad(`core ${kind}: not JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const problem = checkCoreMessage(kind, value);
      if (problem) bad(`core ${kind}: ${problem}`);
      const msg = value as CoreBodyMessage;
      if (msg.term !== term) bad(`core ${kind}: term ${msg.term} differs from the envelope's ${term}`);
      if (msg.type === 'InstallSnapshot') msg.snapshot = { ...msg.snapshot, state: completeClusterState(msg.snapshot.state) };
      return msg;
    }
    default:
      // the codec refuses an envelope without a body it reads; this is for one built by other means
      return bad(`body ${JSON.stringify((env as { body?: unknown }).body)} is not one this agent reads`);
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

const isStrs = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

/** A NodeReport as the core reads it. */
function checkReport(r: unknown): string | null {
  if (!isObj(r) || !isCount(r.applied) || !isStrs(r.active) || !isStrs(r.promoted) || !isStrs(r.failed) || typeof r.busy !== 'boolean') return 'bad report';
  if (r.run !== null && r.run !== undefined) {
    const run = r.run;
    if (!isObj(run) || !isCount(run.transition) || !Array.isArray(run.results)) return 'bad report run';
    for (const x of run.results) {
      if (!isObj(x) || !isCount(x.action) || !isActionStatus(x.status) || (x.exitCode !== undefined && !isNum(x.exitCode)) || (x.reason !== undefined && !isStr(x.reason))) return 'bad report run result';
    }
  }
  if (r.witness !== null && r.witness !== undefined && !checkSight(r.witness)) return 'bad report witness';
  if (!Array.isArray(r.failures)) return 'bad report failures';
  for (const f of r.failures) {
    if (!isObj(f) || !isCount(f.seq) || !isStr(f.resource) || !isStr(f.operation) || !isCount(f.intervalMs) || !isActionStatus(f.status) || !isNum(f.exitCode) || !isStr(f.reason)) {
      return 'bad report failure';
    }
  }
  return null;
}

function checkCoreMessage(kind: CoreKind, m: unknown): string | null {
  if (!isObj(m)) return 'not an object';
  if (m.type !== kind) return `type ${JSON.stringify(m.type)} is not the kind`;
  if (!isCount(m.term)) return 'bad term';
  switch (kind) {
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
  }
}
