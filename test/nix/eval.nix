# nixos-module/ evaluated by nixpkgs' real module system (lib.evalModules) on one machine, with the
# stand-in NixOS option declarations (nixos-stubs.nix) and pkgs (pkgs.nix): what it configures,
# as plain data for test/unit/config/generated.test.ts.
#   lib: nixpkgs' lib (../shared/nixpkgs-lib/lib); modules: the machine's own modules
{ lib, modules, microvm ? false }:
let
  pkgs = import ./pkgs.nix;
  eval = lib.evalModules {
    modules = [ ../../nixos-module/default.nix ./nixos-stubs.nix ./service-stubs.nix { _module.args.pkgs = pkgs; } ]
      ++ lib.optional microvm ./microvm-stubs.nix
      ++ modules;
  };
  c = eval.config;
  # startLimitBurst and startLimitIntervalSec have no default: left out when unset, as in the unit
  # file (only these two are looked at with tryEval, so an error anywhere else still fails)
  unset = [ "startLimitBurst" "startLimitIntervalSec" ];
  defined = s: builtins.removeAttrs s ([ "_module" ] ++ builtins.filter (n: !(builtins.tryEval s.${n}).success) unset);
  configSource = c.environment.etc."tsha/config.json".source or null;
in
{
  failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) c.assertions);
  inherit (c) warnings boot;
  services = builtins.mapAttrs (_: defined) c.systemd.services;
  units = { inherit (c.systemd) sockets timers targets paths; };
  tmpfiles = c.systemd.tmpfiles.rules;
  firewall = { inherit (c.networking.firewall) allowedTCPPorts allowedUDPPorts interfaces; };
  wireguard = c.networking.wireguard.interfaces;
  etc = builtins.mapAttrs (_: f: { inherit (f) source mode; }) c.environment.etc;
  systemPackages = c.environment.systemPackages;
  prometheusScrapeConfigs = c.services.prometheus.scrapeConfigs;
  prometheusRuleFiles = map (f: { inherit (f) buildCommand; rules = builtins.fromJSON f.alertRules.text; }) c.services.prometheus.ruleFiles;
  grafana = {
    inherit (c.services.grafana.provision) enable;
    providers = map (p: p // { options = p.options // { path = { inherit (p.options.path) buildCommand; dashboard = toString p.options.path.dashboard; }; }; }) c.services.grafana.provision.dashboards.settings.providers;
  };
  # the JSON written for tsha, and the build step that checks it
  config = if configSource == null then null else builtins.fromJSON configSource.configFile.text;
  checkScript = if configSource == null then null else configSource.buildCommand;
} // lib.optionalAttrs microvm { microvmVms = c.microvm.vms; }
