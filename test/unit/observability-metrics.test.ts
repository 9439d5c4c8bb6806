// Failure counters start at 0: Prometheus' increase() has no earlier sample for a series that
// appears with its first increment, so an alert on the first failed fence or storage step would
// never fire (nixos-module/alert-rules.nix reads their increase).
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../src/observability/metrics.js';

describe('AgentMetrics', () => {
  it('exports the failed fence series at 0 before any fence', async () => {
    const text = await new AgentMetrics().text();
    expect(text).toContain('tsha_fence_actions_total{action="off",result="failed"} 0');
    expect(text).toContain('tsha_fence_actions_total{action="off",result="confirmed"} 0');
  });

  it('exports the failure series of a storage type\'s steps at 0 once the configuration holds it', async () => {
    const m = new AgentMetrics();
    expect(await m.text()).not.toContain('tsha_storage_steps_total{');
    m.initStorageSteps('rbd');
    const text = await m.text();
    expect(text).toContain('tsha_storage_steps_total{type="rbd",step="blocklist",status="timeout"} 0');
    expect(text).toContain('tsha_storage_steps_total{type="rbd",step="break_lock",status="error"} 0');
    expect(text).not.toContain('type="drbd"');
    m.initStorageSteps('drbd');
    expect(await m.text()).toContain('tsha_storage_steps_total{type="drbd",step="outdate_peer",status="error"} 0');
  });
});
