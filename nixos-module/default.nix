# The tsha NixOS module: writes the cluster configuration as JSON, checks it at build time with
# tsha's own checker (`tsha config check` in a runCommand, like promtool for Prometheus rules),
# and runs the agent (services.tsha.enable) or the witness (services.tsha.witness.enable).
{ config, options, lib, pkgs, ... }:
let
  cfg = config.services.tsha;
  generated = import ./generated-options.nix { inherit lib; };
  toConfig = import ./config-json.nix { inherit (generated) jsonKeys; };

  configFile = pkgs.writeText "tsha-${cfg.cluster.id}.json" (builtins.toJSON (toConfig cfg));

  # The build fails, listing every error as `path: reason`, when the configuration is invalid.
  # (passthru.configFile: the unchecked file, for reading the JSON at evaluation time)
  checkedConfig = pkgs.runCommand "tsha-${cfg.cluster.id}-checked.json" { nativeBuildInputs = [ cfg.package ]; passthru = { inherit configFile; }; } ''
    tsha config check ${configFile}
    cp ${configFile} $out
  '';

  alertRules = pkgs.writeText "tsha-alert-rules.yml" (builtins.toJSON (import ./alert-rules.nix));

  nodeNames = builtins.attrNames cfg.nodes;
  # virtual IP resources run iproute2's ip and iputils' arping (the agent, as root, has
  # CAP_NET_ADMIN and CAP_NET_RAW for them)
  hasVirtualIps = builtins.any (r: r.kind == "ip") (builtins.attrValues cfg.resources);
  # OCF agents: the ones given, else nixpkgs' collection when an ocf resource needs one
  hasOcf = builtins.any (r: r.kind == "ocf") (builtins.attrValues cfg.resources);
  ocfRoot = if cfg.ocfRoot != null then cfg.ocfRoot else if hasOcf then "${pkgs.ocf-resource-agents}/usr/lib/ocf" else null;
  portOf = address: lib.toInt (lib.last (lib.splitString ":" address));
  # the host of a mesh address host:port ([v6]:port keeps its brackets, as a scrape target needs)
  meshHost = address: builtins.head (builtins.match "(.*):[0-9]+" address);
  witnessDeclared = cfg.witness.name != null || cfg.witness.address != null;
  # LXC resources are run with LXC's tools (lxc-start, lxc-info, …), which the agent finds on PATH.
  runsLxc = builtins.any (r: r.kind == "lxc") (builtins.attrValues cfg.resources);

  # The agent's sandbox (agentSandbox = "auto"). Resources of kind exec, ocf and lxc, storage,
  # a microVM's readyCommand and a self-fence command run programs of the user's choosing as the
  # agent's children, which inherit whatever sandbox the agent has; fabric and disk fencing
  # (unfence, fence_scsi, fence_mpath, fence_sbd) needs the disks: with any of them the agent
  # stays unconfined. Without them, the work is done by systemd over D-Bus (systemd, microvm), by
  # iproute2 and arping (ip), by fence agents talking to a BMC or PDU over the network, and by the
  # agent's own code.
  resourceList = builtins.attrValues cfg.resources;
  diskFenceAgents = [ "fence_scsi" "fence_mpath" "fence_sbd" ];
  runsForeignCode = builtins.any (r: builtins.elem r.kind [ "exec" "ocf" "lxc" ] || r.storage != null || (r.kind == "microvm" && (r.params.readyCommand or null) != null)) resourceList
    || lib.hasPrefix "command:" cfg.selfFence
    || builtins.any (d: d.unfence || builtins.elem (baseNameOf d.agent) diskFenceAgents) (builtins.attrValues fenceDevices);
  # A change of the configuration that changes the sandbox changes the unit itself, so a switch
  # restarts the agent instead of reloading it (reloadTriggers) into the sandbox it has.
  sandboxed = cfg.agentSandbox == "auto" && !runsForeignCode;
  lowPort = address: address != null && portOf address < 1024;
  # None is needed for what the agent, as uid 0, writes itself: the state and runtime directories,
  # /proc/sysrq-trigger (root's, mode 0200; the kernel checks no capability on a write) and the
  # watchdog device (root's, 0600). Nor for starting and stopping units (systemd and microvm
  # resources): systemd grants them to a caller with CAP_SYS_ADMIN or, when it cannot know the
  # caller's capabilities (through the D-Bus daemon, which does not report them), to a caller of
  # its own uid (sd_bus_query_sender_privilege), and only then asks polkit.
  agentCapabilities =
    # chown of the control socket to a group root is not a member of
    lib.optional (cfg.controlSocketGroup != null) "CAP_CHOWN"
    # a mesh or metrics port below 1024
    ++ lib.optional (lowPort (cfg.nodes.${cfg.nodeName}.address or null) || lowPort cfg.metricsAddress) "CAP_NET_BIND_SERVICE"
    # ip address add/del (netlink) and arping's packet socket
    ++ lib.optionals hasVirtualIps [ "CAP_NET_ADMIN" "CAP_NET_RAW" ];
  agentSandbox = {
    # one line: an empty list would write none, and leave every capability
    CapabilityBoundingSet = lib.concatStringsSep " " agentCapabilities;
    NoNewPrivileges = true;
    # / read-only, but for the state and runtime directories (StateDirectory, RuntimeDirectory)
    ProtectSystem = "strict";
    # Kernel tunables read-only, but for the IPv6 sysctls the virtual IP driver sets (ndisc_notify):
    # a path below a read-only one is made writable again. ProtectKernelTunables also makes
    # /proc/sysrq-trigger read-only, and a ReadWritePaths= entry of that same path does not win
    # over it (systemd keeps the read-only one of two entries for one path): with the sysrq-reboot
    # self-fence, /proc/sys and /sys are made read-only by name instead.
    ProtectKernelTunables = cfg.selfFence != "sysrq-reboot";
    ReadOnlyPaths = lib.optionals (cfg.selfFence == "sysrq-reboot") [ "/proc/sys" "/sys" ];
    ReadWritePaths = lib.optional hasVirtualIps "/proc/sys/net/ipv6/conf";
    # fence agents that log in over SSH read root's keys
    ProtectHome = if fenceDevices != { } then "read-only" else true;
    PrivateTmp = true;
    PrivateMounts = true;
    # no device but the watchdog the agent feeds (and /dev/null, random, … that DevicePolicy=closed keeps)
    DevicePolicy = "closed";
    DeviceAllow = lib.optional (cfg.fencing.watchdogDevice != null) "${cfg.fencing.watchdogDevice} rw";
    ProtectKernelModules = true;
    ProtectKernelLogs = true;
    ProtectControlGroups = true;
    ProtectClock = true;
    ProtectHostname = true;
    RestrictNamespaces = true;
    RestrictRealtime = true;
    RestrictSUIDSGID = true;
    # the mesh, the control socket, D-Bus and systemd-notify; netlink for ip (and getifaddrs),
    # packet sockets for arping
    RestrictAddressFamilies = [ "AF_UNIX" "AF_INET" "AF_INET6" "AF_NETLINK" ] ++ lib.optional hasVirtualIps "AF_PACKET";
    # V8 protects its compiled code with memory protection keys (pkey_*), outside @system-service;
    # not set: MemoryDenyWriteExecute (V8 compiles to executable memory)
    SystemCallFilter = [ "@system-service" "pkey_alloc" "pkey_free" "pkey_mprotect" ];
    SystemCallErrorNumber = "EPERM";
    KeyringMode = "private";
    # the control socket and state files get their modes set explicitly
    UMask = "0077";
  };

  # one argument of ExecStart=: quoted as systemd reads it, with its % specifiers and $ variables
  # kept literal (as nixpkgs' utils.escapeSystemdExecArg)
  escapeExecArg = arg: lib.replaceStrings [ "%" "$" ] [ "%%" "$$" ] (builtins.toJSON arg);

  # fence devices, and the parameters of theirs that would put a secret into the store
  fenceDevices = cfg.fencing.devices;
  secretKeys = [ "password" "passwd" "snmp_priv_passwd" ];
  devicesWithSecrets = lib.filterAttrs (_: d: builtins.any (k: d.parameters ? ${k}) secretKeys) fenceDevices;

  # The WireGuard mesh: every member (the nodes, and the witness when declared) by name, this
  # machine's own name among them, and each member's mesh address as a host route.
  members = lib.mapAttrs (_: n: { inherit (n) address publicKey; }) cfg.nodes
    // lib.optionalAttrs (cfg.witness.name != null && cfg.witness.address != null) { ${cfg.witness.name} = { inherit (cfg.witness) address publicKey; }; };
  self = if cfg.enable then cfg.nodeName else cfg.witness.name;
  hostRoute = address:
    let bracketed = builtins.match "[[](.*)[]]:[0-9]+" address; in
    if bracketed != null then "${builtins.head bracketed}/128"
    else "${builtins.head (builtins.match "(.*):[0-9]+" address)}/32";
  isMember = self != null && members ? ${self};
  peers = lib.filterAttrs (name: _: name != self) members;
  meshPort = if cfg.enable then (if builtins.elem cfg.nodeName nodeNames then portOf cfg.nodes.${cfg.nodeName}.address else null)
    else if cfg.witness.address != null then portOf cfg.witness.address else null;
  wgUnit = "wireguard-${cfg.meshInterface}.service";

  # The units the cluster runs (kind "systemd"), by resource id: the unit's name without its
  # suffix (as systemd.services, systemd.sockets, … name them), its type, and for a template
  # instance (name@instance.service) the template's name ("name@", as systemd.services names it).
  resourceUnits = lib.mapAttrs (_: r:
    let
      parts = builtins.match "(.+)[.]([a-z]+)" r.params.unit;
      base = builtins.head parts;
      instance = builtins.match "([^@]+@)(.+)" base;
    in { inherit (r.params) unit; inherit base; type = builtins.elemAt parts 1; template = if instance == null then null else builtins.head instance; })
    (lib.filterAttrs (_: r: r.kind == "systemd" && builtins.match "(.+)[.]([a-z]+)" (r.params.unit or "") != null) cfg.resources);
  unitsOfType = type: lib.filter (u: u.type == type) (builtins.attrValues resourceUnits);
  # the option set of each unit type that NixOS declares by name (systemd.mounts and
  # systemd.automounts are lists, found by where)
  unitSets = { service = "services"; socket = "sockets"; timer = "timers"; target = "targets"; path = "paths"; };

  # Whether some module other than this one declares systemd.SET.NAME. This module sets options
  # on the cluster's units (below); a unit no one else declares would become a unit file of its own
  # with nothing to run (and for a template instance, one that hides the template).
  thisFile = toString ./default.nix;
  declaredElsewhere = set: name: builtins.any (d: d.file != thisFile && builtins.isAttrs d.value && d.value ? ${name})
    (options.systemd.${set}.definitionsWithLocations or [ ]);
  # a mount point as systemd names its unit (systemd-escape --path), for the characters a path in
  # fileSystems commonly has
  mountUnitBase = where: if where == "/" then "-" else
    lib.replaceStrings [ "/" ] [ "-" ] (lib.replaceStrings [ "-" "\\" ] [ "\\x2d" "\\x5c" ] (lib.removeSuffix "/" (lib.removePrefix "/" where)));
  declaredMount = set: base: builtins.any (m: mountUnitBase m.where == base) (config.systemd.${set} or [ ]);
  fileSystemOf = base: lib.findFirst (fs: mountUnitBase fs.mountPoint == base) null (builtins.attrValues (config.fileSystems or { }));
  # Does the unit a resource names exist in this system? A template instance exists through its
  # template (systemd.services."name@") or as an instance declared on its own (containers.NAME
  # declares container@NAME); a mount through systemd.mounts or fileSystems; an automount through
  # systemd.automounts or a fileSystems entry with x-systemd.automount. Units that only a package
  # in systemd.packages ships are invisible here: `systemd.services.NAME = { };` (sockets, …)
  # declares them. Swap units are not looked for.
  unitExists = u:
    if unitSets ? ${u.type} then declaredElsewhere unitSets.${u.type} u.base || (u.template != null && declaredElsewhere unitSets.${u.type} u.template)
    else if u.type == "mount" then declaredMount "mounts" u.base || fileSystemOf u.base != null
    else if u.type == "automount" then declaredMount "automounts" u.base || (let fs = fileSystemOf u.base; in fs != null && builtins.elem "x-systemd.automount" fs.options)
    else true;
  # where a resource's unit is declared, for the assertion's message
  declaration = u:
    if unitSets ? ${u.type} then
      let at = name: lib.showOption [ "systemd" unitSets.${u.type} name ]; in
      if u.template != null then "${at u.template} (the template) or ${at u.base}; if a package in systemd.packages ships the template, say so with ${at u.template} = { }"
      else "${at u.base}; if a package in systemd.packages ships it, say so with ${at u.base} = { }"
    else if u.type == "mount" then "systemd.mounts or fileSystems"
    else "systemd.automounts or fileSystems, with x-systemd.automount";

  # The declared units (other than the cluster's own) whose wants, requires or upholds name a unit,
  # as option paths: systemd.targets.multi-user.wants, …
  clusterUnits = map (u: u.unit) (builtins.attrValues resourceUnits);
  pullersOf = unit: lib.concatLists (lib.mapAttrsToList (type: set:
    lib.concatLists (lib.mapAttrsToList (name: def:
      map (dep: lib.showOption [ "systemd" set name dep ])
        (builtins.filter (dep: builtins.elem unit (def.${dep} or [ ])) [ "wants" "requires" "upholds" ]))
      (lib.filterAttrs (name: _: !(builtins.elem "${name}.${type}" clusterUnits)) (config.systemd.${set} or { }))))
    unitSets);

  # What the agent, not NixOS, starts: every unit of the cluster, and the services that its
  # sockets and timers start (NAME.service, or the template NAME@.service of an Accept=yes socket).
  # NixOS must neither start them at boot (wantedBy forced empty) nor restart or stop them on a
  # switch. Template instances are not set when only the template is declared: a NixOS definition
  # of an instance would be a unit file of its own that hides the template's.
  ownedServices = lib.unique (map (u: u.base) (unitsOfType "service")
    ++ lib.concatMap (u: [ u.base "${u.base}@" ]) (unitsOfType "socket" ++ unitsOfType "timer" ++ unitsOfType "path"));
  ownedOthers = type: lib.unique (map (u: u.base) (unitsOfType type));

  # NixOS containers the cluster runs (container@NAME.service), by container name
  resourceContainers = lib.mapAttrs (_: r: builtins.head (builtins.match "container@(.+)[.]service" r.params.unit))
    (lib.filterAttrs (_: r: r.kind == "systemd" && builtins.match "container@(.+)[.]service" (r.params.unit or "") != null) cfg.resources);
  # microVMs the cluster runs, by microvm.nix name
  resourceVms = lib.mapAttrs (_: r: r.params.name or "") (lib.filterAttrs (_: r: r.kind == "microvm") cfg.resources);
  declaredVm = name: builtins.any (d: d.file != thisFile && builtins.isAttrs d.value && d.value ? ${name})
    (options.microvm.vms.definitionsWithLocations or [ ]);

  # The checked configuration as the daemons read it: a path in /etc that a switch points at the
  # new file before it reloads the units, so SIGHUP re-reads the new configuration.
  configPath = "/etc/tsha/config.json";

  # What the agent and the witness units share: started at boot once the network is up; a switch
  # that changes only the configuration reloads them (ExecReload: SIGHUP, the daemon applies the new
  # file or refuses it and keeps running), and any other change of the unit (a new package, other
  # flags) restarts them in one step (stopIfChanged = false: the old daemon is stopped only once
  # the new system is in place, and a restarted agent re-adopts its resources). What the daemon
  # cannot take from a reload (the cluster id, its own mesh address) is a restart trigger.
  commonUnit = {
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-online.target" ];
    after = [ "network-online.target" ];
    reloadTriggers = [ checkedConfig ];
    stopIfChanged = false;
    path = [ pkgs.systemd ]; # systemd-notify
    # systemd gives up on a unit restarted 5 times in 10 s (its defaults); a node whose mesh or
    # tunnel takes longer to come up must not end with its agent given up for good
    startLimitIntervalSec = 0;
  };
  commonService = {
    Type = "notify";
    # Node has no Unix datagram sockets: the agent notifies through `systemd-notify --pid=<agent>`
    # run by a helper shell (src/adapters/sd-notify.ts); as root it sends with the agent's
    # credentials, and NotifyAccess=all also covers an agent that does not run as root.
    NotifyAccess = "all";
    WatchdogSec = "${toString cfg.systemdWatchdogSec}s";
    ExecReload = "${pkgs.coreutils}/bin/kill -HUP $MAINPID";
    Restart = "on-failure";
    # 1 s after the first failure, growing to 10 s over 5 restarts while it keeps failing
    RestartSec = "1s";
    RestartSteps = 5;
    RestartMaxDelaySec = "10s";
    # V8's young generation capped at 1 MiB per semi-space: the agent allocates little but steadily,
    # and with the default (up to 16 MiB) its RSS drifted from 65 to 100 MiB between collections
    # (npm run bench:failover, idle: 65 to 71 MiB with the cap, no measurable CPU cost).
    Environment = [ "NODE_OPTIONS=--max-semi-space-size=1" ];
  };
in
{
  imports = [ ./options.nix ];

  config = lib.mkMerge [
    (lib.mkIf (cfg.enable || cfg.witness.enable) {
      assertions = [
        {
          assertion = !(cfg.enable && cfg.witness.enable);
          message = "services.tsha: this machine is both a node (services.tsha.enable) and the witness (services.tsha.witness.enable); the witness must run on a third machine.";
        }
        {
          assertion = !cfg.enable || builtins.elem cfg.nodeName nodeNames;
          message = "services.tsha.nodeName \"${cfg.nodeName}\" is not one of services.tsha.nodes (${lib.concatStringsSep ", " nodeNames}).";
        }
        {
          assertion = !cfg.witness.enable || (cfg.witness.name != null && cfg.witness.address != null);
          message = "services.tsha.witness.enable: the witness needs services.tsha.witness.name and services.tsha.witness.address.";
        }
        {
          assertion = !cfg.softdog || (cfg.fencing.enabled && cfg.fencing.watchdog);
          message = "services.tsha.softdog: the watchdog device is fed by watchdog fencing; set services.tsha.fencing.watchdog = true (and fencing.enabled).";
        }
        {
          assertion = !witnessDeclared || builtins.length nodeNames == 2;
          message = "services.tsha.witness: a witness breaks ties between exactly two nodes; services.tsha.nodes has ${toString (builtins.length nodeNames)}.";
        }
      ]
      # A microVM the cluster runs is started by tsha on one node only: microvm.nix's autostart
      # (on by default for microvm.vms, and any name in the microvm.autostart list) would start it
      # at boot, through microvms.target, on every node that declares it, and its restartIfChanged
      # (on by default for a declarative VM) would restart it on a switch. The module turns both
      # off (mkDefault, below); this fires when the configuration turns them on again.
      ++ lib.mapAttrsToList (id: name: {
        assertion = !cfg.enable || !(config.microvm.vms.${name}.autostart or false || config.microvm.vms.${name}.restartIfChanged or false || builtins.elem name (config.microvm.autostart or [ ]));
        message = "services.tsha.resources.${id}: microvm.vms.${name}.autostart and .restartIfChanged must be false (and \"${name}\" not in microvm.autostart): tsha starts the VM on one node; autostart would start it at boot on every node that declares it, and restartIfChanged would restart it on a switch.";
      }) resourceVms
      # every unit the cluster runs exists in this system (see unitExists)
      ++ lib.mapAttrsToList (id: u: {
        assertion = !cfg.enable || unitExists u;
        message = "services.tsha.resources.${id}: no module of this system declares the unit ${u.unit}: declare it in ${declaration u}.";
      }) (lib.filterAttrs (_: u: u.type != "swap") resourceUnits)
      # nor does another unit pull one in (Wants=, Requires=, Upholds= of a target, a service, …):
      # it would be started with that unit, on every node
      ++ lib.mapAttrsToList (id: u: let pullers = pullersOf u.unit; in {
        assertion = !cfg.enable || pullers == [ ];
        message = "services.tsha.resources.${id}: ${lib.concatStringsSep ", " pullers} ${if builtins.length pullers == 1 then "names" else "name"} ${u.unit}: tsha starts it on one node, and it would be started with ${if builtins.length pullers == 1 then "that unit" else "those units"} on every node.";
      }) resourceUnits
      # mounts are lists in NixOS (no option of theirs can be forced from here): asserted instead.
      # A fileSystems entry without noauto is mounted at boot (local-fs.target) on every node.
      ++ lib.concatLists (lib.mapAttrsToList (id: u: let fs = fileSystemOf u.base; in
        lib.optional (fs != null) {
          assertion = !cfg.enable || builtins.elem "noauto" fs.options;
          message = "services.tsha.resources.${id}: fileSystems.\"${fs.mountPoint}\".options must have \"noauto\": tsha mounts ${u.unit} on one node, and without it every node mounts it at boot.";
        }
        ++ map (m: {
          assertion = !cfg.enable || (m.wantedBy == [ ] && m.requiredBy == [ ]);
          message = "services.tsha.resources.${id}: the systemd.mounts entry for ${m.where} must have no wantedBy or requiredBy: tsha mounts ${u.unit} on one node, and they would mount it on every node.";
        }) (builtins.filter (m: mountUnitBase m.where == u.base) (config.systemd.mounts or [ ])))
        (lib.filterAttrs (_: u: u.type == "mount") resourceUnits))
      # likewise a NixOS container: autoStart would start it at boot (machines.target) everywhere
      ++ lib.mapAttrsToList (id: name: {
        assertion = !cfg.enable || !(config.containers.${name}.autoStart or false);
        message = "services.tsha.resources.${id}: containers.${name}.autoStart must be false: tsha starts the container on one node, and autoStart would start it at boot on every node that declares it.";
      }) resourceContainers
      ++ lib.mapAttrsToList (name: file: {
        assertion = !cfg.enable || (builtins.match "[A-Za-z0-9_.-]+" name != null && lib.hasPrefix "/" file && !(lib.hasPrefix builtins.storeDir file));
        message = "services.tsha.fenceCredentials.${name} = \"${file}\": a credential is a name of letters, digits, '_', '.' and '-', and an absolute path outside the Nix store (a file in the store is readable by anyone on the machine).";
      }) cfg.fenceCredentials
      ++ lib.optionals cfg.wireguard.enable ([
        {
          assertion = cfg.meshInterface != null;
          message = "services.tsha.wireguard.enable: the interface needs a name (services.tsha.meshInterface).";
        }
        {
          assertion = cfg.wireguard.privateKeyFile != null && !(lib.hasPrefix builtins.storeDir cfg.wireguard.privateKeyFile);
          message = "services.tsha.wireguard.privateKeyFile: set it to this machine's WireGuard private key, a file outside the Nix store.";
        }
        {
          assertion = isMember;
          message = "services.tsha.wireguard.enable: this machine (${self}) is not a member of the cluster (services.tsha.nodes, services.tsha.witness).";
        }
      ] ++ lib.mapAttrsToList (name: m: {
        assertion = m.publicKey != null && cfg.wireguard.endpoints ? ${name};
        message = "services.tsha.wireguard: the peer ${name} needs its publicKey (services.tsha.${if cfg.nodes ? ${name} then "nodes.${name}" else "witness"}.publicKey) and its underlay address (services.tsha.wireguard.endpoints.${name}).";
      }) peers);
      warnings = lib.optional (cfg.enable && cfg.fencing.watchdogDevice != null && (config.systemd.watchdog.runtimeTime or null) != null)
        "services.tsha.fencing.watchdogDevice = ${cfg.fencing.watchdogDevice} while systemd.watchdog.runtimeTime is set: systemd holds a watchdog device open, and the agent cannot open that same one (EBUSY); give tsha another device (services.tsha.softdog) or leave runtimeTime unset."
      ++ lib.mapAttrsToList (id: _: "services.tsha.fencing.devices.${id}.parameters: a password given in the configuration ends up in the Nix store, readable by anyone on the machine; use passwd_script with services.tsha.fenceCredentials instead.") devicesWithSecrets
      ++ lib.optional (cfg.enable && cfg.selfFence == "exit" && !cfg.fencing.watchdog)
        "services.tsha.selfFence = \"exit\" without fencing.watchdog: a node that must fence itself only kills its agent, and its resources keep running; use \"sysrq-reboot\" or watchdog fencing.";
      environment.systemPackages = [ cfg.package ];
      environment.etc."tsha/config.json".source = checkedConfig; # configPath
    })

    (lib.mkIf cfg.enable {
      systemd.services.tsha-agent = commonUnit // {
        restartTriggers = [ cfg.cluster.id (cfg.nodes.${cfg.nodeName}.address or null) ];
        description = "tsha high-availability agent (node ${cfg.nodeName} of ${cfg.cluster.name})";
        path = commonUnit.path ++ (if hasVirtualIps then [ pkgs.iproute2 pkgs.iputils ] else [ ]) ++ lib.optional runsLxc pkgs.lxc
          ++ lib.optional (fenceDevices != { } && cfg.fenceAgentsPackage != null) cfg.fenceAgentsPackage;
        # A restarted agent re-adopts the resources its node runs: stopping or restarting this unit
        # must not stop them. Resources are their own units; KillMode=process also spares what an
        # exec resource started.
        serviceConfig = commonService // {
          ExecStart = lib.concatStringsSep " " ([
            "${cfg.package}/bin/tsha --log-level ${cfg.logLevel} agent"
            "--config ${configPath} --node ${cfg.nodeName}"
            "--state-dir /var/lib/tsha --socket /run/tsha/control.sock"
            "--self-fence ${escapeExecArg cfg.selfFence}"
          ]
          ++ lib.optional (cfg.controlSocketGroup != null) "--socket-group ${cfg.controlSocketGroup}"
          ++ lib.optional (cfg.metricsAddress != null) "--metrics-address ${cfg.metricsAddress}"
          ++ lib.optional (ocfRoot != null) "--ocf-root ${ocfRoot}");
          KillMode = "process";
          # The agent runs the cluster's resources as its children (exec commands, OCF agents that
          # mount filesystems and add addresses, lxc-start with its namespaces and cgroups, fence
          # agents, drbdadm that loads its module): whatever sandbox it had, they would inherit.
          # With such resources (or agentSandbox = "none") it runs as root, unconfined like
          # Pacemaker's daemons, but for what no resource needs: other architectures' system calls
          # and personality changes. Without them, agentSandbox (above) bounds it.
          SystemCallArchitectures = "native";
          LockPersonality = true;
          LoadCredential = lib.mapAttrsToList (name: file: "${name}:${file}") cfg.fenceCredentials;
          StateDirectory = "tsha";
          StateDirectoryMode = "0700";
          # the control socket (tsha status, tsha resource …) lives in /run/tsha; systemd makes the
          # directory root's, so with a controlSocketGroup it is 0755 for the group's members to reach
          # the socket (0660, that group's), which is what guards it
          RuntimeDirectory = "tsha";
          RuntimeDirectoryMode = if cfg.controlSocketGroup != null then "0755" else "0750";
        } // lib.optionalAttrs sandboxed agentSandbox;
      };
    })

    # The cluster owns its units: they are not started at boot (NixOS modules commonly want
    # services from multi-user.target, sockets from sockets.target, timers from timers.target, so
    # wantedBy, requiredBy and upheldBy are forced empty), and nixos-rebuild switch neither restarts nor stops a changed one,
    # which would move it under the agent's feet (a service: restartIfChanged and stopIfChanged;
    # a timer or a path unit: X-OnlyManualStart, which the switch reads for those; a changed socket
    # is left alone by the switch anyway). The agent starts and stops them on the node the plan
    # places them on. Each is set only where another module declares the unit (mkIf: the name is
    # dropped otherwise), so nothing here makes a unit of its own.
    (lib.mkIf cfg.enable {
      systemd.services = lib.genAttrs ownedServices (name: lib.mkIf (declaredElsewhere "services" name) {
        wantedBy = lib.mkForce [ ];
        requiredBy = lib.mkForce [ ];
        upheldBy = lib.mkForce [ ];
        restartIfChanged = lib.mkForce false;
        stopIfChanged = lib.mkForce false;
      });
      systemd.sockets = lib.genAttrs (ownedOthers "socket") (name: lib.mkIf (declaredElsewhere "sockets" name) {
        wantedBy = lib.mkForce [ ];
        requiredBy = lib.mkForce [ ];
        upheldBy = lib.mkForce [ ];
      });
      systemd.timers = lib.genAttrs (ownedOthers "timer") (name: lib.mkIf (declaredElsewhere "timers" name) {
        wantedBy = lib.mkForce [ ];
        requiredBy = lib.mkForce [ ];
        upheldBy = lib.mkForce [ ];
        unitConfig.X-OnlyManualStart = lib.mkForce true;
      });
      systemd.paths = lib.genAttrs (ownedOthers "path") (name: lib.mkIf (declaredElsewhere "paths" name) {
        wantedBy = lib.mkForce [ ];
        requiredBy = lib.mkForce [ ];
        upheldBy = lib.mkForce [ ];
        unitConfig.X-OnlyManualStart = lib.mkForce true;
      });
      systemd.targets = lib.genAttrs (ownedOthers "target") (name: lib.mkIf (declaredElsewhere "targets" name) {
        wantedBy = lib.mkForce [ ];
        requiredBy = lib.mkForce [ ];
        upheldBy = lib.mkForce [ ];
      });
    })

    # The cluster's microVMs, where this machine declares them (microvm.nix imported, and
    # microvm.vms.NAME declared by another module: an entry made here would be a VM of its own):
    # not started at boot, not restarted by a switch.
    (lib.mkIf cfg.enable (lib.optionalAttrs (lib.hasAttrByPath [ "microvm" "vms" ] options) {
      microvm.vms = lib.listToAttrs (map (name: lib.nameValuePair name (lib.mkIf (declaredVm name) {
        autostart = lib.mkDefault false;
        restartIfChanged = lib.mkDefault false;
      })) (lib.unique (builtins.attrValues resourceVms)));
    }))

    # OCF agents from resource-agents keep their state in /run/resource-agents (IPaddr2's send_arp
    # pid file, Dummy's state), which their own tmpfiles.d makes on other distributions
    (lib.mkIf (cfg.enable && ocfRoot != null) {
      systemd.tmpfiles.rules = [ "d /run/resource-agents 1755 root root -" ];
    })

    # the alert rules, checked by Prometheus' own checker as the configuration is by tsha's
    (lib.mkIf cfg.prometheusRules {
      services.prometheus.ruleFiles = [
        (pkgs.runCommand "tsha-alert-rules.yml" { nativeBuildInputs = [ pkgs.prometheus.cli ]; passthru = { inherit alertRules; }; } ''
          promtool check rules ${alertRules}
          cp ${alertRules} $out
        '')
      ];
    })

    # the scrape job of the alert rules (job="tsha"): every node's agent on its mesh host
    (lib.mkIf cfg.prometheusScrape.enable {
      services.prometheus.scrapeConfigs = [
        {
          job_name = "tsha";
          static_configs = [ { targets = map (name: "${meshHost cfg.nodes.${name}.address}:${toString cfg.prometheusScrape.port}") nodeNames; } ];
        }
      ];
    })

    # the Grafana dashboard, provisioned from a directory of its own (services.grafana reads it)
    (lib.mkIf cfg.grafanaDashboard {
      services.grafana.provision.enable = true;
      services.grafana.provision.dashboards.settings.providers = [
        {
          name = "tsha";
          type = "file";
          options.path = pkgs.runCommand "tsha-grafana-dashboards" { passthru.dashboard = ./grafana-dashboard.json; } ''
            mkdir $out
            cp ${./grafana-dashboard.json} $out/tsha.json
          '';
        }
      ];
    })

    # softdog as the watchdog device: its timeout (soft_margin, seconds) is timing.watchdogMs
    (lib.mkIf (cfg.enable && cfg.softdog) {
      boot.kernelModules = [ "softdog" ];
      boot.extraModprobeConfig = "options softdog soft_margin=${toString (cfg.timing.watchdogMs / 1000)}";
      services.tsha.fencing.watchdogDevice = lib.mkDefault "/dev/watchdog";
    })

    (lib.mkIf cfg.witness.enable {
      systemd.services.tsha-witness = commonUnit // {
        restartTriggers = [ cfg.cluster.id cfg.witness.address ];
        description = "tsha witness for cluster ${cfg.cluster.name}";
        serviceConfig = commonService // {
          ExecStart = "${cfg.package}/bin/tsha --log-level ${cfg.logLevel} witness --config ${configPath} --state-dir /var/lib/tsha-witness";
          DynamicUser = true;
          StateDirectory = "tsha-witness";
          StateDirectoryMode = "0700";
          # The witness only answers the mesh and keeps its state file: locked down. Not set:
          # MemoryDenyWriteExecute (V8 compiles to executable memory), PrivateNetwork and
          # IPAddressDeny (it serves the mesh), AF_UNIX is kept for systemd-notify.
          CapabilityBoundingSet = "";
          AmbientCapabilities = "";
          NoNewPrivileges = true;
          PrivateTmp = true;
          PrivateDevices = true;
          PrivateUsers = true;
          PrivateMounts = true;
          ProtectSystem = "strict";
          ProtectHome = true;
          ProtectKernelTunables = true;
          ProtectKernelModules = true;
          ProtectKernelLogs = true;
          ProtectControlGroups = true;
          ProtectClock = true;
          ProtectHostname = true;
          ProtectProc = "invisible";
          ProcSubset = "pid";
          RestrictAddressFamilies = [ "AF_INET" "AF_INET6" "AF_UNIX" ];
          RestrictNamespaces = true;
          RestrictRealtime = true;
          RestrictSUIDSGID = true;
          LockPersonality = true;
          SystemCallArchitectures = "native";
          # V8 protects its compiled code with memory protection keys (pkey_*), outside
          # @system-service; any other call left out fails with EPERM (libuv falls back) rather
          # than killing the witness
          SystemCallFilter = [ "@system-service" "pkey_alloc" "pkey_free" "pkey_mprotect" "~@privileged" ];
          SystemCallErrorNumber = "EPERM";
          RemoveIPC = true;
          UMask = "0077";
          DevicePolicy = "closed";
          KeyringMode = "private";
        };
      };
    })

    # The mesh port: on the mesh interface only when there is one
    (lib.mkIf ((cfg.enable || cfg.witness.enable) && cfg.openFirewall && meshPort != null && cfg.meshInterface != null) {
      networking.firewall.interfaces.${cfg.meshInterface}.allowedTCPPorts = [ meshPort ];
    })
    (lib.mkIf ((cfg.enable || cfg.witness.enable) && cfg.openFirewall && meshPort != null && cfg.meshInterface == null) {
      networking.firewall.allowedTCPPorts = [ meshPort ];
    })

    (lib.mkIf ((cfg.enable || cfg.witness.enable) && cfg.wireguard.enable && cfg.meshInterface != null && isMember) {
      networking.wireguard.interfaces.${cfg.meshInterface} = {
        ips = [ (hostRoute members.${self}.address) ];
        inherit (cfg.wireguard) listenPort privateKeyFile;
        peers = lib.mapAttrsToList (name: m: {
          publicKey = m.publicKey;
          endpoint = cfg.wireguard.endpoints.${name} or null;
          allowedIPs = [ (hostRoute m.address) ];
          inherit (cfg.wireguard) persistentKeepalive;
        }) (lib.filterAttrs (_: m: m.publicKey != null) peers);
      };
      networking.firewall.allowedUDPPorts = lib.mkIf cfg.openFirewall [ cfg.wireguard.listenPort ];
      systemd.services.${if cfg.enable then "tsha-agent" else "tsha-witness"} = {
        wants = [ wgUnit ];
        after = [ wgUnit ];
      };
    })
  ];
}
