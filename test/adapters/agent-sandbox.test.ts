// The agent under the sandbox the NixOS module derives for a cluster of systemd units and virtual
// IPs (agentSandbox = "auto"; nixos-module/default.nix evaluated by nixpkgs' real module system),
// run by a REAL systemd --user as root, as a Type=notify unit in a private network namespace
// (PrivateNetwork, added here so its virtual IPs land in a namespace of its own): it must start,
// report READY, start a systemd unit over D-Bus, add an IPv4 virtual IP on a veth pair and
// announce it with arping, and an IPv6 one (which sets ndisc_notify, below the read-only
// /proc/sys), and run a real fence agent for `tsha fence check`, with exactly the capabilities the
// module bounds it to. Left out, because this user manager cannot apply them: ProtectKernelTunables and
// ProtectKernelLogs (226/NAMESPACE here, as ProtectHome), the device policy, the state and runtime
// directories (bound where NixOS has them). The unit start goes through the permission check a
// system manager makes through dbus-daemon (a caller without CAP_SYS_ADMIN, of the manager's uid);
// not shown here: NixOS's newer systemd and dbus-broker, and the sysrq-reboot self-fence (this
// kernel has no /proc/sysrq-trigger, and the test must never reset the machine: it runs with
// --self-fence exit).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findNixpkgsLib, hasNixInstantiate, renderServiceSection } from '../helpers/nix.js';
import { startSystemdUser, skipWithoutSystemd, type SystemdUser } from '../helpers/systemd-user.js';

const ROOT = resolve(import.meta.dirname, '../..');

const VIP4 = '10.77.0.10/32';
const VIP6 = 'fd00:77::10/128';

/** The agent's serviceConfig as the module sets it, for one node with a systemd unit and two virtual IPs. */
function agentServiceConfig(lib: string): Record<string, unknown> {
  const expr = `(import ./test/nix/eval.nix {
    lib = import ${JSON.stringify(lib)};
    modules = [ ({ lib, pkgs, ... }: {
      networking.hostName = "a";
      systemd.services.tsha-sbx-web = { };
      services.tsha = {
        enable = true;
        package = pkgs.tsha;
        cluster = { name = "sandbox"; id = "sandbox-agent"; };
        nodes.a.address = "127.0.0.1:7400";
        fencing.devices.bmc = { agent = "fence_redfish"; parameters = { ip = "127.0.0.1"; ipport = "9"; username = "x"; passwd_script = "echo y"; ssl_insecure = "1"; }; hosts = [ "a" ]; };
        resources = {
          web = { kind = "systemd"; params.unit = "tsha-sbx-web.service"; };
          vip = { kind = "ip"; params = { address = "${VIP4}"; interface = "tsha-v0"; arpCount = "3"; }; };
          vip6 = { kind = "ip"; params = { address = "${VIP6}"; interface = "lo"; }; };
        };
      };
    }) ];
  }).services.tsha-agent.serviceConfig`;
  const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NIX_CONFIG: 'build-users-group =' } });
  return JSON.parse(out) as Record<string, unknown>;
}

const USER_MANAGER_CANNOT = ['ProtectHome', 'ProtectKernelTunables', 'ProtectKernelLogs', 'StateDirectory', 'StateDirectoryMode', 'RuntimeDirectory', 'RuntimeDirectoryMode', 'DevicePolicy', 'DeviceAllow', 'ExecStart', 'ExecReload', 'LoadCredential'];

/** capability numbers (linux/capability.h) */
const CAP = { CAP_NET_ADMIN: 12, CAP_NET_RAW: 13 } as const;

const lib = findNixpkgsLib().found;
const hasNix = hasNixInstantiate();
const skip = skipWithoutSystemd('agent sandbox test') || !lib || !hasNix;

describe.skipIf(skip)('the agent in its derived NixOS sandbox, under a real systemd', () => {
  let sd: SystemdUser;
  beforeAll(async () => {
    sd = await startSystemdUser();
  }, 60_000);
  afterAll(async () => {
    await sd?.systemctl('stop', 'tsha-agent.service', 'tsha-sbx-web.service');
    await sd?.stop();
  });

  it('starts, runs a unit over D-Bus, adds IPv4 and IPv6 virtual IPs and sends gratuitous ARP with only the capabilities it is bounded to', async () => {
    const sc = agentServiceConfig(lib!);
    expect(sc.CapabilityBoundingSet).toBe('CAP_NET_ADMIN CAP_NET_RAW');
    // the default self-fence, sysrq-reboot: /proc/sys and /sys read-only by name
    expect(sc.ReadOnlyPaths).toEqual(['/proc/sys', '/sys']);
    expect(sc.ReadWritePaths).toEqual(['/proc/sys/net/ipv6/conf']);
    const config = join(sd.root, 'cluster.json');
    writeFileSync(config, JSON.stringify({
      cluster: { name: 'sandbox', id: 'sandbox-agent' },
      nodes: { a: { address: '127.0.0.1:7400' } },
      // a real fence agent (Python, HTTPS), asked by `tsha fence check` at a port where nothing listens
      fencing: { devices: { bmc: { agent: 'fence_redfish', parameters: { ip: '127.0.0.1', ipport: '9', username: 'x', passwd_script: 'echo y', ssl_insecure: '1' }, hosts: ['a'] } } },
      resources: {
        web: { kind: 'systemd', params: { unit: 'tsha-sbx-web.service' } },
        vip: { kind: 'ip', params: { address: VIP4, interface: 'tsha-v0', arpCount: '3' } },
        vip6: { kind: 'ip', params: { address: VIP6, interface: 'lo' } },
      },
    }));
    const state = join(sd.root, 'state');
    const run = join(sd.root, 'tsha-run');
    mkdirSync(state, { mode: 0o700 });
    mkdirSync(run, { mode: 0o750 });
    await sd.writeUnit('tsha-sbx-web.service', '[Service]\nExecStart=/bin/sleep infinity\n');
    const bind = [
      `BindReadOnlyPaths=${config}:/etc/tsha/config.json`,
      `BindPaths=${state}:/var/lib/tsha`,
      `BindPaths=${run}:/run/tsha`,
      // the user manager's bus and notify socket live in its runtime directory under /tmp, which
      // PrivateTmp hides (a system manager's are in /run)
      `BindPaths=${sd.runtimeDir}`,
      'PrivateNetwork=yes',
      `WorkingDirectory=${ROOT}`,
    ];
    // self-fence "exit": this test must never reset the machine it runs on
    await sd.writeUnit('tsha-agent.service', renderServiceSection(sc, USER_MANAGER_CANNOT, [
      `ExecStart=${process.execPath} --import tsx ${join(ROOT, 'src/cli/main.ts')} agent --config /etc/tsha/config.json --node a --state-dir /var/lib/tsha --socket /run/tsha/control.sock --self-fence exit --systemd-bus ${sd.busAddress}`,
      `Environment=PATH=${process.env.PATH}`,
      `StandardError=file:${join(sd.root, 'agent.err')}`,
      // the LAN of the IPv4 address, in the unit's network namespace and under its sandbox: a veth
      // pair without IPv6 (so the only packets tsha-v1 receives are the agent's gratuitous ARPs)
      `ExecStartPre=/bin/sh -c 'ip link add tsha-v0 type veth peer name tsha-v1 && for i in tsha-v0 tsha-v1; do echo 1 > /proc/sys/net/ipv6/conf/$i/disable_ipv6 && ip link set $i up || exit 1; done'`,
      ...bind,
    ]));
    await sd.reload();

    const journal = async () => (await sd.systemctl('status', '--no-pager', '-n', '30', 'tsha-agent.service')).stdout + (await sd.systemctl('show', '-p', 'ExecMainStatus,ExecMainCode,Result', 'tsha-agent.service')).stdout + readIfAny(join(sd.root, 'agent.err'));
    const start = await sd.systemctl('start', 'tsha-agent.service');
    expect(start.code, `${start.stderr}\n${await journal()}`).toBe(0);
    const pid = Number(await sd.show('tsha-agent.service', 'MainPID'));
    expect(pid).toBeGreaterThan(0);
    // its bounding set is the module's, nothing more
    const capBnd = BigInt('0x' + /^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!);
    const expected = [CAP.CAP_NET_ADMIN, CAP.CAP_NET_RAW].reduce((m, c) => m | (1n << BigInt(c)), 0n);
    expect(capBnd.toString(16)).toBe(expected.toString(16));

    // the cluster of one places every resource here: the unit started over D-Bus, the addresses on
    // tsha-v0 and lo
    const addresses = () => {
      const out = execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-j', 'address', 'show'], { encoding: 'utf8' });
      return (JSON.parse(out) as { addr_info: { local: string; prefixlen: number }[] }[]).flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
    };
    const deadline = Date.now() + 30_000;
    let seen: { web: string; addrs: string[] } = { web: '', addrs: [] };
    while (Date.now() < deadline) {
      seen = { web: await sd.show('tsha-sbx-web.service', 'ActiveState'), addrs: addresses() };
      if (seen.web === 'active' && seen.addrs.includes(VIP4) && seen.addrs.includes(VIP6)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen, await journal()).toMatchObject({ web: 'active', addrs: expect.arrayContaining([VIP4, VIP6]) });
    // in its namespaces: the IPv6 sysctls writable (ndisc_notify set by the agent: 0 in a new
    // network namespace), the rest of /proc/sys read-only
    const inAgent = (cmd: string) => {
      try {
        return { ok: true, out: execFileSync('nsenter', [`--mount=/proc/${pid}/ns/mnt`, `--net=/proc/${pid}/ns/net`, 'sh', '-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
      } catch (e) {
        return { ok: false, out: String((e as { stderr?: string }).stderr ?? e) };
      }
    };
    expect(inAgent('cat /proc/sys/net/ipv6/conf/lo/ndisc_notify')).toEqual({ ok: true, out: '1' });
    expect(inAgent('echo 1 > /proc/sys/net/ipv6/conf/lo/ndisc_notify').ok).toBe(true);
    const ro = inAgent('echo 0 > /proc/sys/net/ipv4/conf/lo/forwarding');
    expect(ro.ok).toBe(false);
    expect(ro.out).toMatch(/Read-only file system/);
    // the fence agent runs under the sandbox as outside it: it gets as far as its HTTPS connection
    const check = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'fence', 'check', '--socket', join(run, 'control.sock')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(check.stdout + check.stderr).toMatch(/Connection refused/);
    // arping ran (a packet socket, CAP_NET_RAW): its ARPs, one a second, reach the other end
    const received = () => (JSON.parse(execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', '-s', '-j', 'link', 'show', 'dev', 'tsha-v1'], { encoding: 'utf8' })) as { stats64: { rx: { packets: number } } }[])[0]!.stats64.rx.packets;
    const arpDeadline = Date.now() + 10_000;
    while (received() < 2 && Date.now() < arpDeadline) await new Promise((r) => setTimeout(r, 250));
    expect(received(), await journal()).toBeGreaterThanOrEqual(2);
    expect(await sd.show('tsha-agent.service', 'ActiveState'), await journal()).toBe('active');
    expect(await sd.show('tsha-agent.service', 'NRestarts')).toBe('0');
  }, 90_000);
});

function readIfAny(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
