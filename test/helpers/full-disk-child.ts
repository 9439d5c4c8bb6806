// Child of the full-disk test, run inside a private mount namespace with a small tmpfs at argv[2]
// (the test mounts it; nothing outside this process sees it). Fills the tmpfs, drives the real
// DiskStore into ENOSPC, frees space, and prints one JSON report on stdout.
import { openSync, closeSync, writeSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DiskStore } from '../../src/adapters/disk-store.js';
import { StoreWriteError } from '../../src/ports/store.js';

const dir = join(process.argv[2]!, 'state');
const filler = join(process.argv[2]!, 'filler');
type Cmd = { pad: string };
const entry = (index: number, pad: number) => ({ index, term: 1, cmd: { pad: 'e'.repeat(pad) } });
const report: Record<string, unknown> = {};

const store = new DiskStore<Cmd, unknown>(dir, { segmentBytes: 1 << 30 });
await store.load();
await store.saveHardState({ term: 1, votedFor: 'n2', commitIndex: 0 });
let last = 0;
for (; last < 8; ) await store.append([entry(++last, 100)]);
const seg = join(dir, 'log', `${'1'.padStart(20, '0')}.seg`);
const sizeBefore = statSync(seg).size;

// fill the file system with a filler file until it is full
const fd = openSync(filler, 'w');
const chunk = Buffer.alloc(4096, 1);
for (;;) {
  try {
    writeSync(fd, chunk);
  } catch {
    break;
  }
}
closeSync(fd);

// an append bigger than what is left (a short write, then ENOSPC): refused, and undone
const errors: Record<string, unknown>[] = [];
const attempt = async (what: string, f: () => Promise<void>): Promise<boolean> => {
  try {
    await f();
    return true;
  } catch (e) {
    if (!(e instanceof StoreWriteError)) throw e;
    errors.push({ what, file: e.file, operation: e.operation, code: e.code, message: e.message });
    return false;
  }
};
report.appendOk = await attempt('append', () => store.append([entry(last + 1, 64 * 1024)]));
report.segSizeAfterFailedAppend = statSync(seg).size;
report.segSizeBefore = sizeBefore;
report.voteOk = await attempt('hardstate', () => store.saveHardState({ term: 2, votedFor: 'n3', commitIndex: 0 }));
report.errors = errors;

// space freed: the same calls go through
unlinkSync(filler);
report.appendAfterFree = await attempt('append', () => store.append([entry(last + 1, 64 * 1024)]));
report.voteAfterFree = await attempt('hardstate', () => store.saveHardState({ term: 2, votedFor: 'n3', commitIndex: 0 }));
await store.close();

const again = new DiskStore<Cmd, unknown>(dir);
const loaded = await again.load();
report.reloaded = { term: loaded.hardState.term, votedFor: loaded.hardState.votedFor, indexes: loaded.entries.map((e) => e.index), repairs: loaded.repairs };
await again.close();
process.stdout.write(JSON.stringify(report));
