// `tsha plan FILE` against a running loopback cluster (real agents, real gRPC mesh and control
// socket): what a new configuration would do, without changing anything, and a non-zero exit when
// it would stop a running resource the file keeps enabled. The same cluster's `tsha status
// --output json` is checked against docs/status.schema.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execResource, LoopbackCluster, tshaCliSync } from './loopback-cluster.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** The loopback configuration as a test edits it. */
interface Cfg {
  resources: Record<string, unknown> & { web: { kind?: string; meta?: Record<string, unknown>; location?: unknown[] } };
  [key: string]: unknown;
}

describe('tsha plan on loopback', () => {
  let c: LoopbackCluster;
  let base: Cfg;
  beforeAll(async () => {
    c = new LoopbackCluster({ nodes: 3, resources: ['web'] });
    c.startAll();
    base = JSON.parse(readFileSync(c.configFile, 'utf8')) as Cfg;
    await c.waitFor('web running on one node', () => (c.runningOn('web').length === 1 ? true : null), 40_000);
    await c.waitFor('the status shows web started', async () => ((await c.status('n1'))?.resources.find((r) => r.id === 'web')?.state === 'started' ? true : null), 10_000, 100);
  }, 60_000);
  afterAll(async () => {
    await c?.destroy();
  });

  const plan = (edit: (cfg: Cfg) => void, ...args: string[]) => {
    const cfg = structuredClone(base) as Cfg;
    edit(cfg);
    const file = join(c.dir, `plan-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(cfg, null, 2));
    const r = tshaCliSync(['plan', file, '--socket', c.node('n2').socket, ...args]);
    return { status: r.status, out: r.stdout, err: r.stderr };
  };

  it('the running configuration plans nothing', () => {
    const r = plan(() => {});
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toContain('Configuration changes:\n  * none');
    expect(r.out).not.toMatch(/\bstart web\b|\bstop web\b/);
  }, 30_000);

  it('a new resource is started; nothing running stops', () => {
    const r = plan((cfg) => (cfg.resources.db = execResource(c.dir, 'db', 500)));
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/resources added: db/);
    expect(r.out).toMatch(/start db on n\d/);
  }, 30_000);

  it('a removed resource is left running as an orphan (its stop went with its definition), and the plan says so', () => {
    const on = c.runningOn('web')[0]!;
    const r = plan((cfg) => {
      delete (cfg.resources as Record<string, unknown>).web;
      cfg.resources.db = execResource(c.dir, 'db', 500);
    });
    expect(r.status).toBe(0);
    expect(r.out).toContain('resources removed: web');
    expect(r.out).toContain(`orphan resource web observed on ${on} has no definition: left alone`);
    expect(r.out).not.toContain('stop web');
  }, 30_000);

  it('a resource set to targetRole stopped is stopped: asked for, exit 0', () => {
    const on = c.runningOn('web')[0]!;
    const r = plan((cfg) => (cfg.resources.web.meta = { targetRole: 'stopped' }));
    expect(r.status).toBe(0);
    expect(r.out).toContain(`stop web on ${on}`);
    expect(r.out).not.toContain('REFUSED');
  }, 30_000);

  it('a change that leaves a kept resource nowhere to run is refused with exit 3, accepted with --allow-stops', () => {
    const on = c.runningOn('web')[0]!;
    const edit = (cfg: Cfg) => (cfg.resources.web.location = [{ rule: { attribute: 'gpu', op: 'defined' }, score: 'INFINITY' }, { rule: { attribute: 'gpu', op: 'not_defined' }, score: '-INFINITY' }]);
    const r = plan(edit);
    expect(r.status).toBe(3);
    expect(r.out).toContain('REFUSED: the plan stops running resources the file keeps enabled');
    expect(r.out).toContain(`  * web (running on ${on})`);
    expect(plan(edit, '--allow-stops').status).toBe(0);
    const json = JSON.parse(plan(edit, '--output', 'json').out) as { ok: boolean; unrequestedStops: unknown[]; actions: { key: string }[] };
    expect(json.ok).toBe(false);
    expect(json.unrequestedStops).toEqual([{ resource: 'web', nodes: [on] }]);
    expect(json.actions.map((a) => a.key)).toContain(`stop web ${on}`);
    // nothing changed: web still runs where it ran
    expect(c.runningOn('web')).toEqual([on]);
  }, 30_000);

  it('tsha status --output json of a real agent matches docs/status.schema.json', () => {
    const r = tshaCliSync(['status', '--output', 'json', '--socket', c.node('n1').socket]);
    expect(r.status, r.stderr).toBe(0);
    const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(join(ROOT, 'docs/status.schema.json'), 'utf8')) as object);
    const status = JSON.parse(r.stdout) as unknown;
    expect(validate(status), JSON.stringify(validate.errors)).toBe(true);
  }, 30_000);

  it('an invalid file is refused with its errors, exit 1', () => {
    const r = plan((cfg) => (cfg.resources.web.kind = 'sytemd'));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/resources\.web\.kind: /);
  }, 30_000);
});
