/**
 * A Lambda/task environment for tests that need a valid one but reach no system: the sandbox
 * configuration pointed at port 9 (discard) on loopback, and queue URLs and secret ARNs that
 * name nothing. Tests override what they do reach.
 */
import type { DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { ENV, STACK_OUTPUTS } from '#adapters/aws/contract.ts';
import { sandboxConfig } from '#cli/demo-config.ts';

/** The example business's configuration, its systems at 127.0.0.1:9 (nothing answers). */
export const unreachableConfig = sandboxConfig({
  dynamics: {
    environmentUrl: 'https://127.0.0.1:9/',
    tenantId: '00000000-0000-4000-8000-000000000001',
    authorityHost: 'https://127.0.0.1:9/',
  },
  salesforce: { myDomainUrl: 'https://127.0.0.1:9', pubsubEndpoint: '127.0.0.1:9' },
} as never);

/** Every required variable of the AWS contract (ENV), for `unreachableConfig`; `queueBase` prefixes the queue URLs. */
export function unreachableEnvironment(queueBase = 'http://127.0.0.1:9/1'): Record<string, string> {
  return {
    [ENV.config]: JSON.stringify(unreachableConfig),
    [ENV.stateTable]: 'state',
    [ENV.toSalesforceQueueUrl]: `${queueBase}/to-salesforce`,
    [ENV.toSalesforceDlqUrl]: `${queueBase}/to-salesforce-dlq`,
    [ENV.toDynamicsQueueUrl]: `${queueBase}/to-dynamics`,
    [ENV.toDynamicsDlqUrl]: `${queueBase}/to-dynamics-dlq`,
    [ENV.dynamicsSecretArn]: 'arn:d',
    [ENV.salesforceSecretArn]: 'arn:s',
    [ENV.receiverSecretArn]: 'arn:r',
  };
}

/**
 * Remembers the values of `keys` in `process.env` (a test points the SDK at moto through them);
 * the returned function puts them back, deleting the ones that were unset.
 */
export function saveEnv(keys: readonly string[]): () => void {
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  return () => {
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  };
}

/**
 * The outputs of a deployed stack named `stack` whose queues are `urls` (keys `sf`, `sf-dlq`, `d`,
 * `d-dlq`, `bf-dlq`) in `account`'s `region`; secrets, topic and URL name nothing that answers.
 */
export function stackOutputs(o: {
  readonly stack: string;
  readonly config: unknown;
  readonly stateTable: string;
  readonly urls: Readonly<Record<string, string>>;
  readonly account: string;
  readonly region?: string | undefined;
}): Record<string, string> {
  const sqsArn = (name: string) => `arn:aws:sqs:${o.region ?? 'eu-west-1'}:${o.account}:${name}`;
  const secretArn = (id: string) => `arn:aws:secretsmanager:eu-west-1:${o.account}:secret:${id}-AbCdEf`;
  return {
    [STACK_OUTPUTS.config]: JSON.stringify(o.config),
    [STACK_OUTPUTS.stateTableName]: o.stateTable,
    [STACK_OUTPUTS.toSalesforceQueueUrl]: o.urls.sf ?? '',
    [STACK_OUTPUTS.toSalesforceDlqUrl]: o.urls['sf-dlq'] ?? '',
    [STACK_OUTPUTS.toSalesforceDlqArn]: sqsArn('sf-dlq'),
    [STACK_OUTPUTS.toDynamicsQueueUrl]: o.urls.d ?? '',
    [STACK_OUTPUTS.toDynamicsDlqUrl]: o.urls['d-dlq'] ?? '',
    [STACK_OUTPUTS.toDynamicsDlqArn]: sqsArn('d-dlq'),
    [STACK_OUTPUTS.backfillDlqUrl]: o.urls['bf-dlq'] ?? '',
    [STACK_OUTPUTS.dynamicsSecretArn]: secretArn('d'),
    [STACK_OUTPUTS.salesforceSecretArn]: secretArn('s'),
    [STACK_OUTPUTS.receiverSecretArn]: secretArn('r'),
    [STACK_OUTPUTS.businessEventsUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/business-events',
    [STACK_OUTPUTS.alarmTopicArn]: `arn:aws:sns:eu-west-1:${o.account}:alarms`,
    [STACK_OUTPUTS.dashboardName]: `${o.stack}Dashboard`,
  };
}

/** CloudFormation's DescribeStacks answer for a deployed (UPDATE_COMPLETE) stack named `stack` with `outputs`. */
export function describedStack(
  stack: string,
  outputs: Readonly<Record<string, string>>,
): Pick<DescribeStacksCommandOutput, 'Stacks'> {
  return {
    Stacks: [
      {
        StackName: stack,
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}
