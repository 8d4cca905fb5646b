/**
 * The connector's custom CloudWatch metrics (contract.ts METRICS) through Powertools Metrics
 * (EMF lines the dashboard and alarms read). Metrics with dimensions are published at once as
 * single metrics; the rest wait for `flush` (the `logMetrics` middleware on Lambda, a timer on
 * Fargate).
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchOutcome } from '#core/engine/context.ts';
import { METRICS } from './contract.ts';
import { SERVICE_NAME } from './logger.ts';

export type MetricName = Exclude<(typeof METRICS)[keyof typeof METRICS], typeof METRICS.namespace>;
export type Direction = 'to-salesforce' | 'to-dynamics';

/** What the entry points record; Powertools behind it in production, a recorder in tests. */
export interface ConnectorMetrics {
  add(name: MetricName, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Publishes the metrics stored without dimensions. */
  flush(): void;
  /** The Powertools instance, for its middleware (absent on test doubles). */
  readonly powertools?: Metrics;
}

const UNITS: Readonly<Record<MetricName, (typeof MetricUnit)[keyof typeof MetricUnit]>> = {
  RecordsMoved: MetricUnit.Count,
  Failures: MetricUnit.Count,
  RecordsParked: MetricUnit.Count,
  ApiBudgetRemaining: MetricUnit.Count,
  CdcLagMs: MetricUnit.Milliseconds,
  StreamHealthy: MetricUnit.Count,
  AwaitingCredentials: MetricUnit.Count,
  BackfillRuns: MetricUnit.Count,
  BackfillFailures: MetricUnit.Count,
  BusinessEventsIgnored: MetricUnit.Count,
};

export interface ConnectorMetricsOptions {
  /**
   * Publish every value at once, as its own EMF line with one scalar value (the Fargate task: its
   * lines become metrics through log metric filters, which cannot read the arrays Powertools
   * writes when one metric has several values before a flush).
   */
  readonly immediate?: boolean;
}

/** Powertools Metrics in the connector's namespace (one per container). */
export function createConnectorMetrics(
  metrics: Metrics = new Metrics({ namespace: METRICS.namespace, serviceName: SERVICE_NAME }),
  options: ConnectorMetricsOptions = {},
): ConnectorMetrics {
  return {
    powertools: metrics,
    add(name, value, dimensions) {
      if (!dimensions && !options.immediate) {
        metrics.addMetric(name, UNITS[name], value);
        return;
      }
      const one = metrics.singleMetric();
      for (const [k, v] of Object.entries(dimensions ?? {})) one.addDimension(k, v);
      one.addMetric(name, UNITS[name], value);
    },
    flush: () => metrics.publishStoredMetrics(),
  };
}

/**
 * Records a worker batch: RecordsMoved (done items that were not parked, per flow and direction),
 * RecordsParked (items parked for a person or a missing record, per flow) and Failures (items
 * retried or dead-lettered, per flow). `flowOf` names the flow of a receipt handle; `parked`
 * counts the parked audit entries of the batch per flow.
 */
export function recordBatch(
  metrics: ConnectorMetrics,
  direction: Direction,
  outcome: BatchOutcome,
  flowOf: (receiptHandle: string) => string,
  parked: ReadonlyMap<string, number> = new Map(),
): void {
  const count = (handles: readonly string[]) => {
    const byFlow = new Map<string, number>();
    for (const h of handles) byFlow.set(flowOf(h), (byFlow.get(flowOf(h)) ?? 0) + 1);
    return byFlow;
  };
  for (const [flow, n] of count(outcome.done)) {
    const moved = n - Math.min(n, parked.get(flow) ?? 0);
    if (moved > 0) metrics.add('RecordsMoved', moved, { flow, direction });
  }
  let parkedTotal = 0;
  for (const [flow, n] of parked) {
    if (n <= 0) continue;
    metrics.add('RecordsParked', n, { flow, direction });
    parkedTotal += n;
  }
  // Also without flow and direction: the ParkedRecords alarm reads the total.
  if (parkedTotal > 0) metrics.add('RecordsParked', parkedTotal);
  const failed = [...outcome.retry, ...outcome.deadLetter.map((d) => d.receiptHandle)];
  for (const [flow, n] of count(failed)) metrics.add('Failures', n, { flow });
}

/** Records the Salesforce daily API calls remaining, when a reading exists. */
export function recordApiBudget(metrics: ConnectorMetrics, remaining: number | undefined): void {
  if (remaining !== undefined) metrics.add('ApiBudgetRemaining', remaining);
}
