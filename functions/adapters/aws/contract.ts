/**
 * The contract between the CDK stack (lib/) and the AWS entry points (functions/handlers/,
 * functions/stream/): environment variable names, the state table's key schema and indexes, and
 * the custom metrics the dashboard and alarms read. Both sides import these constants.
 */

/** Environment variables the stack sets on every Lambda and on the Fargate task. */
export const ENV = {
  /** The validated connector configuration, as JSON (same schema as the local file). */
  config: 'CONNECTOR_CONFIG',
  stateTable: 'STATE_TABLE_NAME',
  toSalesforceQueueUrl: 'TO_SALESFORCE_QUEUE_URL',
  toSalesforceDlqUrl: 'TO_SALESFORCE_DLQ_URL',
  toDynamicsQueueUrl: 'TO_DYNAMICS_QUEUE_URL',
  toDynamicsDlqUrl: 'TO_DYNAMICS_DLQ_URL',
  dynamicsSecretArn: 'DYNAMICS_SECRET_ARN',
  salesforceSecretArn: 'SALESFORCE_SECRET_ARN',
  receiverSecretArn: 'RECEIVER_SECRET_ARN',
  /** Port of the Fargate task's health endpoint. */
  healthPort: 'HEALTH_PORT',
  /** Address the health endpoint listens on (default every interface, as the container needs; tests: 127.0.0.1). */
  healthHost: 'HEALTH_HOST',
  /**
   * The CloudWatch namespace of the custom metrics: `MlConnector/<stack name>`, so two stages in
   * one account and region never mix their metrics. Unset (tests, tools): `METRICS.namespace`.
   */
  metricsNamespace: 'METRICS_NAMESPACE',
} as const;

/**
 * The state table: one DynamoDB table, on-demand, keyed `pk` + `sk`, TTL on `expiresAt` (epoch
 * seconds). Audit entries are also indexed by record key and by outcome, newest first.
 */
export const TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byRecordIndex: { name: 'byRecord', partitionKey: 'recordKey', sortKey: 'auditSort' },
  byOutcomeIndex: { name: 'byOutcome', partitionKey: 'outcome', sortKey: 'auditSort' },
} as const;

/**
 * Custom CloudWatch metrics (Powertools Metrics, EMF). `namespace` is the base: each stack
 * publishes under `MlConnector/<stack name>` ({@link stackMetricsNamespace}, ENV.metricsNamespace).
 */
export const METRICS = {
  namespace: 'MlConnector',
  /** Records written to the target system; dimensions `flow`, `direction`. */
  recordsMoved: 'RecordsMoved',
  /** Work items that failed (retried or dead-lettered); dimension `flow`. */
  failures: 'Failures',
  /**
   * Work items parked until a person or a missing record fixes their cause (the `parked` audit
   * entries of a worker batch); dimensions `flow`, `direction`.
   */
  recordsParked: 'RecordsParked',
  /** Salesforce daily API calls remaining (last reading). */
  apiBudgetRemaining: 'ApiBudgetRemaining',
  /** ms between a CDC event's commit and its enqueue. */
  cdcLagMs: 'CdcLagMs',
  /**
   * 1 while the Pub/Sub stream is connected (or reconnecting for under a minute) or the task waits
   * for its first credentials; 0 when disconnected longer, a subscriber failed, or the credentials
   * were rejected (Fargate task, at start-up and every minute).
   */
  streamHealthy: 'StreamHealthy',
  /** 1 while the stream task waits for credentials (placeholders or rejected), else 0. */
  awaitingCredentials: 'AwaitingCredentials',
  backfillRuns: 'BackfillRuns',
  backfillFailures: 'BackfillFailures',
  /** Business events answered 2xx but not enqueued (no mapping, company not synced, unmappable data event); dimension `shape`. */
  businessEventsIgnored: 'BusinessEventsIgnored',
} as const;

/** The namespace a stack's metrics use: one per stack, so stages never mask each other. */
export function stackMetricsNamespace(stackName: string): string {
  return `${METRICS.namespace}/${stackName}`;
}

/** The Lambda handler entry files (relative to the project root) and their exported handler. */
export const ENTRY_POINTS = {
  businessEvents: 'functions/handlers/business-events.ts',
  toSalesforce: 'functions/handlers/to-salesforce.ts',
  toDynamics: 'functions/handlers/to-dynamics.ts',
  backfill: 'functions/handlers/backfill.ts',
  stream: 'functions/stream/main.ts',
} as const;

/**
 * The names of the stack's CloudFormation outputs: what `ml-connector … --stack <name>` reads
 * through DescribeStacks to find the deployed queues, secrets, table and configuration.
 */
export const STACK_OUTPUTS = {
  config: 'ConnectorConfig',
  stateTableName: 'StateTableName',
  toSalesforceQueueUrl: 'ToSalesforceQueueUrl',
  toSalesforceDlqUrl: 'ToSalesforceDlqUrl',
  toSalesforceDlqArn: 'ToSalesforceDlqArn',
  toDynamicsQueueUrl: 'ToDynamicsQueueUrl',
  toDynamicsDlqUrl: 'ToDynamicsDlqUrl',
  toDynamicsDlqArn: 'ToDynamicsDlqArn',
  backfillDlqUrl: 'BackfillDlqUrl',
  dynamicsSecretArn: 'DynamicsSecretArn',
  salesforceSecretArn: 'SalesforceSecretArn',
  receiverSecretArn: 'ReceiverSecretArn',
  businessEventsUrl: 'BusinessEventsUrl',
  alarmTopicArn: 'AlarmTopicArn',
  dashboardName: 'DashboardName',
} as const;

export type StackOutputName = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];

/** The receiver secret's placeholder marker: set at deploy, removed when `credentials set --stack` writes it. */
export const PLACEHOLDER_FIELD = 'placeholder';

/** The client id the credential secrets hold until onboarding writes the real one. */
export const PLACEHOLDER_CLIENT_ID = 'set-by-ml-connector-credentials-set';
