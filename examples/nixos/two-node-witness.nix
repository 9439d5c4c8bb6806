# examples/two-node-witness.json as a NixOS module, imported by the three machines: alpha and beta
# (services.tsha.enable, nodeName from their host names) and the NAS (services.tsha.witness.enable).
# With the flake: imports = [ tsha.nixosModules.default ./two-node-witness.nix ];
{ config, lib, ... }:
let
  isWitness = config.networking.hostName == "nas";
in
{
  # the services the cluster runs, declared on both nodes; tsha starts them on one (the module
  # takes them off multi-user.target and out of the switch's restarts)
  services.home-assistant.enable = !isWitness;
  services.mosquitto.enable = !isWitness;

  services.tsha = {
    enable = !isWitness;
    witness.enable = isWitness;
    openFirewall = true;

    cluster = { name = "home"; id = "home"; };
    nodes = {
      alpha = { address = "10.90.0.1:7400"; publicKey = "7L1mUUNGe7zIqj8mVv2YLGyJQeDJCaVWRQypRVBhGhM="; };
      beta = { address = "10.90.0.2:7400"; publicKey = "rttUAZIEHDTigK2iS6ZXFKjGadNBMopM6eSj+E4q8ww="; };
    };
    witness = { name = "nas"; address = "10.90.0.9:7400"; publicKey = "Mb97lVMZFnpbKEDEwT2JUF9uqrvp0tzg9+7BVmVKh3M="; };

    # the mesh's WireGuard interface (tsha0) from the table above: each machine's private key stays
    # outside the store, the peers are reached at their LAN addresses
    wireguard = {
      enable = true;
      privateKeyFile = "/run/keys/tsha-wireguard.key";
      endpoints = { alpha = "192.168.1.11:51820"; beta = "192.168.1.12:51820"; nas = "192.168.1.20:51820"; };
    };

    fencing.devices = {
      redfish-alpha = {
        agent = "fence_redfish";
        parameters = { ip = "10.91.0.1"; username = "root"; passwd_script = "cat /run/keys/fence-password"; ssl_insecure = 1; };
        hosts = [ "alpha" ];
      };
      redfish-beta = {
        agent = "fence_redfish";
        parameters = { ip = "10.91.0.2"; username = "root"; passwd_script = "cat /run/keys/fence-password"; ssl_insecure = 1; };
        hosts = [ "beta" ];
      };
    };

    resources = {
      home-assistant = { kind = "systemd"; params.unit = "home-assistant.service"; stateful = true; };
      mosquitto = {
        kind = "systemd";
        params.unit = "mosquitto.service";
        colocation = [ { "with" = "home-assistant"; } ];
        order = [ { before = "home-assistant"; } ];
      };
    };
  };
}
