// Child for the helper's crash test: starts a systemd --user, reports it, and waits to be killed.
import { startSystemdUser } from './systemd-user.js';

const sd = await startSystemdUser();
// make the manager start its bus daemon too, so something besides systemd lives in the cgroup
await sd.systemctl('show', '-P', 'Version');
process.stdout.write(`${JSON.stringify({ pid: sd.pid, cgroup: sd.cgroup, root: sd.root })}\n`);
setInterval(() => undefined, 60_000);
