import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS } from '#adapters/aws/contract.ts';

/** Props for {@link Monitoring}. */
export interface MonitoringProps {
  /** Encrypts the alarm topic (the key policy must let CloudWatch use it). */
  readonly key: kms.IKey;
  /** Dead-letter queues, by a short name shown on the dashboard and in alarm descriptions. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** Work queues, by name. */
  readonly queues: Readonly<Record<string, sqs.IQueue>>;
  /** The Lambdas, by name. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Alarm when the Salesforce daily API calls remaining fall below this. */
  readonly apiBudgetThreshold: number;
  /** Minutes between backfill runs (the backfill alarm's period). */
  readonly backfillMinutes: number;
}

/**
 * Powertools Metrics adds a `service` dimension (its serviceName, `SERVICE_NAME` in
 * functions/adapters/aws/logger.ts) to every custom metric; alarms must name it to match.
 */
export const METRIC_SERVICE_DIMENSION = { service: 'ml-connector' } as const;

const custom = (metricName: string, statistic: string, period: Duration) =>
  new cloudwatch.Metric({
    namespace: METRICS.namespace,
    metricName,
    statistic,
    period,
    dimensionsMap: { ...METRIC_SERVICE_DIMENSION },
  });

/** A search over every dimension value the runtime emits (flows and directions are open-ended). */
const search = (dimensions: string, metricName: string, statistic: string, label: string) =>
  new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS.namespace},${dimensions},service} MetricName="${metricName}"', '${statistic}', 300)`,
    usingMetrics: {},
    label,
    period: Duration.minutes(5),
  });

/**
 * The deployment's dashboard and alarms. Every alarm notifies (and clears on) one KMS-encrypted SNS
 * topic the customer subscribes to: dead letters, stream down or silent, backfill failures, API
 * budget low, Lambda errors.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: 'ml-connector alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    const action = new SnsAction(this.topic);
    const alarm = (alarmId: string, a: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, a);
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    for (const [name, dlq] of Object.entries(props.deadLetterQueues)) {
      alarm(`${pascal(name)}DeadLetters`, {
        alarmDescription: `ml-connector: messages in the ${name} dead-letter queue; see docs/runbooks/redrive-and-replay.md`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(5),
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    alarm('StreamDown', {
      alarmDescription:
        'ml-connector: the Salesforce Pub/Sub stream is down or not reporting; see docs/runbooks/read-the-dashboard.md',
      metric: custom(METRICS.streamHealthy, 'Minimum', Duration.minutes(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm('BackfillFailures', {
      alarmDescription: 'ml-connector: a backfill run failed; see docs/runbooks/read-the-dashboard.md',
      metric: custom(METRICS.backfillFailures, 'Sum', Duration.minutes(Math.max(5, props.backfillMinutes))),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('ApiBudgetLow', {
      alarmDescription: `ml-connector: fewer than ${props.apiBudgetThreshold} Salesforce daily API calls remain`,
      metric: custom(METRICS.apiBudgetRemaining, 'Minimum', Duration.minutes(15)),
      threshold: props.apiBudgetThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${pascal(name)}Errors`, {
        alarmDescription: `ml-connector: the ${name} function reported errors`,
        metric: fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 12) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    const five = Duration.minutes(5);
    this.dashboard.addWidgets(
      graph('Records moved per flow and direction', [
        search('direction,flow', METRICS.recordsMoved, 'Sum', ''),
      ]),
      graph('Failures per flow', [search('flow', METRICS.failures, 'Sum', '')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Dead letters (visible)',
        Object.entries(props.deadLetterQueues).map(([n, q]) =>
          q.metricApproximateNumberOfMessagesVisible({ label: n, statistic: 'Maximum', period: five }),
        ),
        8,
      ),
      graph(
        'Oldest dead letter (s)',
        Object.entries(props.deadLetterQueues).map(([n, q]) =>
          q.metricApproximateAgeOfOldestMessage({ label: n, statistic: 'Maximum', period: five }),
        ),
        8,
      ),
      graph(
        'Queue depth (visible)',
        Object.entries(props.queues).map(([n, q]) =>
          q.metricApproximateNumberOfMessagesVisible({ label: n, statistic: 'Maximum', period: five }),
        ),
        8,
      ),
    );
    this.dashboard.addWidgets(
      graph('Salesforce API calls remaining', [custom(METRICS.apiBudgetRemaining, 'Minimum', five)], 8),
      graph(
        'CDC lag (ms, p50 / max)',
        [custom(METRICS.cdcLagMs, 'p50', five), custom(METRICS.cdcLagMs, 'Maximum', five)],
        8,
      ),
      graph(
        'Stream healthy (1 = connected)',
        [custom(METRICS.streamHealthy, 'Minimum', Duration.minutes(1))],
        8,
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Backfill runs and failures',
        [custom(METRICS.backfillRuns, 'Sum', five), custom(METRICS.backfillFailures, 'Sum', five)],
        8,
      ),
      graph(
        'Lambda errors',
        Object.entries(props.functions).map(([n, f]) => f.metricErrors({ label: n, period: five })),
        8,
      ),
      graph(
        'Lambda duration (p95, ms)',
        Object.entries(props.functions).map(([n, f]) =>
          f.metricDuration({ label: n, statistic: 'p95', period: five }),
        ),
        8,
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }),
    );
  }
}

function pascal(name: string): string {
  return name.replace(/(^|[-_ ])(\w)/g, (_m, _s, c: string) => c.toUpperCase());
}
