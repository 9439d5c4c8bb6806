# Stand-ins for the nixpkgs service modules the examples enable (services.home-assistant,
# services.mosquitto, services.nginx): like those, each declares its systemd service, wanted by
# multi-user.target and restarted when it changes, so the tsha module has a unit to take over.
{ config, lib, ... }:
let
  names = [ "home-assistant" "mosquitto" "nginx" ];
in
{
  options.services = lib.genAttrs names (name: { enable = lib.mkEnableOption name; });
  config.systemd.services = lib.listToAttrs (map (name: lib.nameValuePair name {
    wantedBy = [ "multi-user.target" ];
    serviceConfig.ExecStart = "/run/current-system/sw/bin/${name}";
  }) (builtins.filter (name: config.services.${name}.enable) names));
}
