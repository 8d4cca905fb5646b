import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { TABLE } from '#adapters/aws/contract.ts';

/** Props for {@link StateTable}. */
export interface StateTableProps {
  /** Encrypts the table. */
  readonly key: kms.IKey;
  /** @default RemovalPolicy.RETAIN (checkpoints, idempotency records and the audit trail outlive the stack) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The DynamoDB actions each part of the connector calls on the state table (items and the table's
 * own key only: no Scan, no index, no table administration). test/infra/iam.test.ts derives them from the code and fails
 * when they drift: PutItem for dedup claims, idempotency records and audit entries; DeleteItem to
 * release a dedup claim; GetItem/UpdateItem for checkpoints and idempotency records;
 * BatchGetItem/BatchWriteItem for sync hashes, BatchWriteItem for a sync's audit entries; for the sales orders the connector follows, PutItem,
 * BatchGetItem, DeleteItem (no longer followed) and Query on the table's own key (the poll pages
 * through one partition). The audit indexes are read by the CLI and by the
 * backfill (StateTable.grantAuditQueries: parked work whose cause arrived is retried).
 */
export const STATE_TABLE_ACTIONS = {
  receiver: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
  toSalesforceWorker: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchGetItem',
    'dynamodb:BatchWriteItem',
  ],
  toDynamicsWorker: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchWriteItem',
  ],
  backfill: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:Query',
    'dynamodb:BatchGetItem',
    'dynamodb:BatchWriteItem',
  ],
  streamTask: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
} as const satisfies Readonly<Record<string, readonly string[]>>;

/**
 * The state table per `TABLE` in contract.ts: checkpoints, dedup keys, idempotency records, sync
 * hashes and the audit trail. On-demand, point-in-time recovery, KMS, TTL, two audit indexes.
 */
export class StateTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateTableProps) {
    super(scope, id);
    const str = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: str(TABLE.partitionKey),
      sortKey: str(TABLE.sortKey),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      timeToLiveAttribute: TABLE.ttlAttribute,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    for (const index of [TABLE.byRecordIndex, TABLE.byOutcomeIndex]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: str(index.partitionKey),
        sortKey: str(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }

  /**
   * Grants `actions` on the table's items only (Table.grant would add every index as well; the
   * connector's functions query none) and, for its customer managed key, decrypt and encrypt.
   */
  /** Grants Query on the two audit indexes (by record, by outcome), each named: no wildcard. */
  grantAuditQueries(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [TABLE.byRecordIndex, TABLE.byOutcomeIndex].map(
          (index) => `${this.table.tableArn}/index/${index.name}`,
        ),
      }),
    );
  }

  grantItems(grantee: iam.IGrantable, actions: readonly string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...actions], resources: [this.table.tableArn] }),
    );
    this.table.encryptionKey?.grantEncryptDecrypt(grantee);
  }
}
