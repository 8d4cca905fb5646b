/**
 * A Lambda/task environment for tests that need a valid one but reach no system: the sandbox
 * configuration pointed at port 9 (discard) on loopback, and queue URLs and secret ARNs that
 * name nothing. Tests override what they do reach.
 */
import { ENV } from '#adapters/aws/contract.ts';
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
