import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENV, STACK_OUTPUTS, TABLE } from '#adapters/aws/contract.ts';
import { SERVICE_NAME } from '#adapters/aws/logger.ts';
import type { ConnectorStack } from '../../lib/connector-stack.ts';
import { logicalId, type Synthesized, synthesize, testConfig } from './support.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

let synth: Synthesized;
let stack: ConnectorStack;
let resources: Record<string, Resource>;
let keyArn: unknown;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Every statement of the policies attached to a role. */
function statementsFor(roleId: string): Statement[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}
/** The resources a role may use `action` on. */
function allowed(roleId: string, action: string): unknown[] {
  return statementsFor(roleId)
    .filter((s) => s.Effect === 'Allow' && actions(s).includes(action))
    .flatMap(resourcesOf);
}
const unique = (list: unknown[]) =>
  [...new Set(list.map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x));
const roleOf = (fn: { role: { node: { defaultChild?: unknown } } }) => logicalId(stack, fn.role);

beforeAll(() => {
  synth = synthesize();
  stack = synth.stack;
  resources = synth.template.toJSON().Resources as Record<string, Resource>;
  keyArn = arnOf(logicalId(stack, stack.key));
}, 60_000);

describe('ConnectorStack', () => {
  it('rotates the customer-managed key and retains it, the table and the secrets on delete', () => {
    synth.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    for (const type of ['AWS::KMS::Key', 'AWS::DynamoDB::Table', 'AWS::SecretsManager::Secret']) {
      for (const [, r] of ofType(type))
        expect((r as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    }
  });

  it('encrypts the table, every queue, secret, log group, the schedule and the alarm topic with the key', () => {
    const checks: [string, string][] = [
      ['AWS::SQS::Queue', 'KmsMasterKeyId'],
      ['AWS::SecretsManager::Secret', 'KmsKeyId'],
      ['AWS::Logs::LogGroup', 'KmsKeyId'],
      ['AWS::SNS::Topic', 'KmsMasterKeyId'],
      ['AWS::Scheduler::Schedule', 'KmsKeyArn'],
    ];
    for (const [type, prop] of checks) {
      const found = ofType(type);
      expect(found.length, type).toBeGreaterThan(0);
      for (const [id, r] of found) expect(r.Properties[prop], `${type} ${id}`).toEqual(keyArn);
    }
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn },
    });
  });

  it('lets CloudWatch Logs and CloudWatch alarms use the key, through the key policy', () => {
    const [, key] = ofType('AWS::KMS::Key')[0] ?? [];
    const policy = JSON.stringify(key?.Properties.KeyPolicy);
    expect(policy).toContain('"Sid":"CloudWatchLogsUse"');
    expect(policy).toContain('kms:EncryptionContext:aws:logs:arn');
    expect(policy).toContain('"Sid":"CloudWatchAlarmsPublish"');
    expect(policy).toContain('cloudwatch.amazonaws.com');
  });

  it('builds the state table per the contract: keys, both audit indexes, on-demand, PITR and TTL', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
      GlobalSecondaryIndexes: Match.arrayWith(
        [TABLE.byRecordIndex, TABLE.byOutcomeIndex].map((index) =>
          Match.objectLike({
            IndexName: index.name,
            KeySchema: [
              { AttributeName: index.partitionKey, KeyType: 'HASH' },
              { AttributeName: index.sortKey, KeyType: 'RANGE' },
            ],
          }),
        ),
      ),
    });
  });

  it('gives both work queues a DLQ through a redrive policy, and every queue TLS-only access', () => {
    for (const queue of [stack.toSalesforce, stack.toDynamics]) {
      synth.template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          deadLetterTargetArn: arnOf(logicalId(stack, queue.deadLetterQueue)),
          maxReceiveCount: 5,
        },
      });
      const dlq = resources[logicalId(stack, queue.deadLetterQueue)];
      expect(dlq?.Properties.RedriveAllowPolicy).toEqual({ redrivePermission: 'allowAll' });
      expect(dlq?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
    const queuePolicies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => JSON.stringify(p.Properties));
    expect(queuePolicies.filter((p) => p.includes('"aws:SecureTransport":"false"'))).toHaveLength(
      ofType('AWS::SQS::Queue').length,
    );
  });

  it('consumes each work queue with ReportBatchItemFailures and a visibility timeout of at least 6× the function timeout plus the batching window', () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(2);
    for (const [, m] of mappings) {
      expect(m.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      const queueId = (m.Properties.EventSourceArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const fnId = (m.Properties.FunctionName as { Ref: string }).Ref;
      const visibility = resources[queueId]?.Properties.VisibilityTimeout as number;
      const timeout = resources[fnId]?.Properties.Timeout as number;
      const window = (m.Properties.MaximumBatchingWindowInSeconds as number | undefined) ?? 0;
      expect(visibility).toBeGreaterThanOrEqual(6 * timeout + window);
    }
  });

  it('runs every connector Lambda on ARM64 and nodejs24.x with X-Ray, explicit memory and timeout and its own log group', () => {
    const ours = [stack.receiver, stack.toSalesforceWorker, stack.toDynamicsWorker, stack.backfill];
    for (const f of ours) {
      const fn = resources[logicalId(stack, f.function)]?.Properties ?? {};
      expect(fn.Architectures).toEqual(['arm64']);
      expect(fn.Runtime).toBe('nodejs24.x');
      expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
      expect(fn.MemorySize).toBeGreaterThan(128);
      expect(fn.Timeout).toBeGreaterThan(3);
      expect(fn.LoggingConfig).toMatchObject({ LogGroup: { Ref: logicalId(stack, f.logGroup) } });
      expect(resources[logicalId(stack, f.logGroup)]?.Properties.RetentionInDays).toBe(30);
    }
  });

  it('sets every contract environment variable on each Lambda and the task, with the validated config as JSON', () => {
    // The health endpoint's port is the task's alone; its address is left at every interface (tests set it).
    const expected = Object.values(ENV).filter((name) => name !== ENV.healthPort && name !== ENV.healthHost);
    for (const f of [stack.receiver, stack.toSalesforceWorker, stack.toDynamicsWorker, stack.backfill]) {
      const props = resources[logicalId(stack, f.function)]?.Properties ?? {};
      const vars = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(vars)).toEqual(expect.arrayContaining(expected));
      expect(JSON.parse(vars[ENV.config] as string)).toEqual(testConfig());
    }
    const task = ofType('AWS::ECS::TaskDefinition')[0]?.[1].Properties ?? {};
    const container = (task.ContainerDefinitions as { Environment: { Name: string }[] }[])[0];
    expect(container?.Environment.map((e) => e.Name)).toEqual(
      expect.arrayContaining([...expected, ENV.healthPort]),
    );
  });

  it('lets the receiver send only to the to-Salesforce queue and read only the receiver secret', () => {
    const role = roleOf(stack.receiver);
    expect(allowed(role, 'sqs:SendMessage')).toEqual([arnOf(logicalId(stack, stack.toSalesforce.queue))]);
    expect(allowed(role, 'secretsmanager:GetSecretValue')).toEqual([
      { Ref: logicalId(stack, stack.secrets.receiver) },
    ]);
    expect(allowed(role, 'sqs:ReceiveMessage')).toEqual([]);
  });

  it('lets each worker consume only its own queue, send only to its own DLQ, and read only the two credential secrets', () => {
    const pairs = [
      [stack.toSalesforceWorker, stack.toSalesforce],
      [stack.toDynamicsWorker, stack.toDynamics],
    ] as const;
    for (const [worker, queue] of pairs) {
      const role = roleOf(worker);
      expect(allowed(role, 'sqs:ReceiveMessage')).toEqual([arnOf(logicalId(stack, queue.queue))]);
      // Dead letters with their reason (work-queue.ts sendToDeadLetter), never another queue.
      expect(allowed(role, 'sqs:SendMessage')).toEqual([arnOf(logicalId(stack, queue.deadLetterQueue))]);
      expect(allowed(role, 'secretsmanager:GetSecretValue')).toEqual(
        expect.arrayContaining([
          { Ref: logicalId(stack, stack.secrets.dynamics) },
          { Ref: logicalId(stack, stack.secrets.salesforce) },
        ]),
      );
      expect(allowed(role, 'secretsmanager:GetSecretValue')).toHaveLength(2);
    }
  });

  it('grants no function or task a table Scan, table administration or a wildcard action', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const s of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        for (const a of actions(s)) {
          expect(a).not.toMatch(/^dynamodb:(Scan|DeleteTable|UpdateTable|\*)$/);
          expect(a).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });

  it('runs the backfill on the configured rate with a retry policy and a DLQ, and parks failed runs there too', () => {
    const dlq = arnOf(logicalId(stack, stack.backfillSchedule.deadLetterQueue));
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(20 minutes)',
      Target: {
        Arn: arnOf(logicalId(stack, stack.backfill.function)),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 1200 },
        DeadLetterConfig: { Arn: dlq },
      },
    });
    synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId(stack, stack.backfill.function) },
      MaximumRetryAttempts: 0,
      DestinationConfig: { OnFailure: { Destination: dlq } },
    });
    const schedulerRole = logicalId(stack, stack.backfillSchedule.role);
    expect(unique(allowed(schedulerRole, 'sqs:SendMessage'))).toEqual([dlq]);
    expect(unique(allowed(schedulerRole, 'kms:GenerateDataKey*'))).toEqual([keyArn]);
  });

  it('polls the followed sales orders on their own schedule, through the backfill function', () => {
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: {
        Arn: arnOf(logicalId(stack, stack.backfill.function)),
        Input: JSON.stringify({ job: 'order-status' }),
        DeadLetterConfig: { Arn: arnOf(logicalId(stack, stack.backfillSchedule.deadLetterQueue)) },
      },
    });
  });

  it('notifies the SNS topic from every alarm: dead letters, stream down, backfill failures, API budget, Lambda errors', () => {
    const topic = { Ref: logicalId(stack, stack.monitoring.topic) };
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([topic]);
      expect(a.OKActions).toEqual([topic]);
    }
    const dlqAlarms = alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(dlqAlarms.map((a) => JSON.stringify(a.Dimensions)).sort()).toEqual(
      [
        stack.toSalesforce.deadLetterQueue,
        stack.toDynamics.deadLetterQueue,
        stack.backfillSchedule.deadLetterQueue,
      ]
        .map((q) =>
          JSON.stringify([
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, q), 'QueueName'] } },
          ]),
        )
        .sort(),
    );
    for (const a of dlqAlarms)
      expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const service = [{ Name: 'service', Value: SERVICE_NAME }];
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'MlConnector/Test',
        MetricName: 'StreamHealthy',
        Dimensions: service,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
      }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({ MetricName: 'BackfillFailures', Dimensions: service, Threshold: 0 }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({ MetricName: 'ApiBudgetRemaining', Threshold: 2 * 4000 }),
    );
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'MlConnector/Test',
        MetricName: 'RecordsParked',
        Dimensions: service,
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      }),
    );
    expect(alarms.filter((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors')).toHaveLength(4);
  });

  it('shows records moved, failures, parked records, dead letters, API budget, CDC lag, stream health and backfills on the dashboard', () => {
    const [, dashboard] = ofType('AWS::CloudWatch::Dashboard')[0] ?? [];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of [
      'RecordsMoved',
      'Failures',
      'RecordsParked',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateAgeOfOldestMessage',
      'ApiBudgetRemaining',
      'CdcLagMs',
      'StreamHealthy',
      'BackfillRuns',
      'Duration',
    ]) {
      expect(body, metric).toContain(metric);
    }
  });

  it("publishes the stream task's EMF lines as metrics through log metric filters, with Powertools' service dimension", () => {
    for (const name of ['StreamHealthy', 'AwaitingCredentials', 'CdcLagMs']) {
      synth.template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logicalId(stack, stack.stream.logGroup) },
        FilterPattern: `{ $.${name} >= 0 }`,
        MetricTransformations: [
          Match.objectLike({
            MetricNamespace: 'MlConnector/Test',
            MetricName: name,
            MetricValue: `$.${name}`,
            Dimensions: [{ Key: 'service', Value: '$.service' }],
          }),
        ],
      });
    }
    // The task never emits the API budget (the Lambdas do, through EMF): no filter for it.
    const filtered = ofType('AWS::Logs::MetricFilter').map(
      ([, f]) => (f.Properties.MetricTransformations as { MetricName: string }[])[0]?.MetricName,
    );
    expect(filtered.sort()).toEqual(['AwaitingCredentials', 'CdcLagMs', 'StreamHealthy']);
  });

  it('does not let StreamDown fire on a deployment: missing minutes count, but 5 of 10 are needed', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'StreamHealthy',
      Period: 60,
      EvaluationPeriods: 10,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
    });
  });

  it('lets CloudWatch alarms of this account publish to the alarm topic, besides denying non-TLS access', () => {
    const topicId = logicalId(stack, stack.monitoring.topic);
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Principal: '*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': '123456789012' },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:eu-west-1:123456789012:alarm:*'],
                  ],
                },
              },
            },
          }),
        ]),
      }),
    });
  });

  it("sets API Gateway's account CloudWatch Logs role, which access logs need, and keeps it on delete", () => {
    const accounts = ofType('AWS::ApiGateway::Account');
    expect(accounts).toHaveLength(1);
    const account = accounts[0]?.[1] as Resource;
    const roleId = (account.Properties.CloudWatchRoleArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    expect((account as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    expect((resources[roleId] as { DeletionPolicy?: string }).DeletionPolicy).toBe('Retain');
    expect(JSON.stringify(resources[roleId]?.Properties)).toContain('AmazonAPIGatewayPushToCloudWatchLogs');
    const without = synthesize({ props: { apiGatewayCloudWatchRole: false } });
    expect(Object.keys(without.template.findResources('AWS::ApiGateway::Account'))).toEqual([]);
  });

  it('times the backfill out before its next run is due', () => {
    const fn = (s: ConnectorStack) => resources[logicalId(s, s.backfill.function)]?.Properties ?? {};
    expect(fn(stack).Timeout).toBe(900); // every 20 min: Lambda's 15-minute ceiling
    const five = synthesize({
      props: { config: testConfig({ schedules: { backfillMinutes: 5, watermarkOverlapSeconds: 60 } }) },
    });
    const props = five.template.toJSON().Resources[logicalId(five.stack, five.stack.backfill.function)]
      .Properties as { Timeout: number };
    expect(props.Timeout).toBe(240);
  });

  it('lets the stream task out only on HTTPS and the Pub/Sub port (7443 by default) and in on nothing', () => {
    const sg = resources[logicalId(stack, stack.stream.securityGroup)]?.Properties ?? {};
    expect(sg.SecurityGroupEgress).toEqual([
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      expect.objectContaining({ IpProtocol: 'tcp', FromPort: 7443, ToPort: 7443 }),
    ]);
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(ofType('AWS::EC2::SecurityGroupIngress')).toEqual([]);
  });

  it('replaces the one stream task on deploy rather than overlapping it, health-checks it, and grants it only what it uses', () => {
    synth.template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 1,
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 0, MaximumPercent: 100 }),
    });
    synth.template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: Match.objectLike({
            Command: Match.arrayWith([Match.stringLikeRegexp('127.0.0.1:8080')]),
          }),
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
        }),
      ],
    });
    const role = logicalId(stack, stack.stream.taskDefinition.taskRole);
    expect(allowed(role, 'secretsmanager:GetSecretValue')).toEqual([
      { Ref: logicalId(stack, stack.secrets.dynamics) },
      { Ref: logicalId(stack, stack.secrets.salesforce) },
    ]);
    expect(allowed(role, 'sqs:SendMessage')).toEqual([arnOf(logicalId(stack, stack.toDynamics.queue))]);
  });

  it('throttles, validates, traces and access-logs the business-events API', () => {
    synth.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: Match.objectLike({ DestinationArn: arnOf(logicalId(stack, stack.api.accessLogs)) }),
      MethodSettings: Match.arrayWith([
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
      ]),
    });
    synth.template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
    synth.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestValidatorId: Match.anyValue(),
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
  });

  it('exports every output the CLI reads, the configuration as JSON among them', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const name of Object.values(STACK_OUTPUTS)) expect(Object.keys(outputs)).toContain(name);
    expect(JSON.parse(outputs[STACK_OUTPUTS.config]?.Value as string)).toEqual(testConfig());
  });

  it('leaves every resource name to CloudFormation (a REST API name is a label, not a unique name)', () => {
    const named =
      /^(TableName|QueueName|FunctionName|TopicName|RoleName|LogGroupName|Name|ClusterName|ServiceName|DashboardName|AlarmName)$/;
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::Lambda::Permission' || r.Type === 'AWS::Lambda::EventSourceMapping') continue;
      if (r.Type === 'AWS::Lambda::EventInvokeConfig' || r.Type.startsWith('AWS::ApiGateway::')) continue;
      for (const key of Object.keys(r.Properties ?? {})) {
        if (named.test(key)) expect.soft(r.Properties[key], `${id}.${key}`).not.toEqual(expect.any(String));
      }
    }
  });
});
