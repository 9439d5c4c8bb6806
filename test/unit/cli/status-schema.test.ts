// `tsha status --output json` has a JSON Schema kept in the repository (docs/status.schema.json),
// derived from the control contract: it must be up to date (npm run docs:status-schema), accept
// what the agent sends and refuse what it never sends. A real agent's output is checked against
// it in test/agent/loopback-plan.test.ts.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { statusJsonSchema } from '../../../src/adapters/grpc/json-schema.js';
import { SAMPLE } from '../proto/fixtures.js';

const file = new URL('../../../docs/status.schema.json', import.meta.url);

describe('docs/status.schema.json', () => {
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const validate = new Ajv2020({ allErrors: true, strict: true }).compile(schema);

  it('is up to date with the control contract (npm run docs:status-schema)', () => {
    expect(schema).toEqual(statusJsonSchema());
  });

  it('accepts a full status and refuses a missing field, an unknown one, a wrong enum value or type', () => {
    expect(validate(SAMPLE.clusterStatus), JSON.stringify(validate.errors)).toBe(true);
    const { term: _term, ...noTerm } = SAMPLE.clusterStatus;
    expect(validate(noTerm)).toBe(false);
    expect(validate({ ...SAMPLE.clusterStatus, extra: 1 })).toBe(false);
    expect(validate({ ...SAMPLE.clusterStatus, nodes: [{ ...SAMPLE.clusterStatus.nodes[0], state: 'asleep' }] })).toBe(false);
    expect(validate({ ...SAMPLE.clusterStatus, commitIndex: '12' })).toBe(false);
    expect(validate({ ...SAMPLE.clusterStatus, quorum: null })).toBe(true);
  });
});
