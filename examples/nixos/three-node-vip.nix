# Three nodes (majority quorum) that run a web server behind a virtual IP, imported by n1, n2 and
# n3 (nodeName from their host names). With the flake: imports = [ tsha.nixosModules.default ./three-node-vip.nix ];
{ config, lib, ... }:
{
  # the service the cluster runs, declared on every node; tsha starts it on one (the module takes
  # it off multi-user.target and out of the switch's restarts)
  services.nginx.enable = true;

  services.tsha = {
    enable = true;
    openFirewall = true;

    cluster = { name = "web"; id = "web"; };
    nodes = {
      n1 = { address = "10.90.0.1:7400"; publicKey = "4RqrmzCFPCFbxMxZJIrVEiAVJ8lnphUDXxaXUSLSUSI="; };
      n2 = { address = "10.90.0.2:7400"; publicKey = "5P/SHd70x+rHZaK+/qlJ1wXoWhvfYNvR3Vf3GFuivkU="; };
      n3 = { address = "10.90.0.3:7400"; publicKey = "wcLlAe+AF7DxOCo6McaFI0Ak1lftk8QKGTwKGgDw0B4="; };
    };

    # the mesh's WireGuard interface (tsha0) from the table above
    wireguard = {
      enable = true;
      privateKeyFile = "/run/keys/tsha-wireguard.key";
      endpoints = { n1 = "192.168.1.11:51820"; n2 = "192.168.1.12:51820"; n3 = "192.168.1.13:51820"; };
    };

    # IPMI fencing; the BMC password is a file outside the store, handed to the agent by systemd
    fenceCredentials.bmc-password = "/run/keys/bmc-password";
    fencing.devices = lib.mapAttrs' (node: ip: lib.nameValuePair "ipmi-${node}" {
      agent = "fence_ipmilan";
      parameters = { inherit ip; username = "admin"; lanplus = 1; passwd_script = "cat $CREDENTIALS_DIRECTORY/bmc-password"; };
      hosts = [ node ];
    }) { n1 = "10.91.0.1"; n2 = "10.91.0.2"; n3 = "10.91.0.3"; };

    resources = {
      vip = { kind = "ip"; params = { address = "192.168.1.10/24"; interface = "eth0"; }; };
      web = { kind = "systemd"; params.unit = "nginx.service"; };
    };
    # the address moves with the server: started before it, stopped after it, on the same node
    groups.frontend.members = [ "vip" "web" ];
  };
}
