import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** Props for {@link ConnectorStack}. */
export interface ConnectorStackProps extends StackProps {}

/**
 * The ml-connector stack. For now it holds the customer-managed KMS key that will encrypt the
 * state tables, queues and secrets; the rest of the AWS shape lands with the AWS issue.
 */
export class ConnectorStack extends Stack {
  /** Encrypts everything the connector stores. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props?: ConnectorStackProps) {
    super(scope, id, props);
    this.key = new kms.Key(this, 'DataKey', {
      description: 'ml-connector: encrypts state, queues and credentials',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
