# tsha's Prometheus alert rules, as a rule file's content (written as JSON, which is YAML; checked
# with promtool check rules at build time, and by promtool test rules in
# test/unit/config/alert-rules.test.ts). Each agent is one scrape target serving tsha_* metrics
# (services.tsha.metricsAddress), scraped by a job named "tsha" (TshaAgentDown reads its `up`).
# Every rule has a severity, a summary and a runbook: one line saying what to do.
{
  groups = [
    {
      name = "tsha";
      rules = [
        {
          alert = "TshaNodeNotQuorate";
          expr = "tsha_quorate == 0";
          for = "1m";
          labels.severity = "critical";
          annotations.summary = "tsha node {{ $labels.instance }} is not in a quorate partition: it starts nothing, and applies its no-quorum policy to what it runs.";
          annotations.runbook = "Run tsha status on that node: check its mesh links (wg show) to the other members and the witness; it rejoins by itself once it reaches a majority.";
        }
        {
          alert = "TshaPeerDown";
          expr = "tsha_peer_up == 0";
          for = "1m";
          labels.severity = "warning";
          annotations.summary = "tsha node {{ $labels.instance }} has not heard from peer {{ $labels.peer }} within the failure timeout for 1 minute.";
          annotations.runbook = "Check the peer's agent (systemctl status tsha-agent) and the mesh link between the two (wg show, ping its mesh address); if the peer is gone, the coordinator fences it.";
        }
        {
          alert = "TshaNoCoordinator";
          expr = "sum without (instance) (tsha_is_coordinator) < 1";
          for = "1m";
          labels.severity = "critical";
          annotations.summary = "No tsha node has been the coordinator for 1 minute: nothing is placed or recovered.";
          annotations.runbook = "Run tsha status on every node: too few members reach each other for a majority; restore the mesh or power the members back on.";
        }
        {
          alert = "TshaFenceFailed";
          expr = ''increase(tsha_fence_actions_total{result="failed"}[15m]) > 0'';
          labels.severity = "critical";
          annotations.summary = "A fence action run by tsha node {{ $labels.instance }} failed in the last 15 minutes: the lost node's resources wait until a fence is confirmed.";
          annotations.runbook = "Run tsha fence check on the coordinator and fix the fence device (credentials, BMC reachable); if the node is surely off, confirm it with tsha fence.";
        }
        {
          alert = "TshaResourceActionsFailing";
          expr = ''increase(tsha_resource_actions_total{status=~"error|errorHard|errorFatal|timeout"}[15m]) > 0'';
          labels.severity = "warning";
          annotations.summary = "{{ $labels.operation }} of {{ $labels.kind }} resources on tsha node {{ $labels.instance }} failed ({{ $labels.status }}) in the last 15 minutes.";
          annotations.runbook = "Read tsha status and journalctl -u tsha-agent for the failed operation; fix the cause, then tsha resource cleanup RESOURCE.";
        }
        {
          alert = "TshaStorageStepFailed";
          expr = ''increase(tsha_storage_steps_total{status!="ok"}[15m]) > 0'';
          labels.severity = "critical";
          annotations.summary = "A {{ $labels.type }} storage step ({{ $labels.step }}) on tsha node {{ $labels.instance }} failed ({{ $labels.status }}) in the last 15 minutes: the resource holding that storage does not start until its storage is safe to write (tsha status, tsha history).";
          annotations.runbook = "Read tsha history and the storage (ceph osd blocklist ls, rbd lock ls, drbdadm status); once the storage is safe to write, tsha resource cleanup RESOURCE.";
        }
        {
          alert = "TshaNodeLost";
          expr = ''max by (node) (tsha_node_state{state=~"offline|unclean"} and on (instance, job) tsha_is_coordinator == 1) == 1'';
          for = "1m";
          labels.severity = "critical";
          annotations.summary = "tsha node {{ $labels.node }} is lost: the coordinator sees it offline (fenced or its lease expired) or unclean (not yet fenced); its resources are recovered elsewhere.";
          annotations.runbook = "Power the node back on or repair it (tsha history says why it was lost); its agent rejoins at start. tsha status shows where its resources run now.";
        }
        {
          alert = "TshaFailover";
          expr = "sum without (instance) (increase(tsha_failovers_total[10m])) > 0";
          labels.severity = "warning";
          annotations.summary = "tsha recovered resources from a lost node in the last 10 minutes.";
          annotations.runbook = "Read tsha history for what moved where and why; find out why the node was lost (TshaNodeLost, its journal after it is back).";
        }
        {
          alert = "TshaResourceBlocked";
          expr = "max without (instance) (tsha_resource_blocked) == 1";
          for = "2m";
          labels.severity = "critical";
          annotations.summary = "tsha resource {{ $labels.resource }} should run but runs nowhere for 2 minutes: no node may run it, or it waits for a fence.";
          annotations.runbook = "Run tsha status (it names why the resource is stopped): clear failures with tsha resource cleanup, lift bans or standby, or fix fencing.";
        }
        {
          alert = "TshaResourceFailed";
          expr = "max without (instance) (tsha_resource_fail_count) > 0";
          for = "1m";
          labels.severity = "warning";
          annotations.summary = "tsha resource {{ $labels.resource }} has {{ $value }} recorded failures on node {{ $labels.node }}.";
          annotations.runbook = "Read tsha status and the resource's journal on that node; fix the cause, then tsha resource cleanup RESOURCE NODE.";
        }
        {
          alert = "TshaAgentDown";
          expr = ''up{job="tsha"} == 0'';
          for = "1m";
          labels.severity = "critical";
          annotations.summary = "Prometheus cannot scrape the tsha agent at {{ $labels.instance }} for 1 minute: the agent or its machine is down.";
          annotations.runbook = "Check systemctl status tsha-agent and journalctl -u tsha-agent on that machine; if the machine is off, the cluster has fenced it (TshaNodeLost).";
        }
        {
          alert = "TshaWitnessUnreachable";
          expr = "max without (instance) (tsha_witness_reachable) == 0";
          for = "2m";
          labels.severity = "warning";
          annotations.summary = "The coordinator has not heard from witness {{ $labels.witness }} for 2 minutes: one more lost member costs the cluster its quorum.";
          annotations.runbook = "Check tsha-witness.service on the witness machine and its mesh link to the members (wg show, ping its mesh address).";
        }
        {
          alert = "TshaConfigurationDiffers";
          expr = "count by (cluster) (count by (cluster, digest) (tsha_config_info)) > 1";
          for = "10m";
          labels.severity = "warning";
          annotations.summary = "The nodes of tsha cluster {{ $labels.cluster }} run {{ $value }} different configurations for 10 minutes.";
          annotations.runbook = "Compare tsha_config_info{digest} per node; deploy the same configuration everywhere (nixos-rebuild switch on the nodes that lag) and reload (systemctl reload tsha-agent).";
        }
        {
          alert = "TshaEventLoopLag";
          expr = "tsha_event_loop_lag_seconds > 0.5";
          for = "2m";
          labels.severity = "warning";
          annotations.summary = "tsha agent on {{ $labels.instance }} lags {{ $value }} s behind its timers: heartbeats and lease renewals are late.";
          annotations.runbook = "Check the node's load (CPU, swap, I/O stalls) and the agent's memory; a lagging agent renews its lease late and may be fenced.";
        }
      ];
    }
  ];
}
