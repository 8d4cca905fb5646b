import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
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
  /** The custom metrics' namespace: one per stack (contract.ts stackMetricsNamespace). @default METRICS.namespace */
  readonly namespace?: string;
}

/**
 * Powertools Metrics adds a `service` dimension (its serviceName, `SERVICE_NAME` in
 * functions/adapters/aws/logger.ts) to every custom metric; alarms must name it to match.
 */
export const METRIC_SERVICE_DIMENSION = { service: 'ml-connector' } as const;

const customIn = (namespace: string) => (metricName: string, statistic: string, period: Duration) =>
  new cloudwatch.Metric({
    namespace,
    metricName,
    statistic,
    period,
    dimensionsMap: { ...METRIC_SERVICE_DIMENSION },
  });

/** A search over every dimension value the runtime emits (flows and directions are open-ended). */
const searchIn =
  (namespace: string) => (dimensions: string, metricName: string, statistic: string, label: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{"${namespace}",${dimensions},service} MetricName="${metricName}"', '${statistic}', 300)`,
      usingMetrics: {},
      label,
      period: Duration.minutes(5),
    });

/**
 * The deployment's dashboard and alarms. Every alarm notifies (and clears on) one KMS-encrypted SNS
 * topic the customer subscribes to: dead letters, parked records, stream down or silent, backfill
 * failures, API budget low, Lambda errors.
 */
export class Monitoring extends Construct {
  public readonly topic: sns.Topic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const custom = customIn(props.namespace ?? METRICS.namespace);
    const search = searchIn(props.namespace ?? METRICS.namespace);
    const stack = Stack.of(this);
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: 'ml-connector alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    // The topic policy replaces SNS's default one, so CloudWatch alarms must be let in explicitly:
    // only this account's alarms (aws:SourceAccount, aws:SourceArn), as AWS documents for alarm topics.
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`,
          },
        },
      }),
    );
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
    // The task reports at start-up and every minute, and not on a deliberate stop. A deployment
    // leaves a gap of a few minutes (old task drained, new one pulled and started): missing data
    // counts as down, but only 5 bad minutes of 10 alarm, which a working deployment never reaches,
    // while a task that is gone, stuck disconnected or refused its credentials does within ~6 min.
    alarm('StreamDown', {
      alarmDescription:
        'ml-connector: the Salesforce Pub/Sub stream is down, disconnected, refused its credentials or not reporting; see docs/runbooks/read-the-dashboard.md',
      metric: custom(METRICS.streamHealthy, 'Minimum', Duration.minutes(1)),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 10,
      datapointsToAlarm: 5,
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
    // Parked work waits for a person (or for a missing record, then it is retried by itself): a
    // record parked in the last 15 minutes alarms, and the alarm clears when none was since.
    alarm('ParkedRecords', {
      alarmDescription:
        'ml-connector: records were parked (data or configuration to fix, or a record they need is missing); see docs/runbooks/redrive-and-replay.md',
      metric: custom(METRICS.recordsParked, 'Sum', Duration.minutes(15)),
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
      graph('Failures per flow', [search('flow', METRICS.failures, 'Sum', '')], 6),
      graph('Parked per flow', [search('direction,flow', METRICS.recordsParked, 'Sum', '')], 6),
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
        'Stream healthy (1 = connected) / awaiting credentials',
        [
          custom(METRICS.streamHealthy, 'Minimum', Duration.minutes(1)),
          custom(METRICS.awaitingCredentials, 'Maximum', Duration.minutes(1)),
        ],
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
