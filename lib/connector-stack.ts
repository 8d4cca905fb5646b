import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { Construct } from 'constructs';
import { ENTRY_POINTS, ENV, METRICS, STACK_OUTPUTS, stackMetricsNamespace } from '#adapters/aws/contract.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';

import { BackfillSchedule } from './constructs/backfill-schedule.ts';
import { BusinessEventsApi } from './constructs/business-events-api.ts';
import { ConnectorFunction, PROJECT_ROOT } from './constructs/connector-function.ts';
import { ConnectorSecrets } from './constructs/connector-secrets.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { STATE_TABLE_ACTIONS, StateTable } from './constructs/state-table.ts';
import { StreamService } from './constructs/stream-service.ts';
import { WorkQueue } from './constructs/work-queue.ts';
import { pubsubPort, StageConfigError, type StageNetwork } from './stage-config.ts';

/** Lambda's limit on all environment variables of a function together. */
const LAMBDA_ENV_LIMIT_BYTES = 4096;

/** Props for {@link ConnectorStack}. */
export interface ConnectorStackProps extends StackProps {
  /** The validated stage configuration (lib/stage-config.ts); goes to every function as `CONNECTOR_CONFIG`. */
  readonly config: ConnectorConfig;
  /**
   * Bundle the Lambda entry points with esbuild. `false` deploys stub handlers: infra tests only.
   * @default true
   */
  readonly bundle?: boolean;
  /** The stream task's image. @default built at deploy from docker/stream.Dockerfile (staged, not built, at synth) */
  readonly streamImage?: ecs.ContainerImage;
  /** Alarm when the Salesforce API calls remaining fall below this. @default 2 × salesforce.apiReserve */
  readonly apiBudgetAlarmThreshold?: number;
  /** The stream task's health endpoint port. @default 8080 */
  readonly healthPort?: number;
  /**
   * Run the stream task in this existing VPC's private subnets, without a public IP (stage key
   * `network`). @default the stack's own VPC with public subnets
   */
  readonly network?: StageNetwork;
  /**
   * Create and set API Gateway's account-wide CloudWatch Logs role (stage key
   * `apiGateway.cloudWatchRole`). @default true
   */
  readonly apiGatewayCloudWatchRole?: boolean;
}

/**
 * The ml-connector stack: one customer-managed KMS key encrypts the state table, queues, secrets,
 * logs, schedule and alarm topic; API Gateway → receiver Lambda; the Pub/Sub stream on Fargate;
 * SQS (each queue with a DLQ) → worker Lambdas; EventBridge Scheduler → backfill; a dashboard and
 * alarms. Resource names are left to CloudFormation; the CLI finds them through the outputs.
 */
export class ConnectorStack extends Stack {
  /** Encrypts everything the connector stores. */
  public readonly key: kms.Key;
  public readonly state: StateTable;
  public readonly secrets: ConnectorSecrets;
  public readonly toSalesforce: WorkQueue;
  public readonly toDynamics: WorkQueue;
  public readonly receiver: ConnectorFunction;
  public readonly toSalesforceWorker: ConnectorFunction;
  public readonly toDynamicsWorker: ConnectorFunction;
  public readonly backfill: ConnectorFunction;
  public readonly api: BusinessEventsApi;
  public readonly backfillSchedule: BackfillSchedule;
  public readonly stream: StreamService;
  public readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: ConnectorStackProps) {
    super(scope, id, props);
    const { config } = props;
    const healthPort = props.healthPort ?? 8080;

    this.key = new kms.Key(this, 'DataKey', {
      description: 'ml-connector: encrypts state, queues, credentials, logs and alarms',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.allowServiceUse();

    this.state = new StateTable(this, 'State', { key: this.key });
    this.secrets = new ConnectorSecrets(this, 'Secrets', { key: this.key });

    const timeouts = {
      receiver: Duration.seconds(10),
      toSalesforce: Duration.minutes(5),
      toDynamics: Duration.minutes(3),
      backfill: backfillTimeout(config.schedules.backfillMinutes),
    };
    // One namespace per stack: two stages in one account and region never mask each other's alarms.
    const metricsNamespace = stackMetricsNamespace(this.stackName);
    const toSalesforceBatchingWindow = Duration.seconds(10);
    this.toSalesforce = new WorkQueue(this, 'ToSalesforce', {
      key: this.key,
      consumerTimeout: timeouts.toSalesforce,
      consumerBatchingWindow: toSalesforceBatchingWindow,
    });
    this.toDynamics = new WorkQueue(this, 'ToDynamics', {
      key: this.key,
      consumerTimeout: timeouts.toDynamics,
    });

    const environment: Record<string, string> = {
      [ENV.config]: JSON.stringify(config),
      [ENV.stateTable]: this.state.table.tableName,
      [ENV.toSalesforceQueueUrl]: this.toSalesforce.queue.queueUrl,
      [ENV.toSalesforceDlqUrl]: this.toSalesforce.deadLetterQueue.queueUrl,
      [ENV.toDynamicsQueueUrl]: this.toDynamics.queue.queueUrl,
      [ENV.toDynamicsDlqUrl]: this.toDynamics.deadLetterQueue.queueUrl,
      [ENV.dynamicsSecretArn]: this.secrets.dynamics.secretArn,
      [ENV.salesforceSecretArn]: this.secrets.salesforce.secretArn,
      [ENV.receiverSecretArn]: this.secrets.receiver.secretArn,
      [ENV.metricsNamespace]: metricsNamespace,
    };
    checkEnvironmentSize(environment);
    const fn = (
      fid: string,
      p: { entry: string; description: string; memorySize: number; timeout: Duration },
    ) =>
      new ConnectorFunction(this, fid, {
        ...p,
        key: this.key,
        environment,
        ...(props.bundle === undefined ? {} : { bundle: props.bundle }),
      });

    this.receiver = fn('BusinessEvents', {
      entry: ENTRY_POINTS.businessEvents,
      description: 'ml-connector: receives F&O business events and enqueues work for Salesforce',
      memorySize: 256,
      timeout: timeouts.receiver,
    });
    this.toSalesforceWorker = fn('ToSalesforceWorker', {
      entry: ENTRY_POINTS.toSalesforce,
      description: 'ml-connector: reads Dynamics records and upserts them into Salesforce',
      memorySize: 1024,
      timeout: timeouts.toSalesforce,
    });
    this.toDynamicsWorker = fn('ToDynamicsWorker', {
      entry: ENTRY_POINTS.toDynamics,
      description: 'ml-connector: writes Salesforce orders and accounts into Dynamics, exactly once',
      memorySize: 1024,
      timeout: timeouts.toDynamics,
    });
    this.backfill = fn('Backfill', {
      entry: ENTRY_POINTS.backfill,
      description: 'ml-connector: scheduled OData and SOQL backfill',
      memorySize: 1024,
      timeout: timeouts.backfill,
    });

    // Least privilege: each function gets only the table actions, queues and secrets its code calls
    // (test/infra/iam.test.ts derives them from the code; lib/iam-allowances.ts lists the rest).
    this.state.grantItems(this.receiver.function, STATE_TABLE_ACTIONS.receiver);
    this.state.grantItems(this.toSalesforceWorker.function, STATE_TABLE_ACTIONS.toSalesforceWorker);
    this.state.grantItems(this.toDynamicsWorker.function, STATE_TABLE_ACTIONS.toDynamicsWorker);
    this.state.grantItems(this.backfill.function, STATE_TABLE_ACTIONS.backfill);
    // The backfill retries parked work whose cause arrived: it reads the audit indexes.
    this.state.grantAuditQueries(this.backfill.function);
    this.secrets.receiver.grantRead(this.receiver.function);
    this.toSalesforce.queue.grantSendMessages(this.receiver.function);
    for (const worker of [this.toSalesforceWorker, this.toDynamicsWorker, this.backfill]) {
      this.secrets.dynamics.grantRead(worker.function);
      this.secrets.salesforce.grantRead(worker.function);
    }
    this.toSalesforce.queue.grantSendMessages(this.backfill.function);
    this.toDynamics.queue.grantSendMessages(this.backfill.function);
    // A worker parks a record it refuses in its own DLQ at once, with the reason as a message
    // attribute (functions/adapters/aws/work-queue.ts sendToDeadLetter), instead of letting it fail
    // maxReceiveCount times and reach the DLQ through the redrive policy without one.
    this.toSalesforce.deadLetterQueue.grantSendMessages(this.toSalesforceWorker.function);
    this.toDynamics.deadLetterQueue.grantSendMessages(this.toDynamicsWorker.function);

    this.toSalesforceWorker.function.addEventSource(
      new SqsEventSource(this.toSalesforce.queue, {
        batchSize: 100,
        maxBatchingWindow: toSalesforceBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );
    this.toDynamicsWorker.function.addEventSource(
      new SqsEventSource(this.toDynamics.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: 2,
      }),
    );

    this.api = new BusinessEventsApi(this, 'BusinessEventsApi', {
      handler: this.receiver.function,
      key: this.key,
      cloudWatchRole: props.apiGatewayCloudWatchRole !== false,
    });
    this.backfillSchedule = new BackfillSchedule(this, 'BackfillSchedule', {
      handler: this.backfill.function,
      everyMinutes: config.schedules.backfillMinutes,
      orderStatusMinutes: config.orderStatus.enabled ? config.orderStatus.pollMinutes : undefined,
      key: this.key,
    });

    this.stream = new StreamService(this, 'Stream', {
      image:
        props.streamImage ??
        ecs.ContainerImage.fromAsset(PROJECT_ROOT, {
          file: 'docker/stream.Dockerfile',
          // Only what the image needs is staged; the build runs at deploy (`cdk deploy`), not at synth.
          exclude: STREAM_IMAGE_EXCLUDES,
          platform: Platform.LINUX_ARM64,
        }),
      environment: { ...environment, [ENV.healthPort]: String(healthPort) },
      healthPort,
      key: this.key,
      // What the task emits (ApiBudgetRemaining comes from the Lambdas' EMF, not the task).
      logMetrics: [METRICS.streamHealthy, METRICS.awaitingCredentials, METRICS.cdcLagMs],
      metricNamespace: metricsNamespace,
      egressPorts: [443, pubsubPort(config.salesforce.pubsubEndpoint)],
      ...(props.network ? { network: props.network } : {}),
    });
    const task = this.stream.taskDefinition.taskRole;
    this.state.grantItems(task, STATE_TABLE_ACTIONS.streamTask);
    // The task's start-up check reads LegalEntities and Currencies from Dynamics, then subscribes.
    this.secrets.dynamics.grantRead(task);
    this.secrets.salesforce.grantRead(task);
    this.toDynamics.queue.grantSendMessages(task);
    // No cloudwatch:PutMetricData: the task's metrics are EMF lines in its logs, which the log
    // group's metric filters publish.

    this.monitoring = new Monitoring(this, 'Monitoring', {
      key: this.key,
      deadLetterQueues: {
        'to-salesforce': this.toSalesforce.deadLetterQueue,
        'to-dynamics': this.toDynamics.deadLetterQueue,
        backfill: this.backfillSchedule.deadLetterQueue,
      },
      queues: { 'to-salesforce': this.toSalesforce.queue, 'to-dynamics': this.toDynamics.queue },
      functions: {
        'business-events': this.receiver.function,
        'to-salesforce': this.toSalesforceWorker.function,
        'to-dynamics': this.toDynamicsWorker.function,
        backfill: this.backfill.function,
      },
      apiBudgetThreshold: props.apiBudgetAlarmThreshold ?? 2 * config.salesforce.apiReserve,
      backfillMinutes: config.schedules.backfillMinutes,
      namespace: metricsNamespace,
    });

    this.addOutputs(config);
    if (props.bundle === false) {
      Annotations.of(this).addInfo(
        'Lambda code is stubbed (bundle: false): for infra tests only, not for deploy',
      );
    }
  }

  /** The key policy lets CloudWatch Logs (log groups) and CloudWatch alarms (SNS topic) use the key. */
  private allowServiceUse(): void {
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsUse',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
  }

  private addOutputs(config: ConnectorConfig): void {
    const out = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    out(STACK_OUTPUTS.config, JSON.stringify(config), 'the validated connector configuration (JSON)');
    out(STACK_OUTPUTS.stateTableName, this.state.table.tableName, 'the state table');
    out(STACK_OUTPUTS.toSalesforceQueueUrl, this.toSalesforce.queue.queueUrl, 'work for Salesforce');
    out(STACK_OUTPUTS.toSalesforceDlqUrl, this.toSalesforce.deadLetterQueue.queueUrl, 'its dead letters');
    out(
      STACK_OUTPUTS.toSalesforceDlqArn,
      this.toSalesforce.deadLetterQueue.queueArn,
      'its dead letters (ARN)',
    );
    out(STACK_OUTPUTS.toDynamicsQueueUrl, this.toDynamics.queue.queueUrl, 'work for Dynamics');
    out(STACK_OUTPUTS.toDynamicsDlqUrl, this.toDynamics.deadLetterQueue.queueUrl, 'its dead letters');
    out(STACK_OUTPUTS.toDynamicsDlqArn, this.toDynamics.deadLetterQueue.queueArn, 'its dead letters (ARN)');
    out(STACK_OUTPUTS.backfillDlqUrl, this.backfillSchedule.deadLetterQueue.queueUrl, 'failed backfill runs');
    out(STACK_OUTPUTS.dynamicsSecretArn, this.secrets.dynamics.secretArn, 'Dynamics client credentials');
    out(
      STACK_OUTPUTS.salesforceSecretArn,
      this.secrets.salesforce.secretArn,
      'Salesforce client credentials',
    );
    out(STACK_OUTPUTS.receiverSecretArn, this.secrets.receiver.secretArn, 'the business-event secret');
    out(STACK_OUTPUTS.businessEventsUrl, this.api.endpointUrl, 'the F&O business events HTTPS endpoint');
    out(STACK_OUTPUTS.alarmTopicArn, this.monitoring.topic.topicArn, 'subscribe to receive alarms');
    out(STACK_OUTPUTS.dashboardName, this.monitoring.dashboard.dashboardName, 'the CloudWatch dashboard');
  }
}

/** Staged into the stream image's build context: everything but the runtime code and manifests. */
export const STREAM_IMAGE_EXCLUDES = [
  '*',
  '!package.json',
  '!package-lock.json',
  '!docker/stream.Dockerfile',
  '!functions/**',
];

/**
 * The backfill's timeout: below its interval, so a run ends before the next one is due (the
 * lease in functions/handlers/lease.ts keeps them apart even so); at most Lambda's 15 minutes.
 */
export function backfillTimeout(everyMinutes: number): Duration {
  return Duration.seconds(Math.max(30, Math.min(900, everyMinutes * 60 - 60)));
}

function checkEnvironmentSize(environment: Readonly<Record<string, string>>): void {
  const bytes = Object.entries(environment).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
    0,
  );
  // Tokens (queue URLs, ARNs) are placeholders at synth; allow for their resolved length.
  const margin = 9 * 120;
  if (bytes + margin > LAMBDA_ENV_LIMIT_BYTES) {
    throw new StageConfigError(
      `the configuration is ${Buffer.byteLength(environment[ENV.config] ?? '')} bytes of JSON; with the other variables it exceeds Lambda's 4 KB environment limit: trim mappings or businessEvents.events`,
    );
  }
}
