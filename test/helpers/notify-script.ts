// A tiny service for the sd-notify test, run by a real systemd --user as a Type=notify unit.
//   ready DIR     STATUS=starting…, then waits for DIR/go before READY=1 + STATUS=ready…
//   watchdog DIR  READY=1, then pings the watchdog while DIR/hang does not exist
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Notifier } from '../../src/adapters/sd-notify.js';

const [mode, dir] = process.argv.slice(2) as [string, string];
const n = new Notifier();
n.onError = (e) => writeFileSync(join(dir, 'notify-error'), e.message);
writeFileSync(join(dir, `${mode}.watchdog.json`), JSON.stringify(n.watchdog));
setInterval(() => undefined, 60_000); // stay alive

if (mode === 'ready') {
  await n.status('starting: waiting for the go file');
  while (!existsSync(join(dir, 'go'))) await new Promise((r) => setTimeout(r, 50));
  await n.ready('ready: 3 nodes, quorate');
} else if (mode === 'watchdog') {
  await n.ready('watchdog demo');
  n.startWatchdog(() => !existsSync(join(dir, 'hang')));
}
