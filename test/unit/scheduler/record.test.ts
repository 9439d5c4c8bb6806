// Record and replay: the input format (src/core/scheduler/record.ts) and the rotating writer
// (src/runtime/scheduler-recorder.ts) on a real temporary directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { schedule } from '../../../src/core/scheduler/index.js';
import { parseSchedulerInput, RecordFormatError, serializeSchedulerInput } from '../../../src/core/scheduler/record.js';
import { SchedulerRecorder } from '../../../src/runtime/scheduler-recorder.js';
import { cluster } from '../../support/cluster-builder.js';

const input = () => cluster().primitive('web').running('web', 'n1').node('n1', { state: 'unclean' }).input();
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

describe('scheduler input format', () => {
  it('round-trips, and a replay gives the same plan', () => {
    const i = input();
    const parsed = parseSchedulerInput(serializeSchedulerInput(i));
    expect(parsed).toEqual(i);
    expect(schedule(parsed.snapshot, parsed.config, parsed.now)).toEqual(schedule(i.snapshot, i.config, i.now));
  });

  it('serialises with sorted keys, so the same input is byte-identical', () => {
    const i = input();
    const reordered = { now: i.now, config: i.config, snapshot: Object.fromEntries(Object.entries(i.snapshot).reverse()) } as typeof i;
    expect(serializeSchedulerInput(reordered)).toBe(serializeSchedulerInput(i));
  });

  it('reads a recording made before overrides and fence requests were recorded as having none', () => {
    const old = JSON.parse(serializeSchedulerInput(input()));
    delete old.snapshot.overrides;
    delete old.snapshot.fenceRequests;
    expect(parseSchedulerInput(JSON.stringify(old))).toEqual(input());
  });

  it('names the field at fault', () => {
    const bad = JSON.parse(serializeSchedulerInput(input()));
    bad.snapshot.nodes[1].state = 'dead';
    expect(() => parseSchedulerInput(JSON.stringify(bad))).toThrow(new RecordFormatError('snapshot.nodes[1].state', 'expected online, offline or unclean, got "dead"'));
    expect(() => parseSchedulerInput('{')).toThrow(/^\$: not JSON/);
    expect(() => parseSchedulerInput(JSON.stringify({ now: 1, snapshot: {}, config: {} }))).toThrow('snapshot.quorate: expected a boolean');
    expect(() => parseSchedulerInput(JSON.stringify({ format: 'other/9', now: 1 }))).toThrow('format: unsupported format');
    const asked = JSON.parse(serializeSchedulerInput(input()));
    asked.snapshot.fenceRequests = [{ node: 'n1', action: 'reboot', by: 'cli:root' }];
    expect(parseSchedulerInput(JSON.stringify(asked)).snapshot.fenceRequests).toEqual([{ node: 'n1', action: 'reboot', by: 'cli:root' }]);
    asked.snapshot.fenceRequests[0].action = 'on';
    expect(() => parseSchedulerInput(JSON.stringify(asked))).toThrow(new RecordFormatError('snapshot.fenceRequests[0]', 'expected { node, action: off|reboot, by }'));
  });
});

describe('scheduler recorder', () => {
  it('keeps the last N inputs, written atomically, replayable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsha-sched-rec-'));
    dirs.push(dir);
    const rec = new SchedulerRecorder(join(dir, 'inputs'), 3);
    const written: string[] = [];
    for (let k = 0; k < 5; k++) {
      const i = input();
      i.now += k;
      written.push(await rec.record(i));
    }
    const files = readdirSync(join(dir, 'inputs')).sort();
    expect(files).toHaveLength(3);
    expect(files.every((f) => !f.endsWith('.tmp'))).toBe(true);
    expect(files[0]).toMatch(/^scheduler-input-00000003-now1000002\.json$/);
    expect(await rec.list()).toEqual(written.slice(2));
    const replay = parseSchedulerInput(readFileSync(written[4]!, 'utf8'));
    expect(replay.now).toBe(1_000_004);
    // A new recorder continues the sequence after a restart.
    const again = new SchedulerRecorder(join(dir, 'inputs'), 3);
    expect(await again.record(input())).toMatch(/scheduler-input-00000006-/);
  });

  it('rejects a non-positive keep', () => {
    expect(() => new SchedulerRecorder('/tmp/x', 0)).toThrow('keep: expected a positive integer, got 0');
  });
});
