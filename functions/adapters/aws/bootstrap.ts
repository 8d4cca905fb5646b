/**
 * The AWS shape's composition root: reads and validates the environment once (the only place
 * that reads process.env for it) and builds the SDK clients and the adapters. The API clients and
 * the EngineContext live in engine.ts, so an entry point that needs none (the business-event
 * receiver) bundles neither the HTTP clients nor MSAL.
 */

import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConfigError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';
import type { Secrets } from '#core/ports/secrets.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import { QUEUES } from '#core/work/items.ts';
import { ENV, METRICS } from './contract.ts';
import { createPowertoolsLogger, SERVICE_NAME } from './logger.ts';
import { type ConnectorMetrics, createConnectorMetrics } from './metrics.ts';
import { type AwsClients, createAwsClients } from './sdk-clients.ts';
import { createSecretsManagerSecrets, type SecretArns } from './secrets.ts';
import { createDynamoStateStore } from './state-store.ts';
import { createSqsWorkQueue, type QueueUrls, type SqsWorkQueue } from './work-queue.ts';

/** The validated AWS environment (frozen). */
export interface AwsEnvironment {
  readonly config: ConnectorConfig;
  readonly stateTable: string;
  readonly queues: Readonly<Record<(typeof QUEUES)[keyof typeof QUEUES], QueueUrls>>;
  readonly secretArns: SecretArns;
  /** The Fargate task's health port, when set (0: any free port, reported in the start-up log). */
  readonly healthPort: number | undefined;
  /** The address of the health endpoint, when set (ENV.healthHost). */
  readonly healthHost: string | undefined;
  /** The custom metrics' namespace (ENV.metricsNamespace; default METRICS.namespace). */
  readonly metricsNamespace: string;
}

/** An environment variable is missing or invalid; `key` names it. */
export class EnvironmentError extends ConfigError {
  override name = 'EnvironmentError';
}

export type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value)
    throw new EnvironmentError(name, 'is not set (the stack sets it on every function and the task)');
  return value;
}

/** Reads and validates the variables of contract.ts ENV; throws EnvironmentError naming the first bad one. */
export function readAwsEnvironment(env: Env): AwsEnvironment {
  const raw = required(env, ENV.config);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new EnvironmentError(ENV.config, 'is not valid JSON', { cause });
  }
  const config = validateConfig(parsed);
  const port = env[ENV.healthPort]?.trim();
  const healthPort = port ? Number(port) : undefined;
  if (healthPort !== undefined && !(Number.isInteger(healthPort) && healthPort >= 0 && healthPort < 65_536)) {
    throw new EnvironmentError(ENV.healthPort, `must be a TCP port, not "${port}"`);
  }
  return Object.freeze({
    config,
    stateTable: required(env, ENV.stateTable),
    queues: Object.freeze({
      [QUEUES.toSalesforce]: {
        url: required(env, ENV.toSalesforceQueueUrl),
        dlqUrl: required(env, ENV.toSalesforceDlqUrl),
      },
      [QUEUES.toDynamics]: {
        url: required(env, ENV.toDynamicsQueueUrl),
        dlqUrl: required(env, ENV.toDynamicsDlqUrl),
      },
    }),
    secretArns: Object.freeze({
      dynamics: required(env, ENV.dynamicsSecretArn),
      salesforce: required(env, ENV.salesforceSecretArn),
      receiver: required(env, ENV.receiverSecretArn),
    }),
    healthPort,
    healthHost: env[ENV.healthHost]?.trim() || undefined,
    metricsNamespace: env[ENV.metricsNamespace]?.trim() || METRICS.namespace,
  });
}

/** Everything an entry point needs, built once per container (no API clients: see engine.ts). */
export interface AwsRuntime {
  readonly env: AwsEnvironment;
  readonly aws: AwsClients;
  readonly logger: Logger;
  readonly metrics: ConnectorMetrics;
  readonly state: StateStore;
  readonly queue: SqsWorkQueue;
  readonly secrets: Secrets;
  readonly now: () => number;
  /** Closes the SDK clients. */
  close(): Promise<void>;
}

export interface AwsRuntimeOptions {
  /** Default `process.env`. */
  readonly env?: Env;
  readonly aws?: AwsClients;
  readonly logger?: Logger;
  readonly metrics?: ConnectorMetrics;
  readonly secrets?: Secrets;
  readonly now?: () => number;
  /** Publish each metric value at once (the Fargate task; see createConnectorMetrics). */
  readonly immediateMetrics?: boolean;
}

/** Builds the runtime. Reads the environment now (throws EnvironmentError); no network yet. */
export function createAwsRuntime(options: AwsRuntimeOptions = {}): AwsRuntime {
  const env = readAwsEnvironment(options.env ?? process.env);
  const aws = options.aws ?? createAwsClients();
  const now = options.now ?? Date.now;
  return {
    env,
    aws,
    logger: options.logger ?? createPowertoolsLogger(),
    metrics:
      options.metrics ??
      createConnectorMetrics(new Metrics({ namespace: env.metricsNamespace, serviceName: SERVICE_NAME }), {
        immediate: options.immediateMetrics === true,
      }),
    state: createDynamoStateStore({ client: aws.dynamodb, tableName: env.stateTable, now }),
    queue: createSqsWorkQueue({ client: aws.sqs, queues: env.queues }),
    secrets:
      options.secrets ??
      createSecretsManagerSecrets({ client: aws.secretsManager, arns: env.secretArns, now }),
    now,
    async close() {
      aws.destroy();
    },
  };
}
