# Stand-in declaration of microvm.nix's host option microvm.vms (nixosModules.host), for machines
# that run microVMs: autostart defaults to true there, as in microvm.nix.
{ lib, ... }:
{
  options.microvm.vms = lib.mkOption {
    type = lib.types.attrsOf (lib.types.submodule {
      options.autostart = lib.mkOption { type = lib.types.bool; default = true; };
    });
    default = { };
  };
}
