import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_CLIENT_ID, PLACEHOLDER_FIELD } from '#adapters/aws/contract.ts';

/** Props for {@link ConnectorSecrets}. */
export interface ConnectorSecretsProps {
  /** Encrypts the secrets. */
  readonly key: kms.IKey;
  /** @default RemovalPolicy.RETAIN (a redeploy must not lose the onboarded credentials) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The three secrets, created with generated placeholder values that onboarding
 * (`ml-connector credentials set --stack`) replaces:
 * - Dynamics and Salesforce: `{ "clientId": …, "clientSecret": … }`
 * - receiver (business events): `{ "current": …, "previous"?: … }`, generated at deploy so the
 *   endpoint is never open; marked `"placeholder": true` until onboarding writes the real one.
 */
export class ConnectorSecrets extends Construct {
  public readonly dynamics: secretsmanager.Secret;
  public readonly salesforce: secretsmanager.Secret;
  public readonly receiver: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ConnectorSecretsProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const credentials = (name: string, description: string) =>
      new secretsmanager.Secret(this, name, {
        description,
        encryptionKey: props.key,
        removalPolicy,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ clientId: PLACEHOLDER_CLIENT_ID }),
          generateStringKey: 'clientSecret',
          excludePunctuation: true,
          passwordLength: 32,
        },
      });
    this.dynamics = credentials('Dynamics', 'ml-connector: Dynamics 365 F&O (Entra app) client credentials');
    this.salesforce = credentials('Salesforce', 'ml-connector: Salesforce external client app credentials');
    this.receiver = new secretsmanager.Secret(this, 'Receiver', {
      description: 'ml-connector: the secret F&O business events present to the receiver',
      encryptionKey: props.key,
      removalPolicy,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [PLACEHOLDER_FIELD]: true }),
        generateStringKey: 'current',
        excludePunctuation: true,
        passwordLength: 43,
      },
    });
  }
}
