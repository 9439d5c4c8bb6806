// Checks the scheduler benchmark's workload generator (not the benchmark itself, which is
// `npm run bench:scheduler`): deterministic by seed, the tsha inputs are well-formed, and the
// Pacemaker CIB passes crm_verify and describes a settled cluster crm_simulate agrees with.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INFINITY } from '../../../src/config/types.js';
import { schedule } from '../../../src/core/scheduler/index.js';
import { PACEMAKER_2_1_5, renderCib } from './cib.js';
import { calibrate, findTool, parseTransitionSummary, runCrmSimulate, verifyCib } from './pacemaker.js';
import { renderTshaInput } from './tsha-input.js';
import { describeWorkload, generateWorkload, type Workload, type WorkloadSpec } from './workload.js';

const spec = (nodes: number, resources: number, variant: WorkloadSpec['variant'], seed = 1): WorkloadSpec => ({
  nodes,
  resources,
  seed,
  variant,
});

/** the node each group or standalone primitive runs on, from the generated placement */
function placement(w: Workload): Map<string, string> {
  const at = new Map<string, string>();
  for (const r of w.running) if (r.instance === null) at.set(r.primitive, r.node);
  for (const g of w.groups) at.set(g.id, at.get(g.members[0]!)!);
  return at;
}

describe('scheduler bench workload: generator', () => {
  it('is deterministic by seed', () => {
    const a = generateWorkload(spec(16, 1000, 'node-lost', 7));
    const b = generateWorkload(spec(16, 1000, 'node-lost', 7));
    const c = generateWorkload(spec(16, 1000, 'node-lost', 8));
    expect(b).toEqual(a);
    expect(renderCib(b, PACEMAKER_2_1_5)).toBe(renderCib(a, PACEMAKER_2_1_5));
    expect(JSON.stringify(renderTshaInput(b))).toBe(JSON.stringify(renderTshaInput(a)));
    expect(c.location).not.toEqual(a.location);
  });

  it('has the announced shape: 60 % standalone, 30 % in groups of 3-5, 10 % cloned, constraints of every kind', () => {
    const w = generateWorkload(spec(32, 2000, 'node-lost'));
    const d = describeWorkload(w);
    expect(d.primitives).toBe(2000);
    expect(d.clones).toBe(200);
    expect(d.groupMembers).toBe(600);
    expect(d.standalone).toBe(1200);
    for (const g of w.groups) expect(g.members.length).toBeGreaterThanOrEqual(3);
    expect(w.groups.filter((g) => g.members.length > 5).length).toBeLessThanOrEqual(1);
    expect(w.location.some((l) => l.node !== null && l.score > 0)).toBe(true);
    expect(w.location.some((l) => l.node !== null && l.score === -INFINITY)).toBe(true);
    expect(w.location.some((l) => l.rule?.attribute === 'rack')).toBe(true);
    expect(w.location.some((l) => l.rule?.attribute === 'ssd')).toBe(true);
    expect(w.colocation.some((c) => c.score === INFINITY)).toBe(true);
    expect(w.colocation.some((c) => c.score < 0)).toBe(true);
    expect(w.order.some((o) => o.kind === 'mandatory')).toBe(true);
    expect(w.order.some((o) => o.kind === 'optional')).toBe(true);
    expect(d.runningOnLostNode).toBeGreaterThan(0);
    expect(w.lostNode).toBe('n32');
    expect(generateWorkload(spec(32, 2000, 'steady')).lostNode).toBeNull();
  });

  it('places what runs without breaking a ban, an ssd requirement or a mandatory colocation', () => {
    for (const [n, r] of [[3, 100], [16, 1000], [32, 2000]] as const) {
      const w = generateWorkload(spec(n, r, 'steady', 3));
      const at = placement(w);
      const ssd = new Set(w.nodes.filter((x) => x.attributes.ssd === 'yes').map((x) => x.name));
      for (const l of w.location) {
        const node = at.get(l.resource);
        if (node === undefined || l.score !== -INFINITY) continue;
        if (l.node !== null) expect(node, l.id).not.toBe(l.node);
        else expect(ssd.has(node), l.id).toBe(true);
      }
      for (const c of w.colocation.filter((x) => x.score === INFINITY)) {
        expect(at.get(c.resource), c.id).toBe(at.get(c.with));
      }
      const perPrimitiveNode = new Set(w.running.map((x) => `${x.primitive}@${x.node}`));
      expect(perPrimitiveNode.size).toBe(w.running.length);
    }
  });

  it('refuses sizes it cannot shape', () => {
    expect(() => generateWorkload(spec(1, 100, 'steady'))).toThrow(/nodes/);
    expect(() => generateWorkload(spec(3, 5, 'steady'))).toThrow(/resources/);
  });
});

describe('scheduler bench workload: tsha inputs', () => {
  it('are a well-formed CompiledConfig and ClusterSnapshot for the same cluster', () => {
    const w = generateWorkload(spec(16, 1000, 'node-lost'));
    const { config, snapshot, now } = renderTshaInput(w);
    expect(now).toBe(snapshot.now);
    expect(config.fencing.enabled).toBe(false);
    expect(config.nodes.map((n) => n.name)).toEqual(snapshot.nodes.map((n) => n.name));
    expect(snapshot.nodes.filter((n) => n.state === 'unclean').map((n) => n.name)).toEqual(['n16']);
    const ids = new Set(Object.keys(config.resources));
    for (const [id, r] of Object.entries(config.resources)) {
      expect(r.id).toBe(id);
      if (r.type === 'group') for (const m of r.members) expect(config.resources[m]?.type, `${id}.members`).toBe('primitive');
      if (r.type === 'clone') expect(config.resources[r.child]?.type, `${id}.child`).toBe('primitive');
    }
    for (const l of config.constraints.location) expect(ids.has(l.resource), l.id).toBe(true);
    for (const c of config.constraints.colocation) expect(ids.has(c.resource) && ids.has(c.with), c.id).toBe(true);
    for (const o of config.constraints.order) expect(ids.has(o.first) && ids.has(o.then), o.id).toBe(true);
    const nodes = new Set(config.nodes.map((n) => n.name));
    for (const o of snapshot.observations) {
      expect(nodes.has(o.node)).toBe(true);
      const [base, instance] = o.resource.split(':');
      expect(config.resources[base!]?.type).toBe('primitive');
      if (instance !== undefined) expect(Number(instance)).toBeGreaterThanOrEqual(0);
    }
    expect(snapshot.observations.length).toBe(w.running.length);
    // plain data: survives a JSON round trip unchanged (recordable and replayable)
    expect(JSON.parse(JSON.stringify({ config, snapshot }))).toEqual({ config, snapshot });
  });

  it('are accepted by schedule(), which moves nothing in the steady state and restarts what the lost node ran', () => {
    const steady = generateWorkload(spec(16, 100, 'steady', 2));
    const s = renderTshaInput(steady);
    const calm = schedule(s.snapshot, s.config, s.now);
    const running = new Set(steady.running.map((r) => r.primitive));
    const neverStarted = steady.primitives.filter((p) => !running.has(p)).sort();
    expect(calm.actions.filter((a) => a.type === 'stop')).toEqual([]);
    expect(calm.actions.filter((a) => a.type === 'start').map((a) => a.resource).sort()).toEqual(neverStarted);

    const w = generateWorkload(spec(16, 100, 'node-lost', 2));
    const { config, snapshot, now } = renderTshaInput(w);
    const plan = schedule(snapshot, config, now);
    const started = new Set(plan.actions.filter((a) => a.type === 'start').map((a) => a.resource!.replace(/:\d+$/, '')));
    const everywhere = new Set(w.clones.filter((c) => c.max === w.nodes.length).map((c) => c.child));
    const lost = w.running.filter((r) => r.node === w.lostNode && !everywhere.has(r.primitive)).map((r) => r.primitive);
    expect(lost.length).toBeGreaterThan(0);
    for (const p of lost) expect(started.has(p), p).toBe(true);
    expect(plan.actions.some((a) => a.type === 'fence')).toBe(false);
  });
});

const crmVerify = findTool('crm_verify');
const crmSimulate = findTool('crm_simulate');
const havePacemaker = crmVerify !== null && crmSimulate !== null;
if (!havePacemaker) {
  console.warn(
    'SKIPPED: Pacemaker CIB checks — crm_verify/crm_simulate not installed ' +
      '(apt-get install --no-install-recommends pacemaker pacemaker-cli-utils)',
  );
}

describe.skipIf(!havePacemaker)('scheduler bench workload: Pacemaker CIB (real crm_verify and crm_simulate)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsha-bench-cib-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cal = havePacemaker ? calibrate(crmSimulate!, 10_000, 20_000) : PACEMAKER_2_1_5;

  const write = (w: Workload): string => {
    const file = join(dir, `cib-${w.spec.nodes}-${w.spec.resources}-${w.spec.variant}.xml`);
    writeFileSync(file, renderCib(w, cal));
    return file;
  };

  it('passes crm_verify', () => {
    for (const w of [generateWorkload(spec(3, 100, 'steady')), generateWorkload(spec(16, 100, 'node-lost'))]) {
      const r = verifyCib(crmVerify!, write(w));
      expect(r.output).toBe('');
      expect(r.ok).toBe(true);
    }
  });

  it('is a settled cluster: crm_simulate only starts what was not running yet', async () => {
    for (const nodes of [3, 16]) {
      const w = generateWorkload(spec(nodes, 100, 'steady', 2));
      const run = await runCrmSimulate(crmSimulate!, '-R', write(w), 60_000);
      expect(run.exitCode).toBe(0);
      const summary = parseTransitionSummary(run.stdout);
      const running = new Set(w.running.map((r) => r.primitive));
      const stopped = w.primitives.filter((p) => !running.has(p));
      expect(stopped.length).toBeGreaterThan(0);
      expect(summary.verbs).toEqual({ Start: stopped.length });
      expect(summary.starts.sort()).toEqual(stopped.sort());
    }
  });

  it('after a node loss, crm_simulate restarts elsewhere everything the lost node ran', async () => {
    const w = generateWorkload(spec(16, 100, 'node-lost', 2));
    const run = await runCrmSimulate(crmSimulate!, '-R', write(w), 60_000);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/OFFLINE: \[ n16 \]/);
    const started = new Set(parseTransitionSummary(run.stdout).starts);
    const everywhere = new Set(w.clones.filter((c) => c.max === w.nodes.length).map((c) => c.child));
    const lost = w.running.filter((r) => r.node === w.lostNode && !everywhere.has(r.primitive)).map((r) => r.primitive);
    expect(lost.length).toBeGreaterThan(0);
    for (const p of lost) expect(started.has(p), p).toBe(true);
  });
});
