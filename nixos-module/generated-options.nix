# Generated from src/config/options.ts by `npm run docs:config`. Do not edit by hand:
# test/unit/config/generated.test.ts fails when this file and the options table differ.
{ lib }:
let
  inherit (lib) mkOption types;
  score = types.either types.int (types.enum [ "INFINITY" "+INFINITY" "-INFINITY" ]);
  scalar = types.oneOf [ types.str types.int types.bool ];
in
{
  # the options of services.tsha written to the JSON file, in the table's order
  jsonKeys = [ "cluster" "nodes" "witness" "timing" "noQuorumPolicy" "fencing" "resourceDefaults" "resources" "groups" "clones" "maintenanceMode" ];
  options = {
    cluster = {
      name = mkOption {
        type = types.str;
        description = "Human-readable cluster name, shown by tsha status.";
      };
      id = mkOption {
        type = types.str;
        description = "Cluster id carried in every mesh message; agents with another id are ignored.";
      };
    };
    nodes = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          address = mkOption {
            type = types.str;
            description = "Mesh address of the agent, host:port, on the WireGuard interface.";
          };
          publicKey = mkOption {
            type = types.nullOr (types.str);
            default = null;
            description = "WireGuard public key of the node.";
          };
          votes = mkOption {
            type = types.ints.between 0 16;
            default = 1;
            description = "Quorum votes. 0 makes a node that runs resources but does not vote.";
          };
          attributes = mkOption {
            type = types.attrsOf scalar;
            default = { };
            description = "Node attributes for location rules, e.g. { rack = \"a\"; ssd = \"yes\"; }.";
          };
        };
      });
      description = "Cluster nodes by name. The quorum mode follows from them: an odd number of votes → majority; two nodes and a witness → witness; two nodes alone with fencing → two_node.";
    };
    witness = {
      name = mkOption {
        type = types.nullOr (types.str);
        default = null;
        description = "Witness name.";
      };
      address = mkOption {
        type = types.nullOr (types.str);
        default = null;
        description = "Mesh address of `tsha witness`, host:port.";
      };
      publicKey = mkOption {
        type = types.nullOr (types.str);
        default = null;
        description = "WireGuard public key of the witness.";
      };
    };
    timing = {
      heartbeatIntervalMs = mkOption {
        type = types.ints.between 10 10000;
        default = 150;
        description = "Interval between heartbeats to every peer.";
      };
      failureTimeoutMs = mkOption {
        type = types.ints.between 30 120000;
        default = 500;
        description = "A peer not heard from for this long is suspected down. At least 3 × heartbeatIntervalMs.";
      };
      electionTimeoutMs = mkOption {
        type = types.ints.between 30 120000;
        default = 500;
        description = "Base election timeout (randomised up to twice this). At least 3 × heartbeatIntervalMs so a follower does not start an election between two late heartbeats.";
      };
      leaseMs = mkOption {
        type = types.ints.between 100 600000;
        default = 2000;
        description = "A node runs resources only while its lease, renewed through the quorate partition, holds. Longer than failureTimeoutMs.";
      };
      maxDriftPpm = mkOption {
        type = types.ints.between 0 100000;
        default = 10000;
        description = "Bound on the clock drift rate between nodes, parts per million; added to every lease wait.";
      };
      watchdogMs = mkOption {
        type = types.ints.between 1000 300000;
        default = 5000;
        description = "Watchdog timeout: a node that stops feeding it is reset after this long. Whole seconds (Linux watchdogs count seconds).";
      };
      fenceRaceDelayMs = mkOption {
        type = types.ints.between 0 60000;
        default = 1000;
        description = "two_node mode: the delay one side waits before fencing its peer, so both cannot shoot each other. Must be > 0 in two_node mode.";
      };
      restartGraceMs = mkOption {
        type = types.ints.between 0 600000;
        default = 10000;
        description = "Graceful agent restart (SIGTERM, nixos-rebuild switch): the coordinator waits up to this long for the agent to come back before it treats the node as lost (fence, then recover). The node's resources keep running meanwhile. 0 disables it.";
      };
      crashGraceMs = mkOption {
        type = types.ints.between 0 600000;
        default = 10000;
        description = "Agent crash (kill -9, OOM kill) on a host that is still up: when a silent peer's mesh port refuses a TCP connect (its kernel answers with RST: host and network up, only the agent gone), the coordinator waits up to this long for the agent to come back (systemd Restart= and the agent's start-up, seconds on a loaded machine) before it treats the node as lost (fence, then recover), instead of fencing after failureTimeoutMs; an agent whose port accepts again before then is waited for until it is heard (at most 2 × electionTimeoutMs + failureTimeoutMs more). The node's units keep running and are re-adopted with the same MainPID. A powered-off host, a kernel panic or a cut link never answer with RST, so their failover is not delayed. Ignored in two_node mode. 0 disables it (needed where a power loss leaves the kernel answering, e.g. agents on loopback addresses).";
      };
    };
    noQuorumPolicy = mkOption {
      type = types.enum [ "stop" "freeze" "fence" ];
      default = "stop";
      description = "What a node does when it loses quorum or its lease: stop its resources, freeze (keep them, start nothing), or fence itself.";
    };
    fencing = {
      enabled = mkOption {
        type = types.bool;
        default = true;
        description = "Fencing (STONITH). false is an explicit, loudly reported choice, refused for DRBD storage and for a stateful resource (unless it starts after a resource holding Ceph RBD storage, whose takeover blocklists the lost node), and when two nodes run without a witness.";
      };
      watchdog = mkOption {
        type = types.bool;
        default = false;
        description = "Watchdog self-fencing (sbd-like): a node without quorum or lease stops feeding its watchdog and is reset; its peers recover after lease + drift + watchdogMs.";
      };
      watchdogDevice = mkOption {
        type = types.nullOr (types.str);
        default = null;
        description = "Watchdog device the agent feeds while fencing.watchdog allows it (sbd-like): only while the agent is healthy and, when it runs resources, holds its lease; so a node whose agent hangs, or that keeps resources past its lease, is reset within timing.watchdogMs. Production: \"/dev/watchdog\" (a hardware watchdog, or the softdog module: NixOS services.tsha.softdog loads it with soft_margin = timing.watchdogMs / 1000). The device's timeout must equal timing.watchdogMs; tsha cannot set it (no ioctl from Node), it reads it from /sys/class/watchdog and refuses to start when it is longer. Do not give tsha the device systemd feeds (systemd.watchdog.runtimeTime / RuntimeWatchdogSec): only one process can hold it open. On a clean stop the agent disarms it (magic close \"V\") only when its node runs no resources. null: no device (then nothing resets a node whose agent hangs). `tsha agent --watchdog-device` overrides it per node. Default: null (no device).";
      };
      devices = mkOption {
        type = types.attrsOf (types.submodule {
          options = {
            agent = mkOption {
              type = types.str;
              description = "Fence agent executable (fence-agents), e.g. fence_ipmilan, fence_redfish.";
            };
            parameters = mkOption {
              type = types.attrsOf scalar;
              default = { };
              description = "key=value arguments given to the agent on stdin, e.g. ip, username, lanplus. The file is world-readable in the Nix store: give fence-agents passwd_script (a command that prints the password) rather than password. action, plug and port are refused: tsha sets action, and the plug (port) of each node comes from hostMap.";
            };
            hosts = mkOption {
              type = types.listOf (types.str);
              description = "Nodes this device can fence.";
            };
            hostMap = mkOption {
              type = types.attrsOf scalar;
              default = { };
              description = "Each node's plug (port, outlet, VM name, BMC slot) on this device, as Pacemaker's pcmk_host_map: the agent gets plug=<value>. Empty: the plug is the node name. When not empty, it must give a plug for every node in hosts, and name only nodes.";
            };
            unfence = mkOption {
              type = types.bool;
              default = false;
              description = "Fabric fencing (fence_scsi, fence_mpath, …) that cuts a node off its storage instead of powering it off (Pacemaker: provides=unfencing). Every node in hosts is unfenced when it joins, at first and each time it comes back after it was down: the coordinator runs action=on for it on this device, and the node takes no resources until that succeeded (recorded in the fence history).";
            };
            timeoutMs = mkOption {
              type = types.ints.between 1000 600000;
              default = 20000;
              description = "The fence action fails when the agent takes longer.";
            };
          };
        });
        default = { };
        description = "Fence devices by id.";
      };
      levels = mkOption {
        type = types.attrsOf (types.listOf (types.listOf (types.str)));
        default = { };
        description = "Fencing topology by node: levels tried in order. A node without levels is fenced by any device that lists it in hosts.";
      };
    };
    resourceDefaults = {
      stickiness = mkOption {
        type = score;
        default = 0;
        description = "Score added to the node currently running the resource, so it does not move back when a preferred node returns (Pacemaker: resource-stickiness).";
      };
      migrationThreshold = mkOption {
        type = types.ints.between 0 1000000;
        default = 0;
        description = "After this many failures on a node the resource is banned from it until the failures expire or are cleaned up. 0 = never ban (Pacemaker's default INFINITY behaves the same in practice).";
      };
      failureTimeoutMs = mkOption {
        type = types.ints.between 0 31536000000;
        default = 0;
        description = "Failures older than this are forgotten (Pacemaker: failure-timeout). 0 = never expire.";
      };
      targetRole = mkOption {
        type = types.enum [ "started" "stopped" "promoted" "unpromoted" ];
        default = "started";
        description = "The state the cluster keeps the resource in. \"promoted\"/\"unpromoted\" apply to promotable clones only.";
      };
      managed = mkOption {
        type = types.bool;
        default = true;
        description = "false: the cluster neither starts, stops nor recovers the resource (it still monitors it).";
      };
      allowMigrate = mkOption {
        type = types.bool;
        default = false;
        description = "The resource may live-migrate (migrate_to, migrate_from) instead of stop + start: no resource of this build can live-migrate (live migration of microvm and ocf resources is planned).";
      };
      multipleActive = mkOption {
        type = types.enum [ "stop_start" "stop_only" "block" "stop_unexpected" ];
        default = "stop_start";
        description = "What is done with a resource found running on more than one node (after a partition heals, or started by hand), as Pacemaker's multiple-active. stop_start: stop every copy, then start one where it belongs. stop_only: stop every copy and keep it stopped (its target role is set to stopped, as `tsha resource disable` does). block: touch no copy: the resource is unmanaged until the operator resolves it. stop_unexpected: stop only the copies that are not where it belongs; the one there keeps running. On a group or clone it applies to the members that keep the default.";
      };
    };
    resources = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          kind = mkOption {
            type = types.enum [ "systemd" "exec" "ip" "lxc" "microvm" "ocf" ];
            description = "How the resource is run. This build runs systemd units (systemd), shell commands (exec), virtual IP addresses (ip), LXC containers (lxc), microVMs (microvm) and OCF resource agents (ocf).";
          };
          params = mkOption {
            type = types.attrsOf scalar;
            default = { };
            description = "Kind-specific parameters. systemd: unit: a unit name ending in .service, .socket, .target, .mount, .automount, .swap, .timer or .path. exec: start, stop, monitor: shell commands; monitor exits 0 when running, 7 when stopped (OCF codes). ip: address: the virtual IP with its prefix length (\"192.0.2.10/24\", \"2001:db8::10/64\"); interface: the network interface it is added to, the same name on every node; arpCount: gratuitous ARPs sent after the start, one a second (default 5, 0 sends none; IPv4 only). lxc: name: the container name; configPath: LXC's lxcpath, an absolute path (optional, default /var/lib/lxc); healthCommand: a shell command run inside the running container by every monitor (lxc-attach), healthy when it exits 0 (optional). microvm: name: the microvm.nix VM name (run as microvm@<name>.service); readyTcp: \"host:port\" of the guest that accepts a TCP connection once it is up, e.g. its SSH port on the tap network (optional); readyCommand: a shell command on the host that exits 0 once the guest is up (optional). With either, start waits until the guest is ready and each monitor checks it again. ocf: agent: \"provider:type\", e.g. \"heartbeat:IPaddr2\" (the script <OCF_ROOT>/resource.d/heartbeat/IPaddr2, shown as ocf:heartbeat:IPaddr2); every other key is an agent parameter, passed as OCF_RESKEY_<key>.";
          };
          operations = mkOption {
            type = types.submodule {
              options = {
                start = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Start. Default: always present, with the defaults below.";
                };
                stop = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Stop. Default: always present, with the defaults below.";
                };
                monitor = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Recurring health check. Default: always present, with the defaults below.";
                };
                monitorPromoted = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Monitor of the promoted instance of a promotable clone (replaces monitor for that role).";
                };
                monitorUnpromoted = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Monitor of the unpromoted instances of a promotable clone (replaces monitor for that role).";
                };
                promote = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Promote (promotable clones: DRBD primary, RBD lock owner).";
                };
                demote = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Demote (promotable clones).";
                };
                migrateTo = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Live migration, on the source node (needs allowMigrate).";
                };
                migrateFrom = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      intervalMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "Monitors only: how often the monitor runs. Default: 10000 for monitors.";
                      };
                      timeoutMs = mkOption {
                        type = types.nullOr (types.ints.between 1 86400000);
                        default = null;
                        description = "The operation fails when it takes longer. Default: 20000; for an ocf resource, the timeout its agent's meta-data advises for the operation, when the agent is installed on the node.";
                      };
                      onFail = mkOption {
                        type = types.nullOr (types.enum [ "restart" "stop" "ban" "fence" "block" "ignore" "standby" ]);
                        default = null;
                        description = "What a failure leads to (Pacemaker's on-fail). restart: stop it and start it again, here or on another node. stop: stop it and keep it stopped (in a clone: the whole clone). ban: move it off the node. fence: fence the node. block: do nothing more with it. ignore: pretend the operation succeeded: the failure is recorded and shown, nothing is recovered, and it does not count towards migrationThreshold; a hard or fatal error is never ignored, and a resource in a promotable clone cannot ignore failures. standby: move every resource off the node. stop, ban and standby hold until the failure expires (failureTimeoutMs) or is cleaned up. A stop may only fence or block: after a failed stop the resource may still be running. Default: \"restart\"; for stop: \"fence\" when fencing is enabled, else \"block\" (Pacemaker).";
                      };
                    };
                  });
                  default = null;
                  description = "Live migration, on the target node (needs allowMigrate).";
                };
              };
            };
            default = { };
            description = "Operations by name. start, stop and monitor always exist: unset, they get timeout 20000 ms (an ocf resource: its agent's advised timeout) and the monitor an interval of 10000 ms.";
          };
          meta = mkOption {
            type = types.submodule {
              options = {
                stickiness = mkOption {
                  type = types.nullOr (score);
                  default = null;
                  description = "Score added to the node currently running the resource, so it does not move back when a preferred node returns (Pacemaker: resource-stickiness). Default: resourceDefaults.stickiness.";
                };
                migrationThreshold = mkOption {
                  type = types.nullOr (types.ints.between 0 1000000);
                  default = null;
                  description = "After this many failures on a node the resource is banned from it until the failures expire or are cleaned up. 0 = never ban (Pacemaker's default INFINITY behaves the same in practice). Default: resourceDefaults.migrationThreshold.";
                };
                failureTimeoutMs = mkOption {
                  type = types.nullOr (types.ints.between 0 31536000000);
                  default = null;
                  description = "Failures older than this are forgotten (Pacemaker: failure-timeout). 0 = never expire. Default: resourceDefaults.failureTimeoutMs.";
                };
                targetRole = mkOption {
                  type = types.nullOr (types.enum [ "started" "stopped" "promoted" "unpromoted" ]);
                  default = null;
                  description = "The state the cluster keeps the resource in. \"promoted\"/\"unpromoted\" apply to promotable clones only. Default: resourceDefaults.targetRole.";
                };
                managed = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "false: the cluster neither starts, stops nor recovers the resource (it still monitors it). Default: resourceDefaults.managed.";
                };
                allowMigrate = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "The resource may live-migrate (migrate_to, migrate_from) instead of stop + start: no resource of this build can live-migrate (live migration of microvm and ocf resources is planned). Default: resourceDefaults.allowMigrate.";
                };
                multipleActive = mkOption {
                  type = types.nullOr (types.enum [ "stop_start" "stop_only" "block" "stop_unexpected" ]);
                  default = null;
                  description = "What is done with a resource found running on more than one node (after a partition heals, or started by hand), as Pacemaker's multiple-active. stop_start: stop every copy, then start one where it belongs. stop_only: stop every copy and keep it stopped (its target role is set to stopped, as `tsha resource disable` does). block: touch no copy: the resource is unmanaged until the operator resolves it. stop_unexpected: stop only the copies that are not where it belongs; the one there keeps running. On a group or clone it applies to the members that keep the default. Default: resourceDefaults.multipleActive.";
                };
              };
            };
            default = { };
            description = "Meta options of this resource; unset ones come from resourceDefaults.";
          };
          stateful = mkOption {
            type = types.bool;
            default = false;
            description = "The resource holds state that must never be written from two nodes: refused without fencing, unless its data is on Ceph RBD storage held by a resource it starts after.";
          };
          storage = mkOption {
            type = types.nullOr (types.submodule {
              options = {
                type = mkOption {
                  type = types.enum [ "drbd" "rbd" ];
                  description = "drbd: a DRBD resource (clone it with promotable = true); rbd: a Ceph RBD image held with an exclusive lock.";
                };
                resource = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "drbd: the DRBD resource name (drbdadm).";
                };
                volume = mkOption {
                  type = types.nullOr (types.ints.between 0 65535);
                  default = null;
                  description = "drbd: the volume number.";
                };
                pool = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "rbd: the Ceph pool.";
                };
                image = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "rbd: the image name.";
                };
                cephConf = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "rbd: path of ceph.conf (default: Ceph's own).";
                };
                user = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "rbd: the Ceph user the agent acts as, without \"client.\" (default: Ceph's own, admin).";
                };
                keyring = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "rbd: path of that user's keyring file (default: Ceph's own); the agent passes the path, never the key, and neither shows in logs or tsha status.";
                };
                blocklistExpirySeconds = mkOption {
                  type = types.nullOr (types.ints.between 60 31536000);
                  default = null;
                  description = "rbd: how long a lost node's Ceph client stays blocklisted after a takeover (Ceph's osd blocklist expiry), in seconds; default 3600.";
                };
              };
            });
            default = null;
            description = "Storage this resource holds; it is taken from a lost node (DRBD demoted/outdated, RBD lock broken and its client blocklisted) before the resource starts elsewhere. Implies stateful.";
          };
          location = mkOption {
            type = types.listOf (types.submodule {
              options = {
                node = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "Node this constraint is about (exactly one of node and rule).";
                };
                rule = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      attribute = mkOption {
                        type = types.str;
                        description = "Node attribute name (nodes.<name>.attributes).";
                      };
                      op = mkOption {
                        type = types.enum [ "eq" "ne" "gt" "gte" "lt" "lte" "defined" "not_defined" ];
                        default = "eq";
                        description = "Comparison (gt, gte, lt, lte: greater than, at least, less than, at most).";
                      };
                      value = mkOption {
                        type = types.nullOr (types.str);
                        default = null;
                        description = "Value compared with; required for eq, ne, gt, gte, lt and lte, not allowed for defined and not_defined.";
                      };
                      type = mkOption {
                        type = types.nullOr (types.enum [ "string" "number" ]);
                        default = null;
                        description = "How the node attribute and value are compared (Pacemaker's expression type): \"number\" compares them as numbers when both are numbers, as strings otherwise; \"string\" always as strings. Unset: \"number\" for gt, gte, lt and lte, \"string\" for eq and ne. Not allowed with defined and not_defined.";
                      };
                    };
                  });
                  default = null;
                  description = "A rule over node attributes (exactly one of node and rule).";
                };
                score = mkOption {
                  type = score;
                  description = "Positive prefers, negative avoids; \"INFINITY\" requires, \"-INFINITY\" forbids.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For promotable clones: the constraint applies to the promoted instance only.";
                };
              };
            });
            default = [ ];
            description = "Location constraints of this resource.";
          };
          colocation = mkOption {
            type = types.listOf (types.submodule {
              options = {
                "with" = mkOption {
                  type = types.str;
                  description = "The resource this one is placed relative to.";
                };
                score = mkOption {
                  type = score;
                  default = "INFINITY";
                  description = "Positive: together, negative: apart; ±\"INFINITY\" is mandatory.";
                };
                withRole = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "Place relative to the promoted instance of a promotable clone.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For a promotable clone: only its promoted instance is placed by this constraint.";
                };
              };
            });
            default = [ ];
            description = "Colocation constraints of this resource (this resource is the dependent one).";
          };
          order = mkOption {
            type = types.listOf (types.submodule {
              options = {
                after = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts after that one (exactly one of after and before).";
                };
                before = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts before that one (exactly one of after and before).";
                };
                firstAction = mkOption {
                  type = types.enum [ "start" "stop" "promote" "demote" ];
                  default = "start";
                  description = "Action of the resource that goes first.";
                };
                thenAction = mkOption {
                  type = types.nullOr (types.enum [ "start" "stop" "promote" "demote" ]);
                  default = null;
                  description = "Action of the resource that goes second. Default: firstAction.";
                };
                kind = mkOption {
                  type = types.enum [ "mandatory" "optional" ];
                  default = "mandatory";
                  description = "mandatory: the second resource is restarted when the first one is; optional: only orders actions that happen in the same transition.";
                };
                symmetric = mkOption {
                  type = types.bool;
                  default = true;
                  description = "Stop in the reverse order.";
                };
              };
            });
            default = [ ];
            description = "Order constraints of this resource.";
          };
        };
      });
      default = { };
      description = "Primitive resources by id.";
    };
    groups = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          members = mkOption {
            type = types.listOf (types.str);
            description = "Primitives started in this order, stopped in reverse, all on one node.";
          };
          meta = mkOption {
            type = types.submodule {
              options = {
                stickiness = mkOption {
                  type = types.nullOr (score);
                  default = null;
                  description = "Score added to the node currently running the resource, so it does not move back when a preferred node returns (Pacemaker: resource-stickiness). Default: resourceDefaults.stickiness.";
                };
                migrationThreshold = mkOption {
                  type = types.nullOr (types.ints.between 0 1000000);
                  default = null;
                  description = "After this many failures on a node the resource is banned from it until the failures expire or are cleaned up. 0 = never ban (Pacemaker's default INFINITY behaves the same in practice). Default: resourceDefaults.migrationThreshold.";
                };
                failureTimeoutMs = mkOption {
                  type = types.nullOr (types.ints.between 0 31536000000);
                  default = null;
                  description = "Failures older than this are forgotten (Pacemaker: failure-timeout). 0 = never expire. Default: resourceDefaults.failureTimeoutMs.";
                };
                targetRole = mkOption {
                  type = types.nullOr (types.enum [ "started" "stopped" "promoted" "unpromoted" ]);
                  default = null;
                  description = "The state the cluster keeps the resource in. \"promoted\"/\"unpromoted\" apply to promotable clones only. Default: resourceDefaults.targetRole.";
                };
                managed = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "false: the cluster neither starts, stops nor recovers the resource (it still monitors it). Default: resourceDefaults.managed.";
                };
                allowMigrate = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "The resource may live-migrate (migrate_to, migrate_from) instead of stop + start: no resource of this build can live-migrate (live migration of microvm and ocf resources is planned). Default: resourceDefaults.allowMigrate.";
                };
                multipleActive = mkOption {
                  type = types.nullOr (types.enum [ "stop_start" "stop_only" "block" "stop_unexpected" ]);
                  default = null;
                  description = "What is done with a resource found running on more than one node (after a partition heals, or started by hand), as Pacemaker's multiple-active. stop_start: stop every copy, then start one where it belongs. stop_only: stop every copy and keep it stopped (its target role is set to stopped, as `tsha resource disable` does). block: touch no copy: the resource is unmanaged until the operator resolves it. stop_unexpected: stop only the copies that are not where it belongs; the one there keeps running. On a group or clone it applies to the members that keep the default. Default: resourceDefaults.multipleActive.";
                };
              };
            };
            default = { };
            description = "Meta options of this resource; unset ones come from resourceDefaults.";
          };
          location = mkOption {
            type = types.listOf (types.submodule {
              options = {
                node = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "Node this constraint is about (exactly one of node and rule).";
                };
                rule = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      attribute = mkOption {
                        type = types.str;
                        description = "Node attribute name (nodes.<name>.attributes).";
                      };
                      op = mkOption {
                        type = types.enum [ "eq" "ne" "gt" "gte" "lt" "lte" "defined" "not_defined" ];
                        default = "eq";
                        description = "Comparison (gt, gte, lt, lte: greater than, at least, less than, at most).";
                      };
                      value = mkOption {
                        type = types.nullOr (types.str);
                        default = null;
                        description = "Value compared with; required for eq, ne, gt, gte, lt and lte, not allowed for defined and not_defined.";
                      };
                      type = mkOption {
                        type = types.nullOr (types.enum [ "string" "number" ]);
                        default = null;
                        description = "How the node attribute and value are compared (Pacemaker's expression type): \"number\" compares them as numbers when both are numbers, as strings otherwise; \"string\" always as strings. Unset: \"number\" for gt, gte, lt and lte, \"string\" for eq and ne. Not allowed with defined and not_defined.";
                      };
                    };
                  });
                  default = null;
                  description = "A rule over node attributes (exactly one of node and rule).";
                };
                score = mkOption {
                  type = score;
                  description = "Positive prefers, negative avoids; \"INFINITY\" requires, \"-INFINITY\" forbids.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For promotable clones: the constraint applies to the promoted instance only.";
                };
              };
            });
            default = [ ];
            description = "Location constraints of this resource.";
          };
          colocation = mkOption {
            type = types.listOf (types.submodule {
              options = {
                "with" = mkOption {
                  type = types.str;
                  description = "The resource this one is placed relative to.";
                };
                score = mkOption {
                  type = score;
                  default = "INFINITY";
                  description = "Positive: together, negative: apart; ±\"INFINITY\" is mandatory.";
                };
                withRole = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "Place relative to the promoted instance of a promotable clone.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For a promotable clone: only its promoted instance is placed by this constraint.";
                };
              };
            });
            default = [ ];
            description = "Colocation constraints of this resource (this resource is the dependent one).";
          };
          order = mkOption {
            type = types.listOf (types.submodule {
              options = {
                after = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts after that one (exactly one of after and before).";
                };
                before = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts before that one (exactly one of after and before).";
                };
                firstAction = mkOption {
                  type = types.enum [ "start" "stop" "promote" "demote" ];
                  default = "start";
                  description = "Action of the resource that goes first.";
                };
                thenAction = mkOption {
                  type = types.nullOr (types.enum [ "start" "stop" "promote" "demote" ]);
                  default = null;
                  description = "Action of the resource that goes second. Default: firstAction.";
                };
                kind = mkOption {
                  type = types.enum [ "mandatory" "optional" ];
                  default = "mandatory";
                  description = "mandatory: the second resource is restarted when the first one is; optional: only orders actions that happen in the same transition.";
                };
                symmetric = mkOption {
                  type = types.bool;
                  default = true;
                  description = "Stop in the reverse order.";
                };
              };
            });
            default = [ ];
            description = "Order constraints of this resource.";
          };
        };
      });
      default = { };
      description = "Groups by id (ids shared with resources and clones).";
    };
    clones = mkOption {
      type = types.attrsOf (types.submodule {
        options = {
          child = mkOption {
            type = types.str;
            description = "The primitive or group that is cloned.";
          };
          max = mkOption {
            type = types.nullOr (types.ints.between 1 1024);
            default = null;
            description = "Total number of instances. Default: number of nodes.";
          };
          maxPerNode = mkOption {
            type = types.ints.between 1 1024;
            default = 1;
            description = "Instances per node.";
          };
          promotable = mkOption {
            type = types.bool;
            default = false;
            description = "Instances can be promoted (DRBD primary, RBD exclusive owner).";
          };
          promotedMax = mkOption {
            type = types.ints.between 1 1024;
            default = 1;
            description = "Promotable clones: number of promoted instances.";
          };
          promotedMaxPerNode = mkOption {
            type = types.ints.between 1 1024;
            default = 1;
            description = "Promotable clones: promoted instances per node.";
          };
          interleave = mkOption {
            type = types.bool;
            default = false;
            description = "An order between another clone and this one acts per node (Pacemaker's interleave): an instance of this clone starts after the other clone's instance on its node, stops before it, and is restarted only when that one is, instead of waiting for (and restarting with) every instance of the other clone. It is this clone's setting that counts when this clone is the second of the order. (A mandatory colocation with another clone is per node either way: an instance runs only where the other clone runs one.)";
          };
          meta = mkOption {
            type = types.submodule {
              options = {
                stickiness = mkOption {
                  type = types.nullOr (score);
                  default = null;
                  description = "Score added to the node currently running the resource, so it does not move back when a preferred node returns (Pacemaker: resource-stickiness). Default: resourceDefaults.stickiness.";
                };
                migrationThreshold = mkOption {
                  type = types.nullOr (types.ints.between 0 1000000);
                  default = null;
                  description = "After this many failures on a node the resource is banned from it until the failures expire or are cleaned up. 0 = never ban (Pacemaker's default INFINITY behaves the same in practice). Default: resourceDefaults.migrationThreshold.";
                };
                failureTimeoutMs = mkOption {
                  type = types.nullOr (types.ints.between 0 31536000000);
                  default = null;
                  description = "Failures older than this are forgotten (Pacemaker: failure-timeout). 0 = never expire. Default: resourceDefaults.failureTimeoutMs.";
                };
                targetRole = mkOption {
                  type = types.nullOr (types.enum [ "started" "stopped" "promoted" "unpromoted" ]);
                  default = null;
                  description = "The state the cluster keeps the resource in. \"promoted\"/\"unpromoted\" apply to promotable clones only. Default: resourceDefaults.targetRole.";
                };
                managed = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "false: the cluster neither starts, stops nor recovers the resource (it still monitors it). Default: resourceDefaults.managed.";
                };
                allowMigrate = mkOption {
                  type = types.nullOr (types.bool);
                  default = null;
                  description = "The resource may live-migrate (migrate_to, migrate_from) instead of stop + start: no resource of this build can live-migrate (live migration of microvm and ocf resources is planned). Default: resourceDefaults.allowMigrate.";
                };
                multipleActive = mkOption {
                  type = types.nullOr (types.enum [ "stop_start" "stop_only" "block" "stop_unexpected" ]);
                  default = null;
                  description = "What is done with a resource found running on more than one node (after a partition heals, or started by hand), as Pacemaker's multiple-active. stop_start: stop every copy, then start one where it belongs. stop_only: stop every copy and keep it stopped (its target role is set to stopped, as `tsha resource disable` does). block: touch no copy: the resource is unmanaged until the operator resolves it. stop_unexpected: stop only the copies that are not where it belongs; the one there keeps running. On a group or clone it applies to the members that keep the default. Default: resourceDefaults.multipleActive.";
                };
              };
            };
            default = { };
            description = "Meta options of this resource; unset ones come from resourceDefaults.";
          };
          location = mkOption {
            type = types.listOf (types.submodule {
              options = {
                node = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "Node this constraint is about (exactly one of node and rule).";
                };
                rule = mkOption {
                  type = types.nullOr (types.submodule {
                    options = {
                      attribute = mkOption {
                        type = types.str;
                        description = "Node attribute name (nodes.<name>.attributes).";
                      };
                      op = mkOption {
                        type = types.enum [ "eq" "ne" "gt" "gte" "lt" "lte" "defined" "not_defined" ];
                        default = "eq";
                        description = "Comparison (gt, gte, lt, lte: greater than, at least, less than, at most).";
                      };
                      value = mkOption {
                        type = types.nullOr (types.str);
                        default = null;
                        description = "Value compared with; required for eq, ne, gt, gte, lt and lte, not allowed for defined and not_defined.";
                      };
                      type = mkOption {
                        type = types.nullOr (types.enum [ "string" "number" ]);
                        default = null;
                        description = "How the node attribute and value are compared (Pacemaker's expression type): \"number\" compares them as numbers when both are numbers, as strings otherwise; \"string\" always as strings. Unset: \"number\" for gt, gte, lt and lte, \"string\" for eq and ne. Not allowed with defined and not_defined.";
                      };
                    };
                  });
                  default = null;
                  description = "A rule over node attributes (exactly one of node and rule).";
                };
                score = mkOption {
                  type = score;
                  description = "Positive prefers, negative avoids; \"INFINITY\" requires, \"-INFINITY\" forbids.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For promotable clones: the constraint applies to the promoted instance only.";
                };
              };
            });
            default = [ ];
            description = "Location constraints of this resource.";
          };
          colocation = mkOption {
            type = types.listOf (types.submodule {
              options = {
                "with" = mkOption {
                  type = types.str;
                  description = "The resource this one is placed relative to.";
                };
                score = mkOption {
                  type = score;
                  default = "INFINITY";
                  description = "Positive: together, negative: apart; ±\"INFINITY\" is mandatory.";
                };
                withRole = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "Place relative to the promoted instance of a promotable clone.";
                };
                role = mkOption {
                  type = types.nullOr (types.enum [ "promoted" ]);
                  default = null;
                  description = "For a promotable clone: only its promoted instance is placed by this constraint.";
                };
              };
            });
            default = [ ];
            description = "Colocation constraints of this resource (this resource is the dependent one).";
          };
          order = mkOption {
            type = types.listOf (types.submodule {
              options = {
                after = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts after that one (exactly one of after and before).";
                };
                before = mkOption {
                  type = types.nullOr (types.str);
                  default = null;
                  description = "This resource starts before that one (exactly one of after and before).";
                };
                firstAction = mkOption {
                  type = types.enum [ "start" "stop" "promote" "demote" ];
                  default = "start";
                  description = "Action of the resource that goes first.";
                };
                thenAction = mkOption {
                  type = types.nullOr (types.enum [ "start" "stop" "promote" "demote" ]);
                  default = null;
                  description = "Action of the resource that goes second. Default: firstAction.";
                };
                kind = mkOption {
                  type = types.enum [ "mandatory" "optional" ];
                  default = "mandatory";
                  description = "mandatory: the second resource is restarted when the first one is; optional: only orders actions that happen in the same transition.";
                };
                symmetric = mkOption {
                  type = types.bool;
                  default = true;
                  description = "Stop in the reverse order.";
                };
              };
            });
            default = [ ];
            description = "Order constraints of this resource.";
          };
        };
      });
      default = { };
      description = "Clones and promotable clones by id (ids shared with resources and groups).";
    };
    maintenanceMode = mkOption {
      type = types.bool;
      default = false;
      description = "Cluster-wide maintenance: nothing is started, stopped or monitored.";
    };
  };
}
