/**
 * `credentials set --stack`: validates both credential sets against the real systems (the token
 * checks of `ping`), then writes them, and the business-event receiver secret, into the deployed
 * stack's Secrets Manager secrets. The receiver secret is generated on first onboarding (replacing
 * the deploy-time placeholder) and on `--rotate-receiver-secret` (the old one stays valid as
 * `previous` until the next rotation); otherwise the one F&O already uses is kept.
 */
import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClients } from '#adapters/clients.ts';
import type { ClientCredentials, ConnectorSecrets } from '#core/ports/secrets.ts';
import type { ReceiverSecrets } from '#core/triggers/business-events.ts';
import { type PingReport, runPing } from './ping-checks.ts';
import { type DeployedStack, isPlaceholderReceiver, readReceiverSecret } from './stack.ts';

/** Checks credentials against the live systems; the default runs `ping`. */
export type CredentialCheck = (stack: DeployedStack, secrets: ConnectorSecrets) => Promise<PingReport>;

/** The ping checks that prove the credentials themselves (not the rest of the configuration). */
const CREDENTIAL_CHECKS = new Set(['token and OData service', 'token and REST API']);

/** Ping with the deployed configuration and the given secrets. */
export const pingCheck: CredentialCheck = async (stack, secrets) => {
  const clients = createClients(stack.config, secrets);
  try {
    return await runPing(stack.config, clients);
  } finally {
    await clients.close();
  }
};

/** The credential checks that failed (empty when both sets work). */
export function credentialFailures(report: PingReport): PingReport['checks'] {
  return report.checks.filter((c) => !c.ok && CREDENTIAL_CHECKS.has(c.name));
}

export interface StackCredentialsInput {
  readonly secretsManager: SecretsManagerClient;
  readonly stack: DeployedStack;
  readonly dynamics: ClientCredentials;
  readonly salesforce: ClientCredentials;
  readonly rotateReceiverSecret?: boolean;
  /** @default 32 random bytes, base64url */
  readonly generateSecret?: () => string;
}

export interface StackCredentialsResult {
  readonly receiver: ReceiverSecrets;
  /** True when a new receiver secret was generated (it must be shown once, and set in F&O). */
  readonly generated: boolean;
}

/** Decides the receiver secret and writes all three secrets. */
export async function writeStackCredentials(input: StackCredentialsInput): Promise<StackCredentialsResult> {
  const { secretsManager, stack } = input;
  const stored = await readReceiverSecret(secretsManager, stack);
  const placeholder = isPlaceholderReceiver(stored);
  const generated = placeholder || input.rotateReceiverSecret === true;
  const fresh = (input.generateSecret ?? (() => randomBytes(32).toString('base64url')))();
  const receiver: ReceiverSecrets = generated
    ? { current: fresh, ...(placeholder ? {} : { previous: String(stored.current) }) }
    : {
        current: String(stored.current),
        ...(typeof stored.previous === 'string' ? { previous: stored.previous } : {}),
      };
  const put = (arn: string, value: object) =>
    secretsManager.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));
  await put(stack.secretArns.dynamics, input.dynamics);
  await put(stack.secretArns.salesforce, input.salesforce);
  if (generated) await put(stack.secretArns.receiver, receiver);
  return { receiver, generated };
}
