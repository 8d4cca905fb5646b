import { Duration } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props for {@link WorkQueue}. */
export interface WorkQueueProps {
  /** Encrypts the queue and its DLQ. */
  readonly key: kms.IKey;
  /**
   * The consuming function's timeout: the visibility timeout is six times it plus the batching
   * window (AWS guidance for SQS event sources).
   */
  readonly consumerTimeout: Duration;
  /** The event source's batching window, added to the visibility timeout. @default Duration.seconds(0) */
  readonly consumerBatchingWindow?: Duration;
  /** Receives before a message moves to the DLQ. @default 5 */
  readonly maxReceiveCount?: number;
  /** How long dead letters are kept. @default Duration.days(14) (the SQS maximum) */
  readonly deadLetterRetention?: Duration;
}

/**
 * A work queue and its dead-letter queue: KMS-encrypted, TLS-only, visibility ≥ 6× the consumer's
 * timeout, and a redrive policy so a message that keeps failing is parked, not retried forever.
 */
export class WorkQueue extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: props.deadLetterRetention ?? Duration.days(14),
      // CloudFormation cannot name the source queue here without a dependency cycle (the source's
      // redrive policy already names this queue); who may send is limited by the key policy and IAM.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(
        props.consumerTimeout.toSeconds() * 6 + (props.consumerBatchingWindow?.toSeconds() ?? 0),
      ),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
  }
}
