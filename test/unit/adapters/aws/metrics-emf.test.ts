import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConnectorMetrics } from '#adapters/aws/metrics.ts';

/**
 * The stream task's metrics reach CloudWatch through log metric filters (`{ $.CdcLagMs >= 0 }`,
 * value `$.CdcLagMs`: lib/constructs/stream-service.ts). A filter only matches a line whose field
 * is a number: the arrays Powertools writes for several values of one metric would be missed.
 */
describe('createConnectorMetrics', () => {
  let lines: Record<string, unknown>[];
  beforeEach(() => {
    // Powertools writes EMF through the global console in dev mode (its own stdout Console otherwise).
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    lines = [];
    vi.spyOn(console, 'log').mockImplementation((text: unknown) => {
      lines.push(JSON.parse(String(text)) as Record<string, unknown>);
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const powertools = () => new Metrics({ namespace: 'MlConnector/Test', serviceName: 'ml-connector' });

  it('writes each value of the task’s metrics as its own line with a number the metric filter can read', () => {
    const metrics = createConnectorMetrics(powertools(), { immediate: true });
    for (const lag of [120, 4_500, 80]) metrics.add('CdcLagMs', lag);
    metrics.add('StreamHealthy', 1);
    metrics.flush();
    const lags = lines.filter((l) => 'CdcLagMs' in l);
    expect(lags.map((l) => l.CdcLagMs)).toEqual([120, 4_500, 80]);
    for (const l of [...lags, ...lines.filter((x) => 'StreamHealthy' in x)]) {
      expect(l.service).toBe('ml-connector');
      expect((l._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0]?.Namespace).toBe(
        'MlConnector/Test',
      );
    }
  });

  it('buffers values on Lambda (not immediate), where CloudWatch reads the EMF arrays itself', () => {
    const metrics = createConnectorMetrics(powertools());
    for (const lag of [120, 4_500]) metrics.add('CdcLagMs', lag);
    metrics.flush();
    // The shape a log metric filter would miss, which is why the task does not use it.
    expect(lines.map((l) => l.CdcLagMs)).toEqual([[120, 4_500]]);
  });
});
