/**
 * `--stack <name>`: what the CLI learns about a deployed ml-connector stack from its CloudFormation
 * outputs (DescribeStacks), and its credentials from Secrets Manager. AWS credentials and region
 * come from the SDK's default chain (AWS_PROFILE, AWS_REGION, SSO, instance roles).
 */

import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PLACEHOLDER_CLIENT_ID, PLACEHOLDER_FIELD, STACK_OUTPUTS } from '#adapters/aws/contract.ts';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { createSqsWorkQueue } from '#adapters/aws/work-queue.ts';
import { ConnectorError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';
import type { ClientCredentials, ConnectorSecrets } from '#core/ports/secrets.ts';
import type { ReceiverSecrets } from '#core/triggers/business-events.ts';
import { QUEUES } from '#core/work/items.ts';

/** The option every `--stack` command takes. */
export const stackOption = { stack: { type: 'string' } } as const;
export const stackOptionHelp = [
  '--stack <name>',
  'work on the deployed CloudFormation stack instead of the local state (AWS credentials from the usual chain)',
] as const;

/** A deployed queue and its dead-letter queue. */
export interface DeployedQueue {
  readonly url: string;
  readonly deadLetterUrl: string;
  readonly deadLetterArn: string;
}

/** What the CLI needs of a deployed stack. */
export interface DeployedStack {
  readonly name: string;
  readonly config: ConnectorConfig;
  readonly stateTableName: string;
  readonly queues: { readonly 'to-salesforce': DeployedQueue; readonly 'to-dynamics': DeployedQueue };
  readonly backfillDeadLetterUrl: string;
  readonly secretArns: { readonly dynamics: string; readonly salesforce: string; readonly receiver: string };
  readonly businessEventsUrl: string;
  readonly alarmTopicArn: string;
  readonly dashboardName: string;
}

/** The stack is missing, incomplete or not an ml-connector stack. */
export class StackLookupError extends ConnectorError {
  override name = 'StackLookupError';
  readonly stackName: string;

  constructor(stackName: string, message: string, options?: ErrorOptions) {
    super(message, { ...options, code: 'STACK_LOOKUP' });
    this.stackName = stackName;
  }
}

/** Finds the stack's outputs; every missing output is named. */
export async function describeDeployedStack(
  cloudFormation: CloudFormationClient,
  name: string,
): Promise<DeployedStack> {
  let outputs: Map<string, string>;
  try {
    const { Stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: name }));
    const stack = Stacks?.[0];
    if (!stack) throw new StackLookupError(name, `no stack named "${name}"`);
    outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  } catch (error) {
    if (error instanceof StackLookupError) throw error;
    const message = (error as Error).message ?? String(error);
    throw new StackLookupError(
      name,
      /does not exist/i.test(message)
        ? `no stack named "${name}" in this account and region (check AWS_PROFILE and AWS_REGION)`
        : `cannot describe stack "${name}": ${message}`,
      { cause: error },
    );
  }
  const missing = Object.values(STACK_OUTPUTS).filter((key) => !outputs.get(key));
  if (missing.length > 0) {
    throw new StackLookupError(
      name,
      `stack "${name}" lacks the output(s) ${missing.join(', ')}: is it an ml-connector stack, fully deployed?`,
    );
  }
  const out = (key: string) => outputs.get(key) as string;
  let config: ConnectorConfig;
  try {
    config = validateConfig(JSON.parse(out(STACK_OUTPUTS.config)));
  } catch (error) {
    throw new StackLookupError(name, `stack "${name}" has an invalid ${STACK_OUTPUTS.config} output`, {
      cause: error,
    });
  }
  return {
    name,
    config,
    stateTableName: out(STACK_OUTPUTS.stateTableName),
    queues: {
      'to-salesforce': {
        url: out(STACK_OUTPUTS.toSalesforceQueueUrl),
        deadLetterUrl: out(STACK_OUTPUTS.toSalesforceDlqUrl),
        deadLetterArn: out(STACK_OUTPUTS.toSalesforceDlqArn),
      },
      'to-dynamics': {
        url: out(STACK_OUTPUTS.toDynamicsQueueUrl),
        deadLetterUrl: out(STACK_OUTPUTS.toDynamicsDlqUrl),
        deadLetterArn: out(STACK_OUTPUTS.toDynamicsDlqArn),
      },
    },
    backfillDeadLetterUrl: out(STACK_OUTPUTS.backfillDlqUrl),
    secretArns: {
      dynamics: out(STACK_OUTPUTS.dynamicsSecretArn),
      salesforce: out(STACK_OUTPUTS.salesforceSecretArn),
      receiver: out(STACK_OUTPUTS.receiverSecretArn),
    },
    businessEventsUrl: out(STACK_OUTPUTS.businessEventsUrl),
    alarmTopicArn: out(STACK_OUTPUTS.alarmTopicArn),
    dashboardName: out(STACK_OUTPUTS.dashboardName),
  };
}

/** The deployed stack named by `--stack`, through a client built from the default chain. */
export function lookUpStack(name: string): Promise<DeployedStack> {
  return describeDeployedStack(new CloudFormationClient({}), name);
}

async function readJson(secretsManager: SecretsManagerClient, arn: string): Promise<Record<string, unknown>> {
  const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: arn }));
  try {
    return JSON.parse(SecretString ?? '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** True while the receiver secret still holds the value generated at deploy. */
export function isPlaceholderReceiver(value: Record<string, unknown>): boolean {
  return value[PLACEHOLDER_FIELD] === true || typeof value.current !== 'string' || !value.current;
}

/** The receiver secret as stored (placeholder included); used to keep or rotate it. */
export async function readReceiverSecret(
  secretsManager: SecretsManagerClient,
  stack: DeployedStack,
): Promise<Record<string, unknown>> {
  return readJson(secretsManager, stack.secretArns.receiver);
}

/** Reads the three secrets; throws, with the command to run, while onboarding has not filled them. */
export async function readDeployedSecrets(
  secretsManager: SecretsManagerClient,
  stack: DeployedStack,
): Promise<ConnectorSecrets> {
  const [dynamics, salesforce, receiver] = await Promise.all([
    readJson(secretsManager, stack.secretArns.dynamics),
    readJson(secretsManager, stack.secretArns.salesforce),
    readJson(secretsManager, stack.secretArns.receiver),
  ]);
  const credentials = (value: Record<string, unknown>, which: string): ClientCredentials => {
    const { clientId, clientSecret } = value;
    if (
      typeof clientId !== 'string' ||
      typeof clientSecret !== 'string' ||
      clientId === PLACEHOLDER_CLIENT_ID
    ) {
      throw new StackLookupError(
        stack.name,
        `the ${which} credentials of stack "${stack.name}" are not set: run \`ml-connector credentials set --stack ${stack.name}\``,
      );
    }
    return { clientId, clientSecret };
  };
  return {
    dynamics: credentials(dynamics, 'Dynamics'),
    salesforce: credentials(salesforce, 'Salesforce'),
    businessEvents: {
      current: typeof receiver.current === 'string' ? receiver.current : '',
      ...(typeof receiver.previous === 'string' ? { previous: receiver.previous } : {}),
    } satisfies ReceiverSecrets,
  };
}

/** Approximate message counts of one deployed queue (GetQueueAttributes). */
export interface DeployedQueueDepth {
  readonly queue: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/** Depths of both work queues, their DLQs and the backfill DLQ. */
export async function deployedQueueDepths(
  sqs: SQSClient,
  stack: DeployedStack,
): Promise<DeployedQueueDepth[]> {
  const targets: [string, string][] = [
    ['to-salesforce', stack.queues['to-salesforce'].url],
    ['to-salesforce DLQ', stack.queues['to-salesforce'].deadLetterUrl],
    ['to-dynamics', stack.queues['to-dynamics'].url],
    ['to-dynamics DLQ', stack.queues['to-dynamics'].deadLetterUrl],
    ['backfill DLQ', stack.backfillDeadLetterUrl],
  ];
  return Promise.all(
    targets.map(async ([queue, url]) => {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      const n = (key: string) => Number(Attributes[key as keyof typeof Attributes] ?? 0);
      return {
        queue,
        visible: n('ApproximateNumberOfMessages'),
        inFlight: n('ApproximateNumberOfMessagesNotVisible'),
        delayed: n('ApproximateNumberOfMessagesDelayed'),
      };
    }),
  );
}

export interface DeployedAlarm {
  readonly name: string;
  readonly state: string;
  readonly reason: string | undefined;
  readonly since: string | undefined;
}

/** The stack's alarms (those notifying its alarm topic) and their states. */
export async function deployedAlarms(
  cloudwatch: CloudWatchClient,
  stack: DeployedStack,
): Promise<DeployedAlarm[]> {
  const alarms: DeployedAlarm[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({
        ActionPrefix: stack.alarmTopicArn,
        MaxRecords: 100,
        ...(NextToken ? { NextToken } : {}),
      }),
    );
    for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
      alarms.push({
        name: a.AlarmName ?? '?',
        state: a.StateValue ?? 'UNKNOWN',
        reason: a.StateReason,
        since: a.StateUpdatedTimestamp?.toISOString(),
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return alarms.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The deployed state table and queues as the engine's ports, for CLI commands that read the audit
 * trail or enqueue work (audit, replay) on AWS; the deployed workers process what they enqueue.
 */
export function deployedStatePorts(
  stack: DeployedStack,
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
) {
  const urls = (q: DeployedQueue) => ({ url: q.url, dlqUrl: q.deadLetterUrl });
  return {
    state: createDynamoStateStore({
      client: documentClient(clients.dynamodb),
      tableName: stack.stateTableName,
    }),
    queue: createSqsWorkQueue({
      client: clients.sqs,
      queues: {
        [QUEUES.toSalesforce]: urls(stack.queues['to-salesforce']),
        [QUEUES.toDynamics]: urls(stack.queues['to-dynamics']),
      },
    }),
  };
}
