// Starts one container through the LXC driver and stays alive: the stand-in for an agent process in
// its service's cgroup (test/adapters/lxc-agent.test.ts kills that cgroup as `systemctl stop` does).
// argv: lxcPath name. Prints the start's result as one JSON line.
import { LxcAgent } from '../../src/adapters/lxc/index.js';

const [lxcPath, name] = process.argv.slice(2) as [string, string];
const result = await new LxcAgent().start({ id: name, kind: 'lxc', params: { name, configPath: lxcPath } }, { timeoutMs: 20_000 });
console.log(JSON.stringify(result));
setInterval(() => undefined, 60_000);
