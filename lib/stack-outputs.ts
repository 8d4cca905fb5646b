/**
 * The names of the stack's CloudFormation outputs: what `ml-connector … --stack <name>` reads
 * through DescribeStacks to find the deployed queues, secrets, table and configuration.
 * Constants only, so the CLI can import them without loading the CDK.
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
