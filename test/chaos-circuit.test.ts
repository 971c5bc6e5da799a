/**
 * The upstream circuit under chaos (`npm run chaos -- --scenario anchor-timeouts` is the long run): eight keys fail
 * every call while two anchor keys serve, each timing out one call now and then. Most keys really fail, so the
 * circuit may open; the anchors' record is good, so every request must still reach one of them.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from '../bench/chaos-run.js';

describe('chaos: the upstream circuit with two healthy anchors', () => {
  it('no request fails before its first byte while the anchors serve', async () => {
    const report = await runChaos({
      seconds: 12,
      clients: 40,
      epochMs: 400,
      thinkMs: 50,
      seed: 25,
      cooldownSeconds: 1,
      faultyKeys: 8,
      faultMix: 'failing',
      anchorTimeoutEveryMs: 1_000,
      // generous timeouts: the suite runs files in parallel, a busy machine must not look like a stalled key
      env: { FIRST_BYTE_TIMEOUT_MS: '3000', IDLE_TIMEOUT_MS: '3000' },
    });
    const summary = JSON.stringify({ ...report, memory: undefined }, null, 1);
    expect(report.requests, summary).toBeGreaterThan(100);
    expect(report.faultsApplied['anchor_timeout'], summary).toBeGreaterThan(5);
    expect(report.malformed, summary).toBe(0);
    expect(report.prebyte, summary).toBe(0);
    expect(report.end, summary).toEqual({ gatewayInFlight: 0, gatewayStreams: 0, simOpenStreams: 0, gatewaySockets: 0, settled: true });
  }, 60_000);
});
