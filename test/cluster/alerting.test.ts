// tsha's alerting proven end to end on the real-cluster harness: a real Prometheus (Debian's
// `prometheus`) and a real Alertmanager (`prometheus-alertmanager`) on a monitoring host of their
// own on the nodes' LAN (Cluster.attachHost, 10.213.0.240), scraping the three agents' metrics
// endpoints (`--metrics-address <underlay>:9464`) every second with the rule file rendered from
// nixos-module/alert-rules.nix, and Alertmanager posting to a webhook receiver this test serves.
// The resource is the RBD writer of test/cluster/rbd.ts (a real single-node Ceph), so the storage
// metrics are real too. No witness: tsha accepts one only beside exactly two nodes, so the
// dashboard's witness query (NO_SERIES_HERE) is the one allowed to come back empty here.
//
//   power loss of the holder → TshaNodeLost (node label = the holder), TshaFailover and
//   TshaAgentDown reach the webhook; power on, the agent rejoins → TshaNodeLost arrives resolved;
//   the writer killed under its holder's systemd → TshaResourceFailed; then every PromQL query of
//   nixos-module/grafana-dashboard.json returns at least one series.
//
// TEST-ONLY OVERRIDE: every rule's `for:` is rendered as FOR_OVERRIDE (2 s) instead of the
// operator's duration (1-10 minutes), so the test waits seconds, not minutes; expressions, labels
// and annotations are the shipped ones.
//
// Prometheus and Alertmanager listen on the monitoring host's loopback only. The test reaches
// them, and Alertmanager reaches the test's webhook, through small forwarders in that namespace
// (TCP ↔ a Unix socket in the run directory): nothing listens outside the test's namespaces.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cephMissing } from '../helpers/ceph.js';
import { enterCgroupArgv } from './cgroup.js';
import { clusterPrerequisites, createCluster, now, type Cluster, type LanHost } from './harness.js';
import { ackCount, startRbdWorkload } from './rbd.js';
import { ensureBuilt, ROOT, TshaCluster } from './tsha-cluster.js';

const which = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const pre = clusterPrerequisites();
const missing = [
  ...pre.missing,
  ...cephMissing(),
  ...(['prometheus', 'prometheus-alertmanager', 'nix-instantiate'] as const).filter((c) => !which(c)),
];
if (missing.length > 0 && process.env.CI === 'true') throw new Error(`CI must run the alerting cluster test; missing: ${missing.join(', ')}`);
if (missing.length > 0) console.warn(`skipping the alerting cluster test: missing ${missing.join(', ')}`);

const METRICS_PORT = 9464;
const MON_OCTET = 240;
const FOR_OVERRIDE = '2s';
const OPS = { monitor: { intervalMs: 1000, timeoutMs: 5000 }, start: { timeoutMs: 20_000 }, stop: { timeoutMs: 20_000 } };
/** dashboard queries of metrics this 3-node cluster cannot have: a witness only goes with two nodes */
const NO_SERIES_HERE = [/tsha_witness_reachable/];
/** Grafana's interval variables, as the test substitutes them */
const GRAFANA_VARS: Record<string, string> = { $__rate_interval: '30s', $__interval: '5s', $__range: '10m' };

interface Alert { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }
interface Notification { at: number; body: { status: string; receiver: string; groupLabels: Record<string, string>; alerts: Alert[] } }

/** The shipped rules as Prometheus reads them, every `for:` replaced by FOR_OVERRIDE (see above). */
function renderRules(): string {
  const json = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', 'import ./nixos-module/alert-rules.nix'], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, NIX_CONFIG: 'build-users-group =' },
  });
  const rules = JSON.parse(json) as { groups: { rules: { for?: string }[] }[] };
  for (const g of rules.groups) for (const r of g.rules) if (r.for !== undefined) r.for = FOR_OVERRIDE;
  return JSON.stringify(rules);
}

/** Every PromQL expression of the dashboard, with Grafana's interval variables substituted. */
function dashboardQueries(file = path.join(ROOT, 'nixos-module/grafana-dashboard.json')): { panel: string; expr: string }[] {
  const d = JSON.parse(fs.readFileSync(file, 'utf8')) as { panels: { title: string; targets?: { expr?: string }[]; panels?: unknown[] }[] };
  const out: { panel: string; expr: string }[] = [];
  const walk = (ps: typeof d.panels): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr.replace(/\$__\w+/g, (v) => GRAFANA_VARS[v] ?? v) });
      if (p.panels) walk(p.panels as typeof d.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** A forwarder (node, in the monitoring host's namespace): accepts on `listen`, connects to `target` ("unix:PATH" or "HOST:PORT"). */
const FORWARDER = `
const net = require('node:net');
const [listen, target] = process.argv.slice(1);
const addr = (s) => (s.startsWith('unix:') ? { path: s.slice(5) } : { host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) });
const srv = net.createServer((a) => {
  const b = net.connect(addr(target));
  a.pipe(b); b.pipe(a);
  a.on('error', () => b.destroy()); b.on('error', () => a.destroy());
});
srv.listen(addr(listen), () => console.log('forwarding ' + listen + ' to ' + target));
`;

describe.skipIf(missing.length > 0)('alerting with a real Prometheus and Alertmanager on the real-cluster harness', () => {
  let c: Cluster | undefined;
  let hook: http.Server | undefined;
  const procs: ChildProcess[] = [];

  beforeAll(() => ensureBuilt(), 180_000);

  afterEach(async (ctx) => {
    // on failure: the monitoring host's logs, before destroy removes the run directory
    if (ctx.task.result?.state === 'fail' && c) {
      const dir = path.join(c.dir, 'mon');
      for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((x) => x.endsWith('.log')) : []) {
        console.log(`--- ${f} (tail)\n${fs.readFileSync(path.join(dir, f), 'utf8').split('\n').slice(-25).join('\n')}`);
      }
    }
    for (const p of procs.splice(0)) if (p.exitCode === null && p.pid !== undefined) p.kill('SIGKILL');
    await c?.destroy(); // kills whatever is left in the monitoring host's cgroup, removes its namespace
    c = undefined;
    if (hook) await new Promise((r) => hook!.close(r));
    hook = undefined;
  }, 60_000);

  /** Starts argv in the monitoring host's namespace and cgroup, output appended to `log`. */
  function hostSpawn(host: LanHost, argv: string[], log: string): ChildProcess {
    const fd = fs.openSync(log, 'a');
    // the cgroup first: `ip netns exec` mounts a sysfs of its own, without the cgroup hierarchies
    const [cmd, ...args] = enterCgroupArgv(host.cgroup, ['ip', 'netns', 'exec', host.netns, ...argv]);
    const p = spawn(cmd!, args, { stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    procs.push(p);
    return p;
  }

  it('power loss: node-lost, failover and agent-down alerts reach the webhook with their labels; the node rejoins: node-lost resolves; a resource failure; every dashboard query has data', async () => {
    const cl = (c = await createCluster({ nodes: 3 }));
    const w = await startRbdWorkload(cl, { everyMs: 20 });
    const t = new TshaCluster(cl, {
      unit: w.unit,
      resourceId: 'w',
      primitive: { kind: 'systemd', params: { unit: w.unit }, operations: OPS, storage: w.storage },
      agentArgs: (n) => ['--metrics-address', `${n.underlayIp}:${METRICS_PORT}`],
    });
    t.startAll();
    await t.waitQuorate(30_000);
    const { s, holder } = await t.sampledHolder(30_000);
    await s.stop();
    await t.waitFor('the holder\'s writer acknowledged records', async () => ackCount(w, holder) >= 20, 20_000);

    // ---- the monitoring host: Alertmanager, Prometheus, the webhook ----
    const mon = await cl.attachHost('mon', MON_OCTET);
    const dir = path.join(cl.dir, 'mon');
    fs.mkdirSync(dir, { recursive: true });
    const notes: Notification[] = [];
    const hookSock = path.join(dir, 'hook.sock');
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        notes.push({ at: now(), body: JSON.parse(body) as Notification['body'] });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook!.listen(hookSock, r));
    const promSock = path.join(dir, 'prom.sock');
    fs.writeFileSync(path.join(dir, 'rules.yml'), renderRules());
    fs.writeFileSync(path.join(dir, 'alertmanager.yml'), JSON.stringify({
      global: { resolve_timeout: '5s' },
      route: { receiver: 'hook', group_by: ['alertname', 'node'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: 'http://127.0.0.1:9099/', send_resolved: true }] }],
    }));
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
      rule_files: [path.join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: ['127.0.0.1:9093'] }] }] },
      scrape_configs: [{ job_name: 'tsha', static_configs: [{ targets: cl.nodes.map((n) => `${n.underlayIp}:${METRICS_PORT}`) }] }],
    }));
    execFileSync('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')], { stdio: 'ignore' });
    execFileSync('amtool', ['check-config', path.join(dir, 'alertmanager.yml')], { stdio: 'ignore' });
    const log = path.join(dir, 'mon.log');
    hostSpawn(mon, [process.execPath, '-e', FORWARDER, '127.0.0.1:9099', `unix:${hookSock}`], log);
    hostSpawn(mon, [process.execPath, '-e', FORWARDER, `unix:${promSock}`, '127.0.0.1:9090'], log);
    hostSpawn(mon, ['prometheus-alertmanager', `--config.file=${path.join(dir, 'alertmanager.yml')}`, `--storage.path=${path.join(dir, 'am')}`,
      '--web.listen-address=127.0.0.1:9093', '--cluster.listen-address='], path.join(dir, 'alertmanager.log'));
    hostSpawn(mon, ['prometheus', `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      '--web.listen-address=127.0.0.1:9090'], path.join(dir, 'prometheus.log'));

    /** GET the Prometheus HTTP API through the forwarder. */
    const api = (pathAndQuery: string): Promise<{ status: string; data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } }> =>
      new Promise((resolve, reject) => {
        const req = http.get({ socketPath: promSock, path: pathAndQuery, timeout: 5000 }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as never);
            } catch (e) {
              reject(new Error(`${pathAndQuery}: ${res.statusCode} ${body.slice(0, 200)} (${String(e)})`));
            }
          });
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('timeout')));
      });
    const query = async (q: string) => (await api(`/api/v1/query?query=${encodeURIComponent(q)}`)).data.result;

    // every agent scraped for a while (increase() needs samples before the fault)
    await t.waitFor('Prometheus scraped every agent 5 times', async () => {
      try {
        const r = await query('count_over_time(up{job="tsha"}[1m]) >= 5 and up{job="tsha"} == 1');
        return r.length === cl.nodes.length;
      } catch {
        return false;
      }
    }, 30_000, 250);
    // the three agents run one configuration (one digest), and the coordinator sees every node online
    const digests = await query('count by (cluster, digest) (tsha_config_info)');
    expect(digests.map((r) => [r.metric.cluster, r.value[1]])).toEqual([['itest', String(cl.nodes.length)]]);
    const online = await query('tsha_node_state{state="online"} == 1 and on (instance, job) tsha_is_coordinator == 1');
    expect(online.map((r) => r.metric.node).sort()).toEqual(cl.nodes.map((n) => n.name));
    const rules = await api('/api/v1/rules');
    expect(rules.status).toBe('success');
    expect(notes.flatMap((n) => n.body.alerts).filter((a) => a.labels.alertname === 'TshaNodeLost')).toEqual([]);

    // ---- power loss of the holder ----
    const firing = (name: string, match: Record<string, string> = {}) => (n: Notification) =>
      n.body.alerts.find((a) => a.status === 'firing' && a.labels.alertname === name && Object.entries(match).every(([k, v]) => a.labels[k] === v));
    const arrival = async (what: string, pick: (n: Notification) => Alert | undefined, from: number, timeoutMs: number): Promise<{ alert: Alert; at: number }> =>
      t.waitFor(what, async () => {
        for (const n of notes) {
          if (n.at < from) continue;
          const a = pick(n);
          if (a) return { alert: a, at: n.at };
        }
        return null;
      }, timeoutMs, 100);

    const fault = await cl.powerLoss(holder);
    const lost = await arrival(`TshaNodeLost for ${holder.name} at the webhook`, firing('TshaNodeLost', { node: holder.name }), fault.t, 60_000);
    const failover = await arrival('TshaFailover at the webhook', firing('TshaFailover'), fault.t, 60_000);
    const agentDown = await arrival('TshaAgentDown at the webhook', firing('TshaAgentDown', { instance: `${holder.underlayIp}:${METRICS_PORT}` }), fault.t, 60_000);
    expect(lost.alert.labels).toMatchObject({ alertname: 'TshaNodeLost', severity: 'critical', node: holder.name });
    expect(lost.alert.annotations.summary).toContain(`tsha node ${holder.name} is lost`);
    expect(lost.alert.annotations.runbook).toBeTruthy();
    expect(failover.alert.labels).toMatchObject({ alertname: 'TshaFailover', severity: 'warning', job: 'tsha' });
    expect(agentDown.alert.labels).toMatchObject({ severity: 'critical', job: 'tsha' });
    console.log(`[alerting] ${holder.name} power loss → webhook: TshaNodeLost after ${Math.round(lost.at - fault.t)} ms, TshaFailover after ${Math.round(failover.at - fault.t)} ms, TshaAgentDown after ${Math.round(agentDown.at - fault.t)} ms (rules' for: overridden to ${FOR_OVERRIDE})`);
    console.log(`[alerting] TshaNodeLost payload alert: ${JSON.stringify(lost.alert)}`);
    console.log(`[alerting] TshaFailover payload alert: ${JSON.stringify(failover.alert)}`);


    // ---- power on: the agent rejoins, TshaNodeLost resolves ----
    const onAt = now();
    await cl.powerOn(holder);
    t.startAgent(holder);
    const resolved = await arrival(`TshaNodeLost for ${holder.name} resolved`, (n) =>
      n.body.alerts.find((a) => a.status === 'resolved' && a.labels.alertname === 'TshaNodeLost' && a.labels.node === holder.name), onAt, 60_000);
    expect(resolved.alert.endsAt).not.toBe('0001-01-01T00:00:00Z');
    console.log(`[alerting] ${holder.name} powered on → TshaNodeLost resolved at the webhook after ${Math.round(resolved.at - onAt)} ms`);
    console.log(`[alerting] resolved payload alert: ${JSON.stringify(resolved.alert)}`);

    // ---- a resource failure: the writer killed under its holder's systemd ----
    const holderNow = await t.waitFor('the writer placed', async () => (await t.placement()).get(w.unit)?.[0], 30_000, 200);
    const failAt = now();
    const kill = await cl.node(holderNow).systemctl('kill', '--signal=SIGKILL', w.unit);
    expect(kill.code, kill.stderr).toBe(0);
    const failed = await arrival('TshaResourceFailed at the webhook', firing('TshaResourceFailed', { resource: 'w', node: holderNow }), failAt, 60_000);
    console.log(`[alerting] writer killed on ${holderNow} → TshaResourceFailed at the webhook after ${Math.round(failed.at - failAt)} ms: ${JSON.stringify(failed.alert.labels)}`);


    // ---- the dashboard: every query returns at least one series ----
    await t.waitFor('the survivor\'s storage steps scraped', async () => (await query('tsha_storage_steps_total{step="break_lock",status="ok"} > 0')).length > 0, 30_000, 250);
    const empty: string[] = [];
    for (const q of dashboardQueries()) {
      const r = await api(`/api/v1/query?query=${encodeURIComponent(q.expr)}`);
      expect(r.status, q.expr).toBe('success');
      if (r.data.result.length === 0 && !NO_SERIES_HERE.some((re) => re.test(q.expr))) empty.push(`${q.panel}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
  }, 240_000);
});
