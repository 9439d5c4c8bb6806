# Stand-in declarations of microvm.nix's host options microvm.vms and microvm.autostart
# (nixosModules.host), for machines that run microVMs: as in microvm.nix, a declared VM's
# autostart defaults to true, and microvm.autostart (the VMs microvms.target starts) defaults to
# the declared VMs with autostart.
{ config, lib, ... }:
{
  options.microvm = {
    vms = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule {
        options.autostart = lib.mkOption { type = lib.types.bool; default = true; };
        # microvm.nix: true for a declarative VM (one with config), the kind a host declares here
        options.restartIfChanged = lib.mkOption { type = lib.types.bool; default = true; };
      });
      default = { };
    };
    autostart = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = builtins.filter (name: config.microvm.vms.${name}.autostart) (builtins.attrNames config.microvm.vms);
    };
  };
}
