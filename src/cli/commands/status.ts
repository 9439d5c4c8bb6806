// `tsha status [--output text|json] [--watch] [--socket PATH]`: the cluster as the local agent sees
// it, rendered like `crm_mon -1` (the same text renderer as `tsha simulate`), or the control API's
// ClusterStatus as JSON for scripts. Exits 1 with a clear message when no agent answers.

import { outputOption, type Output } from '../output-option.js';
import type { Command } from 'commander';
import type { ClusterStatus, StorageClient, StorageStatus, WitnessView } from '../../ports/control.js';
import { renderStatusText } from '../format/status-text.js';
import { statusView } from '../format/status-view.js';
import { addSocketOption, agentError, withControlClient } from '../control-socket.js';

const WITNESS_LABEL = { none: '', reachable: 'reachable', unreachable: 'UNREACHABLE', unknown: 'heard by the coordinator only' } as const;

function witnessViewLine(v: WitnessView, self: string): string {
  if (v.state === 'unknown') return v.node === self ? 'unknown' : 'unknown here (no recent report from it to this node)';
  const contact = v.heard ? `last heard ${v.lastContactAgeMs} ms ago` : 'never heard since its agent started';
  const from = v.node === self ? '' : `, reported ${v.reportAgeMs} ms ago`;
  return `${v.state === 'reachable' ? 'reachable' : 'UNREACHABLE'} (${contact}${v.term > 0 ? `, witness term ${v.term}` : ''}${from})`;
}

/** crm_mon's header lines, then the shared renderer, then tsha's own details (term, fencing). */
export function renderStatus(s: ClusterStatus): string {
  const head = [
    `Status of cluster ${s.clusterName} as seen by ${s.nodeSelf} (term ${s.term}, commit index ${s.commitIndex})`,
    s.quorum ? `Quorum: ${s.quorum.quorate ? 'yes' : 'NO'} (${s.quorum.mode}, ${s.quorum.votesHave} of ${s.quorum.votesTotal} votes, ${s.quorum.votesNeeded} needed${s.quorum.witness ? `; witness ${s.quorum.witness} ${WITNESS_LABEL[s.quorum.witnessState]}` : ''})` : 'Quorum: unknown',
    s.lastChangeBy ? `Last change: ${new Date(s.lastChangeUnixMs).toISOString()} ${s.lastChangeBy}` : '',
    s.fencingEnabled ? '' : 'WARNING: fencing is DISABLED',
    s.stateDirFault ? `WARNING: ${s.nodeSelf}'s state directory refuses writes: ${s.stateDirFault}` : '',
    // the consequence, which the peers draw without asking: docs/agent.md, "Durable state"
    s.stateDirFault
      ? `  ${s.nodeSelf} votes, acknowledges and renews nothing while stalled: its peers handle it as a failed node (fenced, or its resources recovered elsewhere after lease + watchdog); what follows is its view from before the stall`
      : '',
    '',
  ].filter((l, i, all) => l !== '' || i === all.length - 1);
  let body = renderStatusText(statusView(s));
  if (s.fenceHistory.length > 0) {
    body += '\nFencing History:\n';
    for (const f of s.fenceHistory) {
      // crm_mon: "reboot of n1 successful: delegate=n3, client=…, origin=…"
      const how = [f.device ? `device ${f.device}` : '', f.executor ? `by ${f.executor}` : ''].filter(Boolean).join(', ');
      body += `  * ${f.action} of ${f.target} ${f.status === 'ok' ? 'successful' : f.status}${f.requestedBy ? ` (requested by ${f.requestedBy})` : ''}: ${f.reason}${how ? ` (${how})` : ''} at ${new Date(f.timeUnixMs).toISOString()}\n`;
    }
  }
  const views = s.quorum?.witnessViews ?? [];
  if (views.length > 0) {
    // crm_mon shows the quorum device; tsha shows how each node sees its witness
    body += `\nWitness ${s.quorum!.witness} (as each node sees it):\n`;
    for (const v of views) body += `  * ${v.node}: ${witnessViewLine(v, s.nodeSelf)}\n`;
  }
  if (s.operatorConstraints.length > 0) {
    body += '\nOperator Constraints:\n';
    for (const c of s.operatorConstraints) {
      const left = c.remainingMs > 0 ? `${Math.ceil(c.remainingMs / 1000)} s left` : 'until cleared';
      body += c.score <= -1_000_000 ? `  * ${c.resource} banned from ${c.node} (${left})\n` : `  * ${c.resource} prefers ${c.node} (score ${c.score >= 1_000_000 ? 'INFINITY' : c.score}, ${left})\n`;
    }
  }
  if (s.storage.length > 0) {
    body += `\nStorage (as ${s.nodeSelf} reads it):\n`;
    for (const st of s.storage) body += `  * ${st.resource} (${st.type}:${st.name}): ${storageLine(st)}\n`;
  }
  if (s.storageHistory.length > 0) {
    body += '\nStorage History:\n';
    for (const h of s.storageHistory) {
      body += `  * ${STEP_LABEL[h.step] ?? h.step} ${h.lost} for ${h.resource} on ${h.node}: ${h.status === 'ok' ? 'done' : `${h.status}${h.reason ? ` (${h.reason})` : ''}`} at ${new Date(h.timeUnixMs).toISOString()} (transition ${h.transition})\n`;
    }
  }
  return `${head.join('\n')}\n${body}`;
}

const STEP_LABEL: Record<string, string> = { blocklist: 'blocklisted the Ceph client of', break_lock: 'broke the RBD lock of', outdate_peer: 'outdated the DRBD disk of' };

/** One storage resource in a line: who holds an RBD image (and who is blocklisted), or DRBD's roles. */
function storageLine(st: StorageStatus): string {
  if (st.error) return `UNKNOWN (${st.error})`;
  const who = (c: StorageClient): string => `${c.client} at ${c.address}${c.node ? ` (${c.node})` : ''}`;
  if (st.type === 'rbd') {
    const lock = st.lockHolders.length > 0 ? `locked by ${st.lockHolders.map(who).join(', ')}` : 'not locked';
    const watch = st.watchers.length > 0 ? `; open by ${st.watchers.map(who).join(', ')}` : '';
    const bl = st.blocklisted.length > 0 ? `; blocklisted: ${st.blocklisted.map((b) => `${b.address} until ${b.until}`).join(', ')}` : '';
    return `${lock}${watch}${bl}`;
  }
  const peers = st.peers.map((p) => `${p.node} ${p.connection} ${p.role}/${p.disk}`).join(', ');
  return `${st.role}/${st.disk} on ${st.seenFrom}${peers ? `; peers: ${peers}` : ''}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('status')
    .description('show the cluster status like crm_mon -1 (nodes, quorum, coordinator, resources, failed actions)')
    .addOption(outputOption())
    .option('-w, --watch', 'keep showing the status at every change (Ctrl-C to stop)');
  addSocketOption(cmd).action(async (opts: { output: Output; watch?: boolean; socket: string }) => {
    const show = (s: ClusterStatus): void => {
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      else process.stdout.write(`${opts.watch ? '\x1b[2J\x1b[H' : ''}${renderStatus(s)}`);
    };
    try {
      await withControlClient(opts.socket, async (client) => {
        if (!opts.watch) {
          show(await client.status({ fenceHistoryLimit: 10 }));
          return;
        }
        for await (const s of client.watch({ fenceHistoryLimit: 10, minIntervalMs: 500 })) show(s);
      });
    } catch (e) {
      process.stderr.write(`tsha status: ${agentError(e).message}\n`);
      process.exitCode = 1;
    }
  });
}
