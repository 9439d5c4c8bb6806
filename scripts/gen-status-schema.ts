// Writes docs/status.schema.json, the JSON Schema of `tsha status --output json`, from the control
// contract (proto/tsha/control/v1/control.proto). test/unit/cli/status-schema.test.ts fails when the
// file is out of date: run `npm run docs:status-schema`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { statusJsonSchema } from '../src/adapters/grpc/json-schema.js';

const file = join(import.meta.dirname, '../docs/status.schema.json');
writeFileSync(file, JSON.stringify(statusJsonSchema(), null, 2) + '\n');
process.stdout.write(`wrote ${file}\n`);
