# services.tsha: the interface of the module (default.nix is the implementation).
# The options that mirror tsha's JSON configuration are generated from the options table
# (src/config/options.ts → generated-options.nix); this file adds what only the module needs.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption types;
  generated = import ./generated-options.nix { inherit lib; };
in
{
  options.services.tsha = generated.options // {
    enable = mkEnableOption "the tsha agent on this node (systemd service tsha-agent)";

    package = mkOption {
      type = types.package;
      description = "The tsha package. The flake's nixosModules.default sets it to the flake's own package.";
    };

    nodeName = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "Which of services.tsha.nodes this machine is.";
    };

    logLevel = mkOption {
      type = types.enum [ "fatal" "error" "warn" "info" "debug" "trace" ];
      default = "info";
      description = "Log level of the agent and the witness (tsha --log-level).";
    };

    systemdWatchdogSec = mkOption {
      type = types.ints.positive;
      default = 10;
      description = ''
        systemd restarts the agent when it has not reported WATCHDOG=1 for this many seconds (the
        agent reports only while its event loop and core are healthy). Independent of the
        hardware watchdog of timing.watchdogMs.
      '';
    };

    softdog = mkEnableOption ''
      the softdog kernel module as this node's watchdog device, for watchdog fencing
      (fencing.watchdog) on a machine without a hardware watchdog. It is loaded with
      soft_margin = timing.watchdogMs / 1000 (the device's timeout must equal timing.watchdogMs), and
      fencing.watchdogDevice defaults to "/dev/watchdog". softdog resets the machine when the agent
      stops feeding it, but not when the kernel itself hangs: prefer a hardware watchdog (load its
      driver with that timeout and set fencing.watchdogDevice). On a machine that also has a hardware
      watchdog softdog is another /dev/watchdogN: set fencing.watchdogDevice to it. Do not let
      systemd (systemd.watchdog.runtimeTime) hold the device tsha uses'';

    controlSocketGroup = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "wheel";
      description = "Group that may use the control socket /run/tsha/control.sock (tsha status, tsha resource …); null: root only.";
    };

    metricsAddress = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "127.0.0.1:9740";
      description = "Serve Prometheus metrics on http://ADDRESS/metrics; null: off (process metrics and step durations are then not measured at all).";
    };

    ocfRoot = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = lib.literalExpression ''"''${pkgs.ocf-resource-agents}/usr/lib/ocf"'';
      description = "OCF_ROOT of the OCF resource agents the agent runs (kind \"ocf\": resource.d/<provider>/<type> under it); null: pkgs.ocf-resource-agents (resource-agents, pacemaker's and DRBD's agents) when the configuration has an ocf resource. The agents find their tools on the agent's PATH: add what they need (e.g. iproute2 for IPaddr2) to systemd.services.tsha-agent.path.";
    };

    selfFence = mkOption {
      type = types.either (types.enum [ "sysrq-reboot" "exit" ]) (types.strMatching "command:.+");
      default = "sysrq-reboot";
      example = "command:systemctl reboot --force --force";
      description = ''
        What the agent does when it must fence itself (lost quorum with noQuorumPolicy "fence", or a
        fence action aimed at its own node): "sysrq-reboot" resets the machine at once through
        /proc/sysrq-trigger (falling back to killing the agent, so a fed watchdog resets it);
        "exit" kills the agent only, which resets the machine only when watchdog fencing
        (fencing.watchdog) feeds a watchdog device; "command:CMD" runs CMD with /bin/sh, then kills
        the agent (tsha agent --self-fence).
      '';
    };

    agentSandbox = mkOption {
      type = types.enum [ "auto" "none" ];
      default = "auto";
      description = ''
        The sandbox of tsha-agent. The agent runs the cluster's resources and fence agents as
        its children, which inherit it. "auto": when every resource is of kind systemd, microvm
        (without readyCommand) or ip, without storage, the self-fence is not a command and no
        fence device fences through the disks (unfence, fence_scsi, fence_mpath, fence_sbd), the
        work is done by systemd over D-Bus, iproute2 and arping, fence agents over the network and
        the agent itself, and the unit is bounded to that: the capabilities CAP_NET_ADMIN and
        CAP_NET_RAW (ip resources), CAP_CHOWN (controlSocketGroup) and CAP_NET_BIND_SERVICE (a
        mesh or metrics port below 1024) and no other; a read-only system (ProtectSystem=strict;
        writable: the state and runtime directories); read-only kernel tunables
        (ProtectKernelTunables; with the sysrq-reboot self-fence, which writes
        /proc/sysrq-trigger, /proc/sys and /sys by name) but for /proc/sys/net/ipv6/conf (IPv6
        virtual IPs); a private /tmp; /home read-only with fence devices (SSH keys), hidden
        otherwise; no device but the watchdog; no kernel modules, logs, clock, hostname,
        namespaces or realtime; the address families unix, inet, inet6, netlink (and packet with
        ip resources); the @system-service system calls. A fence agent that needs more than that
        (a device, a write outside those paths) needs "none". With exec, ocf or lxc resources,
        storage (drbd, rbd), a microVM readyCommand or a "command:" self-fence, programs of the
        configuration's choosing run as the agent's children, and it stays unconfined as "none"
        leaves it: root with every capability, only other architectures' system calls and
        personality changes refused.
      '';
    };

    fenceAgentsPackage = mkOption {
      type = types.nullOr types.package;
      default = pkgs.fence-agents;
      defaultText = lib.literalExpression "pkgs.fence-agents";
      description = ''
        The fence agents (fence_ipmilan, fence_redfish, …) on the agent's PATH, when
        fencing.devices has a device; null: none (name the agents by absolute path, or add them to
        systemd.services.tsha-agent.path).
      '';
    };

    fenceCredentials = mkOption {
      type = types.attrsOf types.str;
      default = { };
      example = { bmc-password = "/run/keys/bmc-password"; };
      description = ''
        Secrets of the fence devices, credential name → file outside the Nix store, handed to the
        agent by systemd (LoadCredential=: readable by the agent's unit only, never copied into the
        store, which anyone on the machine can read). A device reads one through fence-agents'
        passwd_script, which runs in a shell with the agent's environment:
        parameters.passwd_script = "cat $CREDENTIALS_DIRECTORY/bmc-password".
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = ''
        Open the mesh port of this node (or of the witness) in the firewall: on meshInterface only
        when it is set, else on every interface; with wireguard.enable, also WireGuard's UDP port
        (wireguard.listenPort) on every interface, for the peers' underlay.
      '';
    };

    prometheusRules = mkEnableOption ''
      tsha's alert rules (nixos-module/alert-rules.nix: a lost node, a failover, a node out of
      quorum, a silent peer, no coordinator, a failed fence, a blocked or failed resource, an agent
      Prometheus cannot scrape, an unreachable witness, configurations that differ, event-loop lag) in this machine's
      Prometheus (services.prometheus.ruleFiles), checked with promtool while building. Independent
      of enable: set it on the machine that runs Prometheus and scrapes the agents'
      metricsAddress'';

    prometheusScrape = {
      enable = mkEnableOption ''
        a scrape job named "tsha" in this machine's Prometheus (services.prometheus.scrapeConfigs),
        the job tsha's alert rules read: every node's agent at its mesh host and
        prometheusScrape.port. Each node serves its metrics there with metricsAddress =
        "<its mesh host>:<port>", and this machine reaches the mesh (a member, or routed to it).
        Independent of enable'';

      port = mkOption {
        type = types.port;
        default = 9740;
        description = "Port of the agents' metricsAddress on their mesh hosts, for prometheusScrape.";
      };
    };

    grafanaDashboard = mkEnableOption ''
      tsha's Grafana dashboard (nixos-module/grafana-dashboard.json: cluster, nodes, resources,
      failovers, fencing, storage) provisioned into this machine's Grafana
      (services.grafana.provision.dashboards), for a Prometheus data source that scrapes the
      agents. Independent of enable'';

    meshInterface = mkOption {
      type = types.nullOr types.str;
      default = if config.services.tsha.wireguard.enable then "tsha0" else null;
      defaultText = lib.literalExpression ''if config.services.tsha.wireguard.enable then "tsha0" else null'';
      example = "wg0";
      description = ''
        The network interface the mesh addresses (nodes.<name>.address) are on: the module's own
        WireGuard interface (wireguard.enable), or one this machine's configuration brings
        (networking.wireguard, systemd.network, …; order tsha-agent after it yourself). openFirewall
        opens the mesh port on it only. null: the mesh port is opened on every interface.
      '';
    };

    wireguard = {
      enable = mkEnableOption ''
        the mesh's WireGuard interface (networking.wireguard.interfaces.<meshInterface>) made from
        the node table: this machine's mesh address, and every other member (node or witness) as a
        peer with its publicKey, its wireguard.endpoints entry and its mesh address /32 (/128) as
        allowed IPs. The agent (or witness) is started after the interface'';

      listenPort = mkOption {
        type = types.port;
        default = 51820;
        description = "UDP port of the WireGuard interface, on every member (the peers' endpoints use it unless they say otherwise).";
      };

      privateKeyFile = mkOption {
        type = types.nullOr types.str;
        default = null;
        example = "/run/keys/tsha-wireguard.key";
        description = "This machine's WireGuard private key, a file outside the Nix store (the store is readable by anyone on the machine); its public key is this member's publicKey.";
      };

      endpoints = mkOption {
        type = types.attrsOf types.str;
        default = { };
        example = { alpha = "192.0.2.1:51820"; beta = "192.0.2.2:51820"; nas = "nas.example.net:51820"; };
        description = "The underlay address (host:port) at which each member, node or witness, is reached; every member other than this machine needs one.";
      };

      persistentKeepalive = mkOption {
        type = types.nullOr types.ints.positive;
        default = null;
        example = 25;
        description = "Seconds between keepalives to every peer (for members behind NAT); null: none.";
      };
    };

    witness = generated.options.witness // {
      enable = mkEnableOption "the tsha witness (`tsha witness`) on this machine: the tie-breaker of a two-node cluster, declared by services.tsha.witness.{name,address}";
    };
  };
}
