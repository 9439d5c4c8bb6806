// Child process for the disk-store crash test: loads the store in argv[2] and then writes as fast
// as it can until it is SIGKILLed. Before each operation it records "B <model after the op>", after
// it "A <model>", in the journal file argv[3] with a synchronous write (stdout is no good here: when
// the pipe is full, Node queues the line in memory and SIGKILL loses it). The parent checks that
// what loads afterwards is the last acknowledged model or the one the interrupted operation was
// heading for, nothing else.
import { closeSync, openSync, writeSync } from 'node:fs';
import { DiskStore } from '../../src/adapters/disk-store.js';

export interface Model {
  term: number;
  lastIndex: number;
  snapIndex: number;
}

const dir = process.argv[2]!;
const journal = openSync(process.argv[3]!, 'a');
const store = new DiskStore<{ i: number; pad: string }, { upTo: number }>(dir, { segmentBytes: 16 * 1024 });
const loaded = await store.load();
const m: Model = {
  term: loaded.hardState.term,
  lastIndex: loaded.entries.length ? loaded.entries[loaded.entries.length - 1]!.index : (loaded.snapshot?.index ?? 0),
  snapIndex: loaded.snapshot?.index ?? 0,
};
const say = (tag: string, model: Model): void => void writeSync(journal, `${tag} ${JSON.stringify(model)}\n`);
process.on('exit', () => closeSync(journal));
say('R', m);
let lastTerm = loaded.entries.length ? loaded.entries[loaded.entries.length - 1]!.term : (loaded.snapshot?.term ?? 0);
const termAt = new Map<number, number>(loaded.entries.map((e) => [e.index, e.term]));
if (loaded.snapshot) termAt.set(loaded.snapshot.index, loaded.snapshot.term);
for (let n = 0; ; n++) {
  const op = n % 11 === 10 ? 'snap' : n % 7 === 6 ? 'trunc' : n % 2 === 0 ? 'hs' : 'append';
  if (op === 'hs') {
    const next = { ...m, term: m.term + 1 };
    say('B', next);
    await store.saveHardState({ term: next.term, votedFor: `n${next.term % 3}`, commitIndex: m.snapIndex });
    m.term = next.term;
  } else if (op === 'append') {
    const next = { ...m, lastIndex: m.lastIndex + 1 };
    say('B', next);
    const term = Math.max(lastTerm, m.term);
    await store.append([{ index: next.lastIndex, term, cmd: { i: next.lastIndex, pad: 'x'.repeat((n * 397) % 3000) } }]);
    termAt.set(next.lastIndex, term);
    lastTerm = term;
    m.lastIndex = next.lastIndex;
  } else if (op === 'trunc' && m.lastIndex - 2 > m.snapIndex) {
    const next = { ...m, lastIndex: m.lastIndex - 2 };
    say('B', next);
    await store.truncateFrom(next.lastIndex + 1);
    m.lastIndex = next.lastIndex;
    lastTerm = termAt.get(m.lastIndex)!;
  } else if (op === 'snap' && m.lastIndex - 5 > m.snapIndex) {
    const next = { ...m, snapIndex: m.lastIndex - 5 };
    say('B', next);
    await store.saveSnapshot({ index: next.snapIndex, term: termAt.get(next.snapIndex)!, state: { upTo: next.snapIndex } });
    m.snapIndex = next.snapIndex;
  } else {
    continue;
  }
  say('A', m);
}
