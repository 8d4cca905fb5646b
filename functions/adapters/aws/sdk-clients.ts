/**
 * The AWS SDK v3 clients, built once per container. Endpoints and credentials come from the SDK's
 * own configuration chain (AWS_REGION, the execution role, AWS_ENDPOINT_URL_<SERVICE>), or from
 * `overrides` in tests; nothing here chooses an endpoint.
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface AwsClients {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
  destroy(): void;
}

/** Shared client settings (region, credentials, endpoint) for tests and tools; production passes none. */
export type AwsClientOverrides = Pick<DynamoDBClientConfig, 'region' | 'credentials' | 'endpoint'>;

/** Wraps a DynamoDB client in the document client the state store expects (undefined fields dropped). */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Builds the three clients; per-service overrides win over the shared ones. */
export function createAwsClients(
  overrides: AwsClientOverrides & {
    readonly dynamodb?: AwsClientOverrides;
    readonly sqs?: AwsClientOverrides;
    readonly secretsManager?: AwsClientOverrides;
  } = {},
): AwsClients {
  const { dynamodb: d, sqs: q, secretsManager: s, ...shared } = overrides;
  const ddb = new DynamoDBClient({ ...shared, ...d });
  const sqs = new SQSClient({ ...shared, ...q });
  const secretsManager = new SecretsManagerClient({ ...shared, ...s });
  return {
    dynamodb: documentClient(ddb),
    sqs,
    secretsManager,
    destroy() {
      ddb.destroy();
      sqs.destroy();
      secretsManager.destroy();
    },
  };
}
