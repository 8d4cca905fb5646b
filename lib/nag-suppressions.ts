/**
 * Every cdk-nag acknowledgement, with its reason, per construct and per finding id. Nothing else
 * in the project acknowledges a finding; the infra test fails on any finding not listed here.
 * IAM grants the code does not call are acknowledged beside this file, in iam-allowances.ts.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { ConnectorStack } from './connector-stack.ts';

function ack(construct: IConstruct, id: string, reason: string): void {
  Validations.of(construct).acknowledge({ id, reason });
}

const KMS_GRANTS =
  "CDK's grants for the customer-managed key (queues, table, secrets) include kms:GenerateDataKey* and " +
  'kms:ReEncrypt*; the statement is limited to the one connector key.';

export function acknowledgeNagFindings(stack: ConnectorStack): void {
  const functions = [stack.receiver, stack.toSalesforceWorker, stack.toDynamicsWorker, stack.backfill];

  for (const f of functions) {
    const policy = f.role.node.tryFindChild('DefaultPolicy') ?? f.role;
    ack(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions.',
    );
    ack(policy, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', KMS_GRANTS);
    ack(policy, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', KMS_GRANTS);
  }
  for (const f of [stack.receiver, stack.toSalesforceWorker, stack.toDynamicsWorker]) {
    ack(
      f.function,
      'Serverless-LambdaDLQ',
      'Invoked synchronously (API Gateway, SQS event source): a Lambda DLQ only applies to asynchronous invocations. ' +
        "Failed SQS messages go to the queue's own DLQ; the receiver answers the caller, who retries.",
    );
  }
  ack(
    stack.backfill.function,
    'Serverless-LambdaDLQ',
    'Asynchronous failures go to the backfill DLQ through an on-failure destination (EventInvokeConfig), which ' +
      'carries more context than DeadLetterConfig; the schedule uses the same DLQ.',
  );
  for (const worker of [stack.toSalesforceWorker, stack.toDynamicsWorker]) {
    for (const child of worker.function.node.children) {
      if (child.node.id.startsWith('SqsEventSource')) {
        ack(
          child,
          'Serverless-LambdaEventSourceMappingDestination',
          "SQS event source mappings do not support on-failure destinations; the queue's redrive policy moves a " +
            'message that keeps failing (reported through ReportBatchItemFailures) to its DLQ.',
        );
      }
    }
  }

  for (const queue of [stack.toSalesforce, stack.toDynamics]) {
    ack(
      queue.deadLetterQueue,
      'Serverless-SQSRedrivePolicy',
      'This is a dead-letter queue: the end of the line, redriven by an operator (`ml-connector redrive`), never by SQS.',
    );
  }
  const backfillDlq = stack.backfillSchedule.deadLetterQueue;
  ack(
    backfillDlq,
    'Serverless-SQSRedrivePolicy',
    'The dead-letter queue of the backfill schedule and function: the end of the line, read by an operator.',
  );
  ack(
    backfillDlq,
    'AwsSolutions-SQS3',
    'It is a DLQ, for EventBridge Scheduler and a Lambda on-failure destination rather than for an SQS queue, ' +
      'so cdk-nag cannot see its role.',
  );
  const schedulerRole = stack.backfillSchedule.role;
  const schedulerPolicy = schedulerRole.node.tryFindChild('DefaultPolicy') ?? schedulerRole;
  ack(
    schedulerPolicy,
    `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.backfill.function.node.defaultChild as never)}.Arn>:*]`,
    "aws-scheduler-targets' LambdaInvoke grants lambda:InvokeFunction on the backfill function and its " +
      'versions/aliases (`:*`): that one function only.',
  );
  ack(schedulerPolicy, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', KMS_GRANTS);
  ack(schedulerPolicy, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', KMS_GRANTS);

  for (const secret of [stack.secrets.dynamics, stack.secrets.salesforce, stack.secrets.receiver]) {
    ack(
      secret,
      'AwsSolutions-SMG4',
      'The client secrets are issued by Entra ID and Salesforce, which a rotation Lambda cannot mint; they and the ' +
        'receiver secret (which F&O must be told) are rotated with `ml-connector credentials set --stack` ' +
        '(docs/runbooks/rotate-secrets.md).',
    );
  }

  const api = stack.api.api;
  ack(
    api.deploymentStage,
    'AwsSolutions-APIG6',
    'Execution logs go to log groups API Gateway creates itself (API-Gateway-Execution-Logs_*), which the ' +
      "stack cannot encrypt with its key or give a retention; JSON access logs (every request, KMS) and the receiver's " +
      'logs cover what execution logs would show.',
  );
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    ack(
      cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "API Gateway's account-wide CloudWatch Logs role, which access logging needs (a fresh account fails the stage " +
        'without it): AWS documents this managed policy for it, and API Gateway alone can assume the role. Retained ' +
        'on delete, since other APIs of the account may use it; stage key apiGateway.cloudWatchRole: false skips it.',
    );
  }
  ack(
    api.deploymentStage,
    'AwsSolutions-APIG3',
    'WAF is optional for this endpoint: it accepts only POST /business-events, the stage throttles, and the ' +
      'receiver rejects a request without the shared secret before reading it. Customers may attach a web ACL.',
  );
  const post = api.root.getResource('business-events')?.node.tryFindChild('POST');
  if (post) {
    const reason =
      'F&O business-event HTTPS endpoints cannot sign requests (SigV4) or obtain Cognito tokens; they send a ' +
      'shared secret (`?code=` or X-ML-Connector-Secret), which the receiver checks in constant time, ' +
      'current and previous during a rotation.';
    ack(post, 'AwsSolutions-APIG4', reason);
    ack(post, 'AwsSolutions-COG4', reason);
  }

  const task = stack.stream.taskDefinition;
  ack(
    task,
    'AwsSolutions-ECS2',
    'The environment holds only non-secret values (table and queue names, secret ARNs, the validated ' +
      'configuration); the credentials are read from Secrets Manager at run time.',
  );
  const taskPolicy = task.taskRole.node.tryFindChild('DefaultPolicy') ?? task.taskRole;
  ack(taskPolicy, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', KMS_GRANTS);
  ack(taskPolicy, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', KMS_GRANTS);
  const executionRole = task.executionRole;
  if (executionRole) {
    ack(
      executionRole.node.tryFindChild('DefaultPolicy') ?? executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken, needed to pull the stream image, has no resource-level permissions.',
    );
  }
}
