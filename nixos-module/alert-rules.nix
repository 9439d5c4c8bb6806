# tsha's Prometheus alert rules, as a rule file's content (written as JSON, which is YAML; checked
# with promtool check rules at build time, and by promtool test rules in
# test/unit/config/alert-rules.test.ts). Each agent is one scrape target serving tsha_* metrics
# (services.tsha.metricsAddress).
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
        }
        {
          alert = "TshaPeerDown";
          expr = "tsha_peer_up == 0";
          for = "1m";
          labels.severity = "warning";
          annotations.summary = "tsha node {{ $labels.instance }} has not heard from peer {{ $labels.peer }} within the failure timeout for 1 minute.";
        }
        {
          alert = "TshaNoCoordinator";
          expr = "sum without (instance) (tsha_is_coordinator) < 1";
          for = "1m";
          labels.severity = "critical";
          annotations.summary = "No tsha node has been the coordinator for 1 minute: nothing is placed or recovered.";
        }
        {
          alert = "TshaFenceFailed";
          expr = ''increase(tsha_fence_actions_total{result="failed"}[15m]) > 0'';
          labels.severity = "critical";
          annotations.summary = "A fence action run by tsha node {{ $labels.instance }} failed in the last 15 minutes: the lost node's resources wait until a fence is confirmed.";
        }
        {
          alert = "TshaResourceActionsFailing";
          expr = ''increase(tsha_resource_actions_total{status=~"error|errorHard|errorFatal|timeout"}[15m]) > 0'';
          labels.severity = "warning";
          annotations.summary = "{{ $labels.operation }} of {{ $labels.kind }} resources on tsha node {{ $labels.instance }} failed ({{ $labels.status }}) in the last 15 minutes.";
        }
        {
          alert = "TshaStorageStepFailed";
          expr = ''increase(tsha_storage_steps_total{status!="ok"}[15m]) > 0'';
          labels.severity = "critical";
          annotations.summary = "A {{ $labels.type }} storage step ({{ $labels.step }}) on tsha node {{ $labels.instance }} failed ({{ $labels.status }}) in the last 15 minutes: the resource holding that storage does not start until its storage is safe to write (tsha status, tsha history).";
        }
        {
          alert = "TshaEventLoopLag";
          expr = "tsha_event_loop_lag_seconds > 0.5";
          for = "2m";
          labels.severity = "warning";
          annotations.summary = "tsha agent on {{ $labels.instance }} lags {{ $value }} s behind its timers: heartbeats and lease renewals are late.";
        }
      ];
    }
  ];
}
