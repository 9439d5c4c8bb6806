// Child process of the crash-point test: writes the crash script (crash-point-script.ts) through
// DurableWriter over a DiskStore in argv[2] and SIGKILLs itself just before I/O step number
// argv[4] (counted from 0 over every write, fsync, rename, truncate and unlink the store makes).
// argv[4] = -1: no crash, report the number of steps. The journal (argv[3], synchronous writes, so
// SIGKILL loses nothing) says which script step was being written ("W i"), which I/O step it died
// before ("P k op step file"), and what it sent once a state was durable ("S <json>").
import { closeSync, openSync, writeSync } from 'node:fs';
import { DiskStore, type IoPoint } from '../../src/adapters/disk-store.js';
import { compileOrThrow } from '../../src/config/validate.js';
import type { Command } from '../../src/core/cluster/commands.js';
import { initialDurable } from '../../src/core/cluster/node.js';
import type { ClusterState } from '../../src/core/cluster/state-machine.js';
import { DurableWriter } from '../../src/runtime/durable-writer.js';
import { CRASH_SEGMENT_BYTES, crashScript } from './crash-point-script.js';

const [dir, journalPath, crashAtArg] = process.argv.slice(2);
const crashAt = Number(crashAtArg);
const journal = openSync(journalPath!, 'a');
const say = (line: string): void => void writeSync(journal, `${line}\n`);
let n = 0;
const hook = (p: IoPoint): void => {
  if (n === crashAt) {
    say(`P ${n} ${p.op} ${p.step} ${p.file}`);
    process.kill(process.pid, 'SIGKILL');
  }
  n++;
};
const config = compileOrThrow({
  cluster: { name: 't', id: 't' },
  nodes: { n1: { address: '127.0.0.1:1' }, n2: { address: '127.0.0.1:2' }, n3: { address: '127.0.0.1:3' } },
  fencing: { enabled: false },
  resources: {},
});
const writer = new DurableWriter(new DiskStore<Command, ClusterState>(dir!, { segmentBytes: CRASH_SEGMENT_BYTES, ioHook: hook }));
await writer.load(config);
const script = crashScript(initialDurable(config).snapshot);
for (let i = 0; i < script.length; i++) {
  say(`W ${i}`);
  await writer.write(script[i]!.durable);
  for (const s of script[i]!.sends) say(`S ${JSON.stringify(s)}`);
}
say(`DONE ${n}`);
await writer.close();
closeSync(journal);
