// Property: every corruption of a valid example is rejected with a path-qualified error that
// points at what was corrupted, and validate() never throws (or hits an internal error).
//
// Each mutator is built so that its result MUST be invalid (nothing is filtered after the fact):
// it deletes a required key, puts a value of a type the option never accepts, adds a key the
// table does not know, points a reference at a name nobody declares, leaves a range, duplicates
// something unique, injects a cycle, or breaks a cross-field rule in a way no other option can
// repair. A mutator that could produce a valid configuration is a wrong mutator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validate } from '../../../src/config/index.js';
import { INTERNAL_ERROR_PREFIX } from '../../../src/config/validate.js';
import { rawConfigSpec } from '../../../src/config/options.js';
import type { AnySpec } from '../../../src/config/spec.js';
import { joinPath } from '../../../src/config/issues.js';
import { INFINITY } from '../../../src/config/types.js';
import { type Cfg, loadExample, VALID_EXAMPLES } from './helpers.js';

// CI runs 2,500; set TSHA_CONFIG_PROPERTY_RUNS for a longer search.
const RUNS = Number(process.env.TSHA_CONFIG_PROPERTY_RUNS ?? 2500);

/** One option present in a configuration, with the spec that describes it. */
interface Site {
  path: string;
  spec: AnySpec;
  parent: Cfg;
  key: string | number;
  /** an object field that has no default and may not be unset */
  required: boolean;
  /** a value of a string map (params, attributes, parameters) */
  mapValue?: boolean;
}

function sitesOf(config: Cfg): Site[] {
  const out: Site[] = [];
  const walk = (spec: AnySpec, value: Cfg, path: string) => {
    if (value === null || value === undefined) return;
    if (spec.kind === 'object') {
      for (const [key, field] of Object.entries(spec.fields)) {
        if (!Object.hasOwn(value, key)) continue;
        const p = joinPath(path, key);
        const required = field.default === undefined && !field.optional && !(field.kind === 'object' && field.defaultsWhenAbsent);
        out.push({ path: p, spec: field, parent: value, key, required });
        walk(field, value[key], p);
      }
    } else if (spec.kind === 'map') {
      for (const key of Object.keys(value)) {
        const p = joinPath(path, key);
        out.push({ path: p, spec: spec.of, parent: value, key, required: false });
        walk(spec.of, value[key], p);
      }
    } else if (spec.kind === 'list') {
      value.forEach((item: Cfg, i: number) => {
        const p = `${path}[${i}]`;
        out.push({ path: p, spec: spec.of, parent: value, key: i, required: false });
        walk(spec.of, item, p);
      });
    } else if (spec.kind === 'stringMap') {
      for (const key of Object.keys(value)) out.push({ path: joinPath(path, key), spec, parent: value, key, required: false, mapValue: true });
    }
  };
  walk(rawConfigSpec, config, '');
  return out;
}

/** Values of JSON types the spec never accepts (null is left out: optional options take it). */
function wrongTypeValues(site: Site, junk: Cfg): Cfg[] {
  const str = 'x' + JSON.stringify(junk);
  if (site.mapValue) return [{ junk }, [junk]];
  switch (site.spec.kind) {
    case 'string':
    case 'enum':
      return [42, true, [str], { v: junk }];
    case 'int':
      return [str, true, 1.5, [1], { v: junk }];
    case 'score':
      return [1.5, true, 'x' + str, [1], { v: junk }];
    case 'bool':
      return [1, 'true', [true], { v: junk }];
    case 'stringMap':
    case 'object':
    case 'map':
      return [str, 7, false, [junk]];
    case 'list':
      return [str, 7, true, { v: junk }];
  }
}

function outOfRange(site: Site, n: number): Cfg | undefined {
  const spec = site.spec;
  if (spec.kind === 'int') return n % 2 === 0 ? spec.max + 1 + n : spec.min - 1 - n;
  if (spec.kind === 'score') return (n % 2 === 0 ? 1 : -1) * (INFINITY + 1 + n);
  if (spec.kind === 'string' && spec.maxLength) return 'y'.repeat(spec.maxLength + 1 + (n % 5));
  return undefined;
}

interface Mutation {
  what: string;
  /** when set, the error at the expected path must also say this */
  message?: RegExp;
  /** error paths that prove the corruption was seen (an error path must start with one of them) */
  expect: string[];
}

type Mutator = (c: Cfg, pick: number, junk: Cfg, word: string) => Mutation | null;

const choose = <T,>(items: T[], pick: number): T | undefined => (items.length ? items[pick % items.length] : undefined);
const MISSING = 'zz-missing';

/** Resources that may carry constraints: primitives, groups and clones that are not inside a group or clone. */
function constrainable(c: Cfg): string[] {
  const inside = new Set<string>(Object.values<Cfg>(c.clones ?? {}).map((k) => k.child));
  for (const g of Object.values<Cfg>(c.groups ?? {})) g.members.forEach((m: string) => inside.add(m));
  const ids = [...Object.keys(c.resources ?? {}), ...Object.keys(c.groups ?? {}), ...Object.keys(c.clones ?? {})];
  return ids.filter((id) => !inside.has(id)).sort();
}
function sectionOf(c: Cfg, id: string): string {
  return c.resources?.[id] ? 'resources' : c.groups?.[id] ? 'groups' : 'clones';
}

const mutators: Record<string, Mutator> = {
  deleteRequired(c, pick) {
    const site = choose(sitesOf(c).filter((s) => s.required), pick);
    if (!site) return null;
    delete site.parent[site.key];
    return { what: `delete ${site.path}`, expect: [site.path] };
  },
  wrongType(c, pick, junk) {
    const site = choose(sitesOf(c), pick);
    if (!site) return null;
    const values = wrongTypeValues(site, junk);
    site.parent[site.key] = values[Math.floor(pick / 7) % values.length];
    return { what: `wrong type at ${site.path}`, expect: [site.path] };
  },
  randomJsonUnderUnknownKey(c, pick, junk, word) {
    const objects = sitesOf(c).filter((s) => s.spec.kind === 'object' && s.parent[s.key] !== null && typeof s.parent[s.key] === 'object');
    const target = choose([{ path: '', spec: rawConfigSpec as AnySpec, parent: { root: c }, key: 'root', required: true }, ...objects], pick)!;
    const fields = (target.spec as { fields: Record<string, AnySpec> }).fields;
    let key = `${word}X`;
    while (Object.hasOwn(fields, key)) key += 'X';
    target.parent[target.key][key] = junk;
    return { what: `unknown key ${key} in ${target.path || '(root)'}`, expect: [joinPath(target.path, key)] };
  },
  badEnumValue(c, pick, _junk, word) {
    const site = choose(sitesOf(c).filter((s) => s.spec.kind === 'enum'), pick);
    if (!site) return null;
    site.parent[site.key] = `x-${word}`; // no enum value starts with "x-"
    return { what: `bad enum at ${site.path}`, expect: [site.path] };
  },
  outOfRange(c, pick) {
    const sites = sitesOf(c).filter((s) => outOfRange(s, 0) !== undefined && !s.mapValue);
    const site = choose(sites, pick);
    if (!site) return null;
    site.parent[site.key] = outOfRange(site, pick % 1000);
    return { what: `out of range at ${site.path}`, expect: [site.path] };
  },
  badPattern(c, pick, _junk, word) {
    const site = choose(sitesOf(c).filter((s) => s.spec.kind === 'string' && s.spec.pattern), pick);
    if (!site) return null;
    site.parent[site.key] = `bad value ${word}!`; // a space and "!" match no pattern of the table
    return { what: `bad pattern at ${site.path}`, expect: [site.path] };
  },
  badReference(c, pick) {
    const refs: [Cfg, string | number, string][] = [];
    for (const section of ['resources', 'groups', 'clones'] as const) {
      for (const [id, r] of Object.entries<Cfg>(c[section] ?? {})) {
        const base = joinPath(section, id);
        r.colocation?.forEach((x: Cfg, i: number) => refs.push([x, 'with', `${base}.colocation[${i}].with`]));
        r.order?.forEach((x: Cfg, i: number) => refs.push([x, x.after !== undefined ? 'after' : 'before', `${base}.order[${i}].${x.after !== undefined ? 'after' : 'before'}`]));
        r.location?.forEach((x: Cfg, i: number) => x.node !== undefined && refs.push([x, 'node', `${base}.location[${i}].node`]));
        r.members?.forEach((_: string, i: number) => refs.push([r.members, i, `${base}.members[${i}]`]));
        if (section === 'clones') refs.push([r, 'child', `${base}.child`]);
      }
    }
    for (const [id, d] of Object.entries<Cfg>(c.fencing?.devices ?? {})) d.hosts.forEach((_: string, i: number) => refs.push([d.hosts, i, `${joinPath('fencing.devices', id)}.hosts[${i}]`]));
    for (const [node, levels] of Object.entries<Cfg>(c.fencing?.levels ?? {})) {
      levels.forEach((level: string[], i: number) => level.forEach((_, j) => refs.push([level, j, `${joinPath('fencing.levels', node)}[${i}][${j}]`])));
    }
    const ref = choose(refs, pick);
    if (!ref) return null;
    ref[0][ref[1]] = MISSING;
    return { what: `bad reference at ${ref[2]}`, expect: [ref[2]] };
  },
  addConstraintToNowhere(c, pick) {
    const id = choose(constrainable(c), pick);
    if (!id) return null;
    const r = c[sectionOf(c, id)][id];
    const kind = pick % 3;
    const list = kind === 0 ? 'colocation' : kind === 1 ? 'order' : 'location';
    r[list] = [...(r[list] ?? []), kind === 0 ? { with: MISSING } : kind === 1 ? { before: MISSING } : { node: MISSING, score: 10 }];
    const i = r[list].length - 1;
    const field = kind === 0 ? 'with' : kind === 1 ? 'before' : 'node';
    return { what: `${list} to nowhere`, expect: [`${joinPath(sectionOf(c, id), id)}.${list}[${i}].${field}`] };
  },
  duplicateAddress(c, pick) {
    const names = Object.keys(c.nodes);
    const a = names[pick % names.length]!;
    const b = names[(pick + 1) % names.length]!;
    c.nodes[b].address = c.nodes[a].address;
    return { what: `duplicate address ${a}/${b}`, expect: ['nodes'] };
  },
  duplicateId(c, pick) {
    const ids = Object.keys(c.resources);
    const id = choose(ids, pick)!;
    const kind = pick % 3;
    if (kind === 0) (c.groups ??= {})[id] = { members: [id] };
    else if (kind === 1) (c.clones ??= {})[id] = { child: id };
    else {
      c.fencing.devices ??= {};
      c.fencing.devices[id] = { agent: 'fence_dummy', hosts: [Object.keys(c.nodes)[0]] };
    }
    const section = kind === 0 ? 'groups' : kind === 1 ? 'clones' : 'fencing.devices';
    return { what: `duplicate id ${id} in ${section}`, expect: [joinPath(section, id)] };
  },
  duplicateGroupMember(c, pick) {
    const groups = Object.keys(c.groups ?? {});
    const g = choose(groups, pick);
    if (!g) return null;
    const members: string[] = c.groups[g].members;
    members.push(members[pick % members.length]!);
    return { what: `duplicate member in ${g}`, expect: [`${joinPath('groups', g)}.members[${members.length - 1}]`] };
  },
  injectOrderCycle(c, pick) {
    const ids = constrainable(c);
    if (ids.length < 2) return null;
    const a = ids[pick % ids.length]!;
    const b = ids[(pick + 1 + (Math.floor(pick / ids.length) % (ids.length - 1))) % ids.length]!;
    const ra = c[sectionOf(c, a)][a];
    const rb = c[sectionOf(c, b)][b];
    ra.order = [...(ra.order ?? []), { after: b }];
    rb.order = [...(rb.order ?? []), { after: a }];
    // the cycle found may run through constraints the example already had: any constraint path will do
    return { what: `order cycle ${a} ⇄ ${b}`, expect: ['resources', 'groups', 'clones'], message: /order constraints form a cycle/ };
  },
  injectColocationCycle(c, pick) {
    const ids = constrainable(c);
    if (ids.length < 2) return null;
    const a = ids[pick % ids.length]!;
    const b = ids[(pick + 1) % ids.length]!;
    const ra = c[sectionOf(c, a)][a];
    const rb = c[sectionOf(c, b)][b];
    ra.colocation = [...(ra.colocation ?? []), { with: b, score: 'INFINITY' }];
    rb.colocation = [...(rb.colocation ?? []), { with: a }];
    return { what: `colocation cycle ${a} ⇄ ${b}`, expect: ['resources', 'groups', 'clones'], message: /mandatory colocation constraints form a cycle/ };
  },
  breakTiming(c, pick) {
    c.timing ??= {};
    const t = c.timing;
    const hb = t.heartbeatIntervalMs ?? 100;
    const ft = t.failureTimeoutMs ?? 500;
    switch (pick % 4) {
      case 0:
        t.failureTimeoutMs = 3 * hb - 1 - (pick % 10);
        return { what: 'failure timeout < 3 heartbeats', expect: ['timing'] };
      case 1:
        t.electionTimeoutMs = 3 * hb - 1 - (pick % 10);
        return { what: 'election timeout < 3 heartbeats', expect: ['timing'] };
      case 2:
        t.leaseMs = Math.max(100, ft - (pick % 200));
        if (t.leaseMs > ft) return null;
        return { what: 'lease ≤ failure timeout', expect: ['timing'] };
      default:
        t.watchdogMs = 1000 * (1 + (pick % 10)) + 1 + (pick % 999);
        return { what: 'watchdog not whole seconds', expect: ['timing.watchdogMs'] };
    }
  },
  disableFencing(c) {
    // Every example has a stateful or storage resource (asserted below), so this is always refused.
    c.fencing.enabled = false;
    return { what: 'fencing disabled with stateful resources', expect: ['resources', 'nodes'] };
  },
  breakQuorum(c, pick) {
    const names = Object.keys(c.nodes);
    if (names.length === 2 && pick % 2 === 0) {
      // two nodes, no witness, one of them unfenceable: neither witness nor two_node mode applies
      c.witness = null;
      c.fencing.watchdog = false;
      for (const d of Object.values<Cfg>(c.fencing.devices ?? {})) d.hosts = d.hosts.filter((h: string) => h !== names[0]);
      for (const [id, d] of Object.entries<Cfg>(c.fencing.devices ?? {})) if (d.hosts.length === 0) delete c.fencing.devices[id];
      c.fencing.levels = {};
      return { what: 'two nodes, one unfenceable, no witness', expect: ['nodes', 'fencing'] };
    }
    if (names.length === 2) {
      // a third voting node (fenceable) next to a witness: a witness needs exactly two voters
      c.nodes.extra = { address: '10.99.0.98:7400' };
      for (const d of Object.values<Cfg>(c.fencing.devices ?? {})) d.hosts.push('extra');
      c.witness = { name: 'tiebreak', address: '10.99.0.99:7400' };
      return { what: 'witness with three voting nodes', expect: ['witness'] };
    }
    if (pick % 2 === 0) {
      c.witness = { name: 'tiebreak', address: '10.99.0.99:7400' };
      return { what: 'witness with more than two nodes', expect: ['witness'] };
    }
    c.nodes[names[pick % names.length]!].votes = 2; // three nodes of 1 vote: 1 + 1 + 2 = 4, even
    return { what: 'even votes', expect: ['nodes'] };
  },
};

const examples = Object.fromEntries(VALID_EXAMPLES.map((name) => [name, loadExample(name)]));

describe('corrupted configurations', () => {
  it('every example has a stateful resource (disableFencing relies on it)', () => {
    for (const c of Object.values<Cfg>(examples)) expect(Object.values<Cfg>(c.resources).some((r) => r.stateful || r.storage)).toBe(true);
  });

  it(`are all rejected with a path-qualified error at the corruption (${RUNS} cases)`, () => {
    const used = new Map<string, number>();
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID_EXAMPLES),
        fc.constantFrom(...Object.keys(mutators)),
        fc.nat({ max: 1_000_000 }),
        fc.jsonValue({ maxDepth: 2 }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
        (example, name, pick, junk, word) => {
          const config = structuredClone(examples[example]);
          let mutation = mutators[name]!(config, pick, junk, word);
          if (mutation === null) mutation = mutators.wrongType!(config, pick, junk, word)!; // the mutator had nothing to work on here
          used.set(name, (used.get(name) ?? 0) + 1);
          let result: ReturnType<typeof validate>;
          expect(() => (result = validate(config))).not.toThrow();
          const r = result!;
          expect(r.ok, `${example}: ${mutation.what} was accepted`).toBe(false);
          if (r.ok) return;
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) {
            // a field path: "(root)", or one starting with a key (which may be any unknown key the
            // mutation invented, "_X" included) or an index; never empty or a dangling "."
            expect(e.path).toMatch(/^(\(root\)|[^.])/);
            expect(e.message).not.toContain(INTERNAL_ERROR_PREFIX);
          }
          const m = mutation!;
          const seen = r.errors.some(
            (e) => m.expect.some((p) => e.path === p || e.path.startsWith(p + '.') || e.path.startsWith(p + '[')) && (!m.message || m.message.test(e.message)),
          );
          expect(seen, `${example}: ${mutation.what}: errors ${JSON.stringify(r.errors.map((e) => e.path))} miss ${mutation.expect}`).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
    // every mutator really ran
    expect([...used.keys()].sort()).toEqual(Object.keys(mutators).sort());
  }, Math.max(30_000, RUNS * 10));

  it('validate() never throws on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const r = validate(value);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors.every((e) => !e.message.includes(INTERNAL_ERROR_PREFIX))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('validate() never throws on an example with random JSON at a random option', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID_EXAMPLES), fc.nat(), fc.jsonValue({ maxDepth: 3 }), (example, pick, junk) => {
        const config = structuredClone(examples[example]);
        const site = choose(sitesOf(config), pick)!;
        site.parent[site.key] = junk;
        const r = validate(config); // may be valid (junk can be a fine value): only "never throws" is checked here
        if (!r.ok) expect(r.errors.every((e) => !e.message.includes(INTERNAL_ERROR_PREFIX) && e.path.length > 0)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
