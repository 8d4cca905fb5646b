/**
 * Every IAM grant of the connector's roles that its code does not call, with the reason it stays.
 * test/infra/iam.test.ts derives the actions each Lambda and the stream task can call from their
 * SDK commands and fails on a grant that is neither needed nor listed here (and on a needed one
 * that is missing). The cdk-nag acknowledgements are beside this file (nag-suppressions.ts).
 *
 * Resources are named as the test names them: `table`, `queue:<name>`, `dlq:<name>`,
 * `secret:<name>`, `key`, `log-group`; `*` in a resource or role matches any.
 */

/** The roles the IAM test checks. */
export type ConnectorRole =
  | 'receiver'
  | 'toSalesforceWorker'
  | 'toDynamicsWorker'
  | 'backfill'
  | 'streamTask';

export interface IamAllowance {
  /** The roles it applies to, or `*`. */
  readonly roles: readonly ConnectorRole[] | '*';
  /** Actions as granted (wildcards as written in the policy, e.g. `kms:ReEncrypt*`). */
  readonly actions: readonly string[];
  /** A resource pattern (`queue:*`, `secret:*`, `key`). */
  readonly resource: string;
  readonly reason: string;
}

export const IAM_ALLOWANCES: readonly IamAllowance[] = [
  {
    roles: '*',
    actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
    resource: 'queue:*',
    reason:
      "CDK's Queue.grantSendMessages (and the SQS event source's grantConsumeMessages) add these read-only " +
      'metadata actions with SendMessage/ReceiveMessage, on the same queue; they reveal no message.',
  },
  {
    roles: '*',
    actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
    resource: 'dlq:*',
    reason:
      'As for the work queues: added by Queue.grantSendMessages with SendMessage on the same dead-letter queue.',
  },
  {
    roles: '*',
    actions: ['secretsmanager:DescribeSecret'],
    resource: 'secret:*',
    reason:
      "Secret.grantRead adds it with GetSecretValue on the same secret: the secret's metadata (name, rotation, " +
      'tags), never its value.',
  },
  {
    roles: '*',
    actions: ['kms:Encrypt', 'kms:ReEncrypt*'],
    resource: 'key',
    reason:
      "CDK's encrypt/decrypt grant on the connector key, as Table.grantWriteData and Queue.grantSendMessages give " +
      "writers of a KMS-encrypted table or queue. DynamoDB's documentation does not list the data-plane KMS actions " +
      'per operation (UNCONFIRMED), and a missing one would fail only in the customer account; the grant names ' +
      'the one connector key.',
  },
];
