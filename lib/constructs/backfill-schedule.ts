import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props for {@link BackfillSchedule}. */
export interface BackfillScheduleProps {
  /** The backfill function. */
  readonly handler: lambda.IFunction;
  /** Minutes between runs (`schedules.backfillMinutes`). */
  readonly everyMinutes: number;
  /** Encrypts the schedule and its DLQ. */
  readonly key: kms.IKey;
  /** Scheduler retries of a failed invocation. @default 2 */
  readonly retryAttempts?: number;
  /**
   * Minutes between polls of the sales orders the connector follows (`orderStatus.pollMinutes`):
   * a second schedule invokes the same function with `{"job":"order-status"}`.
   * @default no order-status schedule
   */
  readonly orderStatusMinutes?: number | undefined;
}

/**
 * Runs the backfill every `everyMinutes` through EventBridge Scheduler. The scheduler retries a
 * failed invocation, then parks it in a DLQ; a run that fails inside the function goes to the same
 * DLQ without Lambda's own async retries, since the next run starts from the same watermarks.
 */
export class BackfillSchedule extends Construct {
  public readonly schedule: scheduler.Schedule;
  /** The order-status poll's schedule, when `orderStatusMinutes` is set. */
  public readonly orderStatusSchedule: scheduler.Schedule | undefined;
  public readonly deadLetterQueue: sqs.Queue;
  /** The role the scheduler assumes: invoke the backfill, send to the (KMS-encrypted) DLQ. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BackfillScheduleProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // A target for the scheduler and Lambda destinations only: no SQS queue redrives into it.
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    });
    // Includes the KMS permissions the target's own DLQ grant leaves out.
    this.deadLetterQueue.grantSendMessages(this.role);
    // A run older than one interval is superseded by the next one.
    const rate = (id: string, description: string, minutes: number, input?: Record<string, unknown>) => {
      const every = Duration.minutes(minutes);
      return new scheduler.Schedule(this, id, {
        description,
        schedule: scheduler.ScheduleExpression.rate(every),
        key: props.key,
        target: new targets.LambdaInvoke(props.handler, {
          role: this.role,
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 2,
          maxEventAge: Duration.seconds(Math.max(60, every.toSeconds())),
          ...(input ? { input: scheduler.ScheduleTargetInput.fromObject(input) } : {}),
        }),
      });
    };
    this.schedule = rate(
      'Schedule',
      `ml-connector: OData and SOQL backfill every ${props.everyMinutes} min`,
      props.everyMinutes,
    );
    if (props.orderStatusMinutes !== undefined) {
      this.orderStatusSchedule = rate(
        'OrderStatusSchedule',
        `ml-connector: sales order status poll every ${props.orderStatusMinutes} min`,
        props.orderStatusMinutes,
        { job: 'order-status' },
      );
    }
    props.handler.configureAsyncInvoke({
      retryAttempts: 0,
      onFailure: new SqsDestination(this.deadLetterQueue),
    });
  }
}
