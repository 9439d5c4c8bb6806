# Stand-in declarations of the NixOS options nixos-module/ sets or reads, typed as nixpkgs declares
# them (nixos/lib/systemd-unit-options.nix, nixos/modules/services/networking/firewall.nix,
# nixos/modules/services/networking/wireguard.nix, nixos/modules/system/etc/etc.nix, …), for
# evaluating the module with nixpkgs' real lib.evalModules where nixpkgs' nixos/ tree is absent.
# Only the attributes the module uses are declared: a definition of anything else fails the
# evaluation ("The option … does not exist"), as a wrong type does, so the tests catch both.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  # nixpkgs: systemdUtils.lib.unitNameType
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";
  # nixpkgs: systemdUtils.unitOptions.unitOption (lists concatenate, scalars must agree)
  unitOption = lib.mkOptionType {
    name = "systemd option";
    description = "systemd option";
    check = v: builtins.isBool v || builtins.isInt v || builtins.isString v || builtins.isPath v || lib.isDerivation v || builtins.isList v;
    merge = loc: defs:
      let defs' = lib.filterOverrides defs; in
      if builtins.isList (builtins.head defs').value
      then lib.concatMap (def: if builtins.isList def.value then def.value else throw "${lib.showOption loc}: a mix of list and non-list definitions") defs'
      else lib.mergeEqualOption loc defs';
  };
  # nixpkgs: checkService (assertValueOneOf "Type" …, "Restart" …)
  checkService = cfg:
    let oneOf = name: values: !(cfg ? ${name}) || builtins.elem cfg.${name} values; in
    oneOf "Type" [ "exec" "simple" "forking" "oneshot" "dbus" "notify" "notify-reload" "idle" ]
    && oneOf "Restart" [ "no" "on-success" "on-failure" "on-abnormal" "on-abort" "on-watchdog" "always" ];
  unitNames = mkOption { type = types.listOf unitNameType; default = [ ]; };
  serviceModule = {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.singleLineStr; default = ""; };
      wantedBy = unitNames;
      requiredBy = unitNames;
      upheldBy = unitNames;
      wants = unitNames;
      requires = unitNames;
      upholds = unitNames;
      after = unitNames;
      before = unitNames;
      bindsTo = unitNames;
      partOf = unitNames;
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      serviceConfig = mkOption { type = types.addCheck (types.attrsOf unitOption) checkService; default = { }; };
      environment = mkOption { type = with types; attrsOf (nullOr (oneOf [ str path package ])); default = { }; };
      path = mkOption { type = with types; listOf (oneOf [ package str ]); default = [ ]; };
      restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; };
      reloadTriggers = mkOption { type = types.listOf unitOption; default = [ ]; };
      restartIfChanged = mkOption { type = types.bool; default = true; };
      reloadIfChanged = mkOption { type = types.bool; default = false; };
      stopIfChanged = mkOption { type = types.bool; default = true; };
      # nixpkgs declares these without a default: unset, the unit has no such line
      startLimitBurst = mkOption { type = types.int; };
      startLimitIntervalSec = mkOption { type = types.int; };
    };
  };
  # nixpkgs: the stage-2 options of sockets, timers, targets and paths (commonUnitOptions plus
  # their own [Socket]/[Timer]/[Path] sections)
  otherUnitModule = section: {
    options = {
      enable = mkOption { type = types.bool; default = true; };
      description = mkOption { type = types.singleLineStr; default = ""; };
      wantedBy = unitNames;
      requiredBy = unitNames;
      upheldBy = unitNames;
      wants = unitNames;
      requires = unitNames;
      upholds = unitNames;
      after = unitNames;
      before = unitNames;
      partOf = unitNames;
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
    } // lib.optionalAttrs (section != null) {
      ${section} = mkOption { type = types.attrsOf unitOption; default = { }; };
    } // lib.optionalAttrs (section == "socketConfig") {
      listenStreams = mkOption { type = types.listOf types.str; default = [ ]; };
    };
  };
  # nixpkgs: mountOptions / automountOptions (systemd.mounts and systemd.automounts are lists)
  mountModule = section: {
    options = {
      where = mkOption { type = types.str; };
      what = mkOption { type = types.str; default = ""; };
      type = mkOption { type = types.str; default = ""; };
      options = mkOption { type = types.commas; default = ""; };
      wantedBy = unitNames;
      requiredBy = unitNames;
      unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      ${section} = mkOption { type = types.attrsOf unitOption; default = { }; };
    };
  };
  # nixpkgs: nixos/modules/tasks/filesystems.nix
  fileSystemModule = { name, ... }: {
    options = {
      mountPoint = mkOption { type = types.str; default = name; };
      device = mkOption { type = types.nullOr types.nonEmptyStr; default = null; };
      fsType = mkOption { type = types.nonEmptyStr; default = "auto"; };
      options = mkOption { type = types.nonEmptyListOf types.nonEmptyStr; default = [ "defaults" ]; };
    };
  };
  firewallPorts = {
    allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
    allowedUDPPorts = mkOption { type = types.listOf types.port; default = [ ]; };
  };
  wireguardPeer = {
    options = {
      publicKey = mkOption { type = types.singleLineStr; };
      endpoint = mkOption { type = types.nullOr types.str; default = null; };
      allowedIPs = mkOption { type = types.listOf types.str; default = [ ]; };
      persistentKeepalive = mkOption { type = types.nullOr types.int; default = null; };
      presharedKeyFile = mkOption { type = types.nullOr types.str; default = null; };
    };
  };
  wireguardInterface = {
    options = {
      ips = mkOption { type = types.listOf types.str; default = [ ]; };
      listenPort = mkOption { type = types.nullOr types.int; default = null; };
      privateKey = mkOption { type = types.nullOr types.str; default = null; };
      privateKeyFile = mkOption { type = types.nullOr types.str; default = null; };
      generatePrivateKeyFile = mkOption { type = types.bool; default = false; };
      peers = mkOption { type = types.listOf (types.submodule wireguardPeer); default = [ ]; };
      allowedIPsAsRoutes = mkOption { type = types.bool; default = true; };
    };
  };
  # nixpkgs: a file given as text becomes its source (pkgs.writeText, a store path here)
  etcFile = { name, config, ... }: {
    config.source = lib.mkIf (config.text != null) (lib.mkDefault "/nix/store/stub-etc-${baseNameOf name}");
    options = {
      enable = mkOption { type = types.bool; default = true; };
      target = mkOption { type = types.str; default = name; };
      source = mkOption { type = types.path; };
      text = mkOption { type = types.nullOr types.lines; default = null; };
      mode = mkOption { type = types.str; default = "symlink"; };
    };
  };
in
{
  options = {
    assertions = mkOption { type = types.listOf types.unspecified; internal = true; default = [ ]; };
    warnings = mkOption { type = types.listOf types.str; internal = true; default = [ ]; };

    networking.hostName = mkOption { type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$"; default = "nixos"; };
    networking.firewall = firewallPorts // {
      interfaces = mkOption { type = types.attrsOf (types.submodule { options = firewallPorts; }); default = { }; };
    };
    networking.wireguard.interfaces = mkOption { type = types.attrsOf (types.submodule wireguardInterface); default = { }; };

    environment.etc = mkOption { type = types.attrsOf (types.submodule etcFile); default = { }; };
    environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };

    boot.kernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
    boot.extraModprobeConfig = mkOption { type = types.lines; default = ""; };

    # nixos/modules/virtualisation/nixos-containers.nix
    containers = mkOption {
      type = types.attrsOf (types.submodule { options.autoStart = mkOption { type = types.bool; default = false; }; });
      default = { };
    };

    services.prometheus.ruleFiles = mkOption { type = types.listOf (types.nullOr types.path); default = [ ]; };
    # nixos/modules/services/monitoring/prometheus/default.nix: promTypes.scrape_config (mkOpt: nullOr, default null)
    services.prometheus.scrapeConfigs = mkOption {
      type = types.listOf (types.submodule {
        options = {
          job_name = mkOption { type = types.str; };
          static_configs = mkOption {
            type = types.nullOr (types.listOf (types.submodule {
              options = {
                targets = mkOption { type = types.listOf types.str; };
                labels = mkOption { type = types.attrsOf types.str; default = { }; };
              };
            }));
            default = null;
          };
        };
      });
      default = [ ];
    };
    # nixos/modules/services/monitoring/grafana.nix (providers: a list of attribute sets there too)
    services.grafana.provision.enable = mkOption { type = types.bool; default = false; };
    services.grafana.provision.dashboards.settings.providers = mkOption { type = types.listOf types.attrs; default = [ ]; };

    systemd.services = mkOption { type = types.attrsOf (types.submodule serviceModule); default = { }; };
    systemd.sockets = mkOption { type = types.attrsOf (types.submodule (otherUnitModule "socketConfig")); default = { }; };
    systemd.timers = mkOption { type = types.attrsOf (types.submodule (otherUnitModule "timerConfig")); default = { }; };
    systemd.targets = mkOption { type = types.attrsOf (types.submodule (otherUnitModule null)); default = { }; };
    systemd.paths = mkOption { type = types.attrsOf (types.submodule (otherUnitModule "pathConfig")); default = { }; };
    systemd.mounts = mkOption { type = types.listOf (types.submodule (mountModule "mountConfig")); default = [ ]; };
    systemd.automounts = mkOption { type = types.listOf (types.submodule (mountModule "automountConfig")); default = [ ]; };
    fileSystems = mkOption { type = types.attrsOf (types.submodule fileSystemModule); default = { }; };
    systemd.tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
    systemd.watchdog.runtimeTime = mkOption { type = types.nullOr types.str; default = null; };
  };

  # nixos-containers.nix declares each container's own instance of container@.service (and the
  # template, left out here)
  config.systemd.services = lib.mapAttrs' (name: c: lib.nameValuePair "container@${name}" {
    wantedBy = lib.optional c.autoStart "machines.target";
    serviceConfig.ExecStart = "/run/current-system/sw/bin/nixos-container-start ${name}";
  }) config.containers;
}
