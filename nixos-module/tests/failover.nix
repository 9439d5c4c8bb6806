# A NixOS VM test (pkgs.testers.runNixOSTest) of a whole tsha cluster as a NixOS user deploys it:
# every machine imports the module with the same table, the WireGuard mesh is made from it, and a
# group of a virtual IP and a systemd service (declared wanted by multi-user.target, as a NixOS
# service module would) runs on one node. The holder is powered off (machine.crash()); the test
# checks that the group runs on exactly one survivor after the watchdog time, that the virtual IP
# answers from there, and that `tsha status --output json` on every survivor says so.
#   witness = false: three nodes, majority quorum;
#   witness = true:  two nodes and a witness machine (nas), witness quorum.
# Fencing is watchdog self-fencing through softdog: a VM test has no power switch to fence with.
# The flake's checks run it (`nix flake check`, or `nix build .#checks.x86_64-linux.failover-majority`),
# on a machine with nixpkgs and KVM. The keys below are for this test only.
{ tshaModule, witness ? false }:
{ lib, ... }:
let
  keys = {
    n1 = { private = "aNZNZDBRm1/YYoSk1JVEss8BI1xXlkMZsHSDHw4a7Xs="; public = "4RqrmzCFPCFbxMxZJIrVEiAVJ8lnphUDXxaXUSLSUSI="; };
    n2 = { private = "iJXEn9vk7ey0+dzrRpyIDP43Ct7kqXh85JNFMDkuOFE="; public = "5P/SHd70x+rHZaK+/qlJ1wXoWhvfYNvR3Vf3GFuivkU="; };
    n3 = { private = "KLU6MdBVOEHwvusa44hWr5gL8ENPurDLrXMXmwpk5l4="; public = "wcLlAe+AF7DxOCo6McaFI0Ak1lftk8QKGTwKGgDw0B4="; };
    nas = { private = "AOlaxW9wpyGnYkLWOv7hrJnTvCGY92jTz/76M99THGo="; public = "Md0p9Sh+FhbSFa5Z13l2iepU443k/Mz0MaAGEOUBrHs="; };
  };
  mesh = { n1 = "10.90.0.1"; n2 = "10.90.0.2"; n3 = "10.90.0.3"; nas = "10.90.0.9"; };
  nodeNames = if witness then [ "n1" "n2" ] else [ "n1" "n2" "n3" ];
  members = nodeNames ++ lib.optional witness "nas";
  # the test driver puts every machine on vlan 1: eth1, 192.168.1.0/24, host names in /etc/hosts
  vip = "192.168.1.100";

  # what every machine imports: the cluster's table
  cluster = { config, pkgs, ... }: {
    imports = [ tshaModule ];
    services.tsha = {
      cluster = { name = "vmtest"; id = "vmtest"; };
      nodes = lib.genAttrs nodeNames (name: { address = "${mesh.${name}}:7400"; publicKey = keys.${name}.public; });
      witness = lib.mkIf witness { name = "nas"; address = "${mesh.nas}:7400"; publicKey = keys.nas.public; };
      openFirewall = true;
      wireguard = {
        enable = true;
        # a private key outside the store: copied into /etc (mode), as a secrets tool would place it
        privateKeyFile = "/etc/tsha-test/wireguard.key";
        endpoints = lib.genAttrs members (name: "${name}:51820");
      };
      # softdog (on the nodes) is /dev/watchdog; set here too so the witness writes the same JSON
      fencing = { watchdog = true; watchdogDevice = "/dev/watchdog"; };
      resources = {
        vip = { kind = "ip"; params = { address = "${vip}/24"; interface = "eth1"; }; };
        web = { kind = "systemd"; params.unit = "web.service"; };
      };
      groups.frontend.members = [ "vip" "web" ];
    };
    environment.etc."tsha-test/wireguard.key" = { text = keys.${config.networking.hostName}.private; mode = "0400"; };
    environment.systemPackages = [ pkgs.curl ];
  };

  node = { pkgs, ... }: {
    imports = [ cluster ];
    services.tsha.enable = true;
    services.tsha.softdog = true;
    # the cluster's service, declared as a NixOS service module would: the tsha module takes it off
    # multi-user.target, so only the node the cluster places it on runs it
    systemd.services.web = {
      description = "the web server the cluster runs";
      wantedBy = [ "multi-user.target" ];
      serviceConfig.ExecStart = "${pkgs.python3}/bin/python3 -m http.server --bind 0.0.0.0 8080 --directory ${pkgs.writeTextDir "index.html" "tsha"}";
    };
    networking.firewall.allowedTCPPorts = [ 8080 ];
  };
in
{
  name = "tsha-failover-${if witness then "witness" else "majority"}";

  nodes = lib.genAttrs nodeNames (_: node) // lib.optionalAttrs witness {
    nas = { imports = [ cluster ]; services.tsha.witness.enable = true; };
  };

  testScript = ''
    import json

    nodes = [${lib.concatStringsSep ", " nodeNames}]
    by_name = {m.name: m for m in nodes}
    witness = ${if witness then "nas" else "None"}

    def status(m):
        return json.loads(m.succeed("tsha status --output json"))

    def resource(s, rid):
        return next(r for r in s["resources"] if r["id"] == rid)

    def running_web(ms):
        return [m.name for m in ms if m.execute("systemctl is-active --quiet web.service")[0] == 0]

    def has_vip(m):
        return m.execute("ip -o addr show dev eth1 | grep -qF ' ${vip}/24 '")[0] == 0

    start_all()
    for m in nodes:
        m.wait_for_unit("tsha-agent.service")
    if witness:
        witness.wait_for_unit("tsha-witness.service")

    with subtest("the cluster forms over its WireGuard mesh and runs the group on one node"):
        def formed(_last):
            s = status(nodes[0])
            web = resource(s, "web")
            return (s["quorum"] is not None and s["quorum"]["quorate"]
                    and all(n["state"] == "online" for n in s["nodes"])
                    and web["state"] == "started" and len(web["nodes"]) == 1)
        retry(formed, 180)
        holder_name = resource(status(nodes[0]), "web")["nodes"][0]
        holder = by_name[holder_name]
        # wanted by multi-user.target in its own declaration, yet running on one node only
        assert running_web(nodes) == [holder_name], running_web(nodes)
        assert [m.name for m in nodes if has_vip(m)] == [holder_name]
        for m in nodes:
            m.succeed("wg show tsha0 | grep -q 'latest handshake'")

    survivors = [m for m in nodes if m is not holder]

    with subtest(f"{holder_name} loses power; the group runs on exactly one survivor"):
        holder.crash()
        def moved(_last):
            web = resource(status(survivors[0]), "web")
            return web["state"] == "started" and len(web["nodes"]) == 1 and web["nodes"][0] != holder_name
        # detection, then lease + drift + watchdog time before a survivor may start it
        retry(moved, 180)
        new_name = resource(status(survivors[0]), "web")["nodes"][0]
        assert running_web(survivors) == [new_name], running_web(survivors)
        assert [m.name for m in survivors if has_vip(m)] == [new_name]
        for m in survivors:
            s = status(m)
            assert s["quorum"]["quorate"], s["quorum"]
            assert resource(s, "web")["nodes"] == [new_name], resource(s, "web")
            assert resource(s, "vip")["nodes"] == [new_name], resource(s, "vip")
            assert next(n for n in s["nodes"] if n["name"] == holder_name)["state"] != "online"
        # the virtual IP answers from the new holder
        for m in survivors + ([witness] if witness else []):
            if m.name != new_name:
                m.succeed("curl --fail --silent --max-time 5 http://${vip}:8080/ >/dev/null")
  '';
}
