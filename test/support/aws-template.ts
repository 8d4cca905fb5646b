/**
 * The AWS shape's resources created on moto from the synthesized CloudFormation template, the way
 * CloudFormation would create them: KMS key, queues (visibility, retention, redrive policy, KMS),
 * the state table (keys, indexes, TTL, point-in-time recovery), the secrets (placeholder values
 * generated as GenerateSecretString does), the alarm topic and alarms, and the backfill schedule.
 * The functions' environments, event source mappings, the API's route and the stream task's
 * environment are read from the same template, with Ref / Fn::GetAtt / Fn::Join resolved to the
 * moto resources. Nothing is retyped: a property the stack changes flows through, and a property
 * the code relies on that the stack lacks fails the tests that use it.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, PutMetricAlarmCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  GetRandomPasswordCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { App, Stack } from 'aws-cdk-lib';
import { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { Key } from 'aws-cdk-lib/aws-kms';
import { ENV } from '#adapters/aws/contract.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { ConnectorStack, type ConnectorStackProps } from '../../lib/connector-stack.ts';
import { StateTable } from '../../lib/constructs/state-table.ts';
import { MOTO_ACCOUNT, MOTO_AWS, type Moto } from './moto.ts';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
}

/**
 * Synthesizes the connector stack in-process for `config` (stub Lambda code: the tests run the
 * handlers from source; a registry image: the stream task runs from source as a child process).
 */
export function synthesizeTemplate(
  config: ConnectorConfig,
  props: Partial<ConnectorStackProps> = {},
): CfnTemplate {
  const app = new App();
  const stack = new ConnectorStack(app, 'MotoTest', {
    config,
    bundle: false,
    streamImage: ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-alpine'),
    env: { account: MOTO_ACCOUNT, region: MOTO_AWS.region },
    ...props,
  });
  return app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}

/** What the worker functions' event source mappings say (AWS::Lambda::EventSourceMapping). */
export interface EventSourceMapping {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly maximumBatchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly maximumConcurrency: number | undefined;
}

export type FunctionRole = 'receiver' | 'to-salesforce' | 'to-dynamics' | 'backfill';

/** One AWS::Lambda::Function with its resolved environment. */
export interface DeployedFunction {
  readonly logicalId: string;
  readonly arn: string;
  readonly timeoutSeconds: number;
  readonly environment: Readonly<Record<string, string>>;
  /** What it is, found from what triggers it (its event source's queue, the API, the schedule). */
  readonly role: FunctionRole | undefined;
}

export interface DeployedQueue {
  readonly logicalId: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  /** The redrive policy's maxReceiveCount, when the queue has one. */
  readonly maxReceiveCount: number | undefined;
}

export interface Deployed {
  readonly template: CfnTemplate;
  readonly tableName: string;
  readonly queues: readonly DeployedQueue[];
  /** Secret logical id → ARN. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly functions: readonly DeployedFunction[];
  readonly eventSourceMappings: readonly EventSourceMapping[];
  /** The business-event route: method and path of the API Gateway method integrated with the receiver. */
  readonly api: { readonly method: string; readonly path: string; readonly functionLogicalId: string };
  /** The backfill schedule as moto's Scheduler holds it. */
  readonly schedule: {
    readonly name: string;
    readonly functionLogicalId: string;
    readonly input: string | undefined;
    readonly maximumRetryAttempts: number;
    readonly deadLetterArn: string | undefined;
  };
  /** The stream task's container environment (AWS::ECS::TaskDefinition). */
  readonly streamEnvironment: Readonly<Record<string, string>>;
  function(role: FunctionRole): DeployedFunction;
  queueByUrl(url: string): DeployedQueue;
}

/**
 * Creates a table on moto from an AWS::DynamoDB::Table's (resolved) properties: keys, indexes,
 * billing, encryption, deletion protection, then TTL and point-in-time recovery as CloudFormation
 * applies them. Returns the table's ARN.
 */
export async function createTable(
  ddb: DynamoDBClient,
  name: string,
  properties: Record<string, unknown>,
): Promise<string> {
  const p = properties as Record<string, never>;
  const { TableDescription } = await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
      LocalSecondaryIndexes: p.LocalSecondaryIndexes,
      BillingMode: p.BillingMode,
      ProvisionedThroughput: p.ProvisionedThroughput,
      SSESpecification: p.SSESpecification,
      DeletionProtectionEnabled: p.DeletionProtectionEnabled,
    }),
  );
  const ttl = p.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean } | undefined;
  if (ttl) await ddb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: ttl }));
  const pitr = p.PointInTimeRecoverySpecification as { PointInTimeRecoveryEnabled: boolean } | undefined;
  if (pitr) {
    await ddb.send(
      new UpdateContinuousBackupsCommand({ TableName: name, PointInTimeRecoverySpecification: pitr }),
    );
  }
  return String(TableDescription?.TableArn);
}

/**
 * The state table's properties from the template, its KMS key left to DynamoDB's own (for suites
 * that need the table alone, many times over).
 */
export function stateTableProperties(template: CfnTemplate): Record<string, unknown> {
  const tables = Object.values(template.Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');
  if (tables.length !== 1) throw new Error(`expected one table in the template, found ${tables.length}`);
  const { SSESpecification: _sse, ...rest } = tables[0]?.Properties ?? {};
  return rest;
}

/**
 * The state table's properties as the stack's StateTable construct synthesizes them, alone (a
 * fraction of the whole stack's synth time), for suites that need only the table.
 */
export function synthesizeStateTable(): Record<string, unknown> {
  const app = new App();
  const stack = new Stack(app, 'StateTableOnly', { env: { account: MOTO_ACCOUNT, region: MOTO_AWS.region } });
  new StateTable(stack, 'State', { key: new Key(stack, 'Key') });
  return stateTableProperties(app.synth().getStackByName(stack.stackName).template as CfnTemplate);
}

/** A template value that references a resource the provisioner has not created (yet). */
class Unresolved extends Error {}

type Physical = { ref: string; attrs: Record<string, string> };

/** Calls a moto JSON-protocol API the project has no SDK client for (KMS). */
async function awsJson(moto: Moto, target: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(moto.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_AWS.credentials.accessKeyId}/20260101/${MOTO_AWS.region}/kms/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${target}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Calls moto's EventBridge Scheduler REST API (no SDK client in the project). */
async function scheduler(moto: Moto, method: 'POST' | 'GET', name: string, body?: unknown) {
  const res = await fetch(`${moto.endpoint}/schedules/${encodeURIComponent(name)}`, {
    method,
    headers: {
      'content-type': 'application/json',
      authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_AWS.credentials.accessKeyId}/20260101/${MOTO_AWS.region}/scheduler/aws4_request, SignedHeaders=host, Signature=0`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`Scheduler ${method} ${name}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Creates the template's resources on moto; see the module doc. */
export async function deployTemplate(moto: Moto, template: CfnTemplate): Promise<Deployed> {
  const stackName = `moto-${randomUUID().slice(0, 8)}`;
  const physical = new Map<string, Physical>();
  const resources = Object.entries(template.Resources);
  const cfg = moto.clientConfig;
  const sqs = new SQSClient(cfg);
  const ddb = new DynamoDBClient(cfg);
  const sm = new SecretsManagerClient(cfg);
  const cw = new CloudWatchClient(cfg);
  const arnOf = (service: string, rest: string) =>
    `arn:aws:${service}:${MOTO_AWS.region}:${MOTO_ACCOUNT}:${rest}`;

  // Resources the emulator does not run (functions, roles, …) still have names and ARNs others refer to.
  for (const [id, r] of resources) {
    if (r.Type === 'AWS::Lambda::Function') {
      const name = `${stackName}-${id}`;
      physical.set(id, { ref: name, attrs: { Arn: arnOf('lambda', `function:${name}`) } });
    } else if (r.Type === 'AWS::IAM::Role') {
      physical.set(id, {
        ref: `${stackName}-${id}`,
        attrs: { Arn: `arn:aws:iam::${MOTO_ACCOUNT}:role/${id}` },
      });
    }
  }

  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    if ('Ref' in o) {
      const name = String(o.Ref);
      const pseudo: Record<string, string> = {
        'AWS::Partition': 'aws',
        'AWS::Region': MOTO_AWS.region,
        'AWS::AccountId': MOTO_ACCOUNT,
        'AWS::StackName': stackName,
        'AWS::URLSuffix': 'amazonaws.com',
      };
      if (pseudo[name]) return pseudo[name];
      const p = physical.get(name);
      if (!p) throw new Unresolved(`Ref ${name}`);
      return p.ref;
    }
    if ('Fn::GetAtt' in o) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      const value = physical.get(id)?.attrs[attr];
      if (value === undefined) throw new Unresolved(`Fn::GetAtt ${id}.${attr}`);
      return value;
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => String(resolve(p))).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  };
  const props = (r: CfnResource) => resolve(r.Properties ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'object' ? JSON.stringify(v) : String(v));

  const creators: Record<string, (id: string, r: CfnResource) => Promise<Physical>> = {
    'AWS::KMS::Key': async (id, r) => {
      const p = props(r);
      const { KeyMetadata } = (await awsJson(moto, 'TrentService.CreateKey', {
        Description: p.Description,
        KeyUsage: 'ENCRYPT_DECRYPT',
        Policy: JSON.stringify(p.KeyPolicy),
      })) as { KeyMetadata: { KeyId: string; Arn: string } };
      if (p.EnableKeyRotation) {
        await awsJson(moto, 'TrentService.EnableKeyRotation', { KeyId: KeyMetadata.KeyId });
      }
      return { ref: KeyMetadata.KeyId, attrs: { Arn: KeyMetadata.Arn, KeyId: KeyMetadata.KeyId, id } };
    },
    'AWS::SQS::Queue': async (id, r) => {
      const { QueueName, Tags: _tags, ...attributes } = props(r);
      const name = String(QueueName ?? `${stackName}-${id}`);
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({
          QueueName: name,
          Attributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, str(v)])),
        }),
      );
      const url = String(QueueUrl);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
      );
      return { ref: url, attrs: { Arn: String(Attributes?.QueueArn), QueueName: name, QueueUrl: url } };
    },
    'AWS::DynamoDB::Table': async (id, r) => {
      const p = props(r);
      const name = String(p.TableName ?? `${stackName}-${id}`);
      return { ref: name, attrs: { Arn: await createTable(ddb, name, p) } };
    },
    'AWS::SecretsManager::Secret': async (id, r) => {
      const p = props(r);
      const generate = p.GenerateSecretString as
        | {
            SecretStringTemplate?: string;
            GenerateStringKey?: string;
            PasswordLength?: number;
            ExcludePunctuation?: boolean;
            ExcludeCharacters?: string;
          }
        | undefined;
      let secretString = p.SecretString as string | undefined;
      if (generate) {
        const { RandomPassword } = await sm.send(
          new GetRandomPasswordCommand({
            PasswordLength: generate.PasswordLength ?? 32,
            ExcludePunctuation: generate.ExcludePunctuation ?? false,
            ...(generate.ExcludeCharacters ? { ExcludeCharacters: generate.ExcludeCharacters } : {}),
          }),
        );
        secretString = generate.GenerateStringKey
          ? JSON.stringify({
              ...(JSON.parse(generate.SecretStringTemplate ?? '{}') as object),
              [generate.GenerateStringKey]: RandomPassword,
            })
          : RandomPassword;
      }
      const { ARN } = await sm.send(
        new CreateSecretCommand({
          Name: String(p.Name ?? `${id}-${randomUUID().slice(0, 6)}`),
          Description: p.Description as string | undefined,
          KmsKeyId: p.KmsKeyId as string | undefined,
          SecretString: secretString,
        }),
      );
      return { ref: String(ARN), attrs: { Id: String(ARN) } };
    },
    'AWS::SNS::Topic': async (id, r) => {
      const p = props(r);
      const form = new URLSearchParams({
        Action: 'CreateTopic',
        Name: String(p.TopicName ?? `${stackName}-${id}`),
      });
      if (p.KmsMasterKeyId) {
        form.set('Attributes.entry.1.key', 'KmsMasterKeyId');
        form.set('Attributes.entry.1.value', String(p.KmsMasterKeyId));
      }
      const res = await fetch(moto.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `AWS4-HMAC-SHA256 Credential=${MOTO_AWS.credentials.accessKeyId}/20260101/${MOTO_AWS.region}/sns/aws4_request, SignedHeaders=host, Signature=0`,
        },
        body: form,
      });
      const arn = /<TopicArn>([^<]+)<\/TopicArn>/.exec(await res.text())?.[1];
      if (!res.ok || !arn) throw new Error(`CreateTopic ${id}: ${res.status}`);
      return { ref: arn, attrs: { TopicArn: arn, TopicName: arn.split(':').pop() ?? '' } };
    },
    'AWS::CloudWatch::Alarm': async (id, r) => {
      const p = props(r) as Record<string, never>;
      const name = String(p.AlarmName ?? `${stackName}-${id}`);
      await cw.send(new PutMetricAlarmCommand({ ...p, AlarmName: name }));
      return { ref: name, attrs: { Arn: arnOf('cloudwatch', `alarm:${name}`) } };
    },
    'AWS::Scheduler::Schedule': async (id, r) => {
      const { Name, ...p } = props(r);
      const name = String(Name ?? `${stackName}-${id}`);
      const { ScheduleArn } = await scheduler(moto, 'POST', name, p);
      return { ref: name, attrs: { Arn: String(ScheduleArn) } };
    },
  };

  // CloudFormation's order: a resource after those it references (a few passes suffice).
  let pending = resources.filter(([, r]) => r.Type in creators);
  for (let pass = 0; pending.length > 0; pass++) {
    if (pass > 10) throw new Error(`cannot resolve ${pending.map(([id]) => id).join(', ')}`);
    const next: typeof pending = [];
    for (const [id, r] of pending) {
      try {
        physical.set(id, await (creators[r.Type] as NonNullable<(typeof creators)[string]>)(id, r));
      } catch (error) {
        if (!(error instanceof Unresolved)) throw error;
        next.push([id, r]);
      }
    }
    pending = next;
  }

  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);
  const queues: DeployedQueue[] = ofType('AWS::SQS::Queue').map(([id, r]) => ({
    logicalId: id,
    url: physical.get(id)?.ref ?? '',
    arn: physical.get(id)?.attrs.Arn ?? '',
    visibilityTimeoutSeconds: Number(r.Properties?.VisibilityTimeout ?? 30),
    maxReceiveCount: (r.Properties?.RedrivePolicy as { maxReceiveCount?: number } | undefined)
      ?.maxReceiveCount,
  }));
  const queueByArn = (arn: string) => {
    const q = queues.find((x) => x.arn === arn);
    if (!q) throw new Error(`no queue with ARN ${arn} in the template`);
    return q;
  };

  const eventSourceMappings: EventSourceMapping[] = ofType('AWS::Lambda::EventSourceMapping').map(
    ([id, r]) => {
      const p = r.Properties ?? {};
      const queue = queueByArn(String(resolve(p.EventSourceArn)));
      return {
        logicalId: id,
        functionLogicalId: String((p.FunctionName as { Ref: string }).Ref),
        queueUrl: queue.url,
        queueArn: queue.arn,
        // Lambda's defaults for SQS when the template leaves them out.
        batchSize: Number(p.BatchSize ?? 10),
        maximumBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
          'ReportBatchItemFailures',
        ),
        maximumConcurrency: (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)
          ?.MaximumConcurrency,
      };
    },
  );

  const functionByArn = (arn: string) => {
    const found = [...physical].find(([, p]) => p.attrs.Arn === arn && arn.includes(':function:'));
    if (!found) throw new Error(`no function with ARN ${arn}`);
    return found[0];
  };
  const [, method] = ofType('AWS::ApiGateway::Method').find(
    ([, r]) => (r.Properties?.Integration as { Type?: string } | undefined)?.Type === 'AWS_PROXY',
  ) ?? [undefined, undefined];
  if (!method) throw new Error('the template has no Lambda proxy method');
  const mp = method.Properties ?? {};
  const uri = String(resolve((mp.Integration as { Uri: unknown }).Uri));
  const receiverArn = /functions\/(arn:[^/]+)\/invocations/.exec(uri)?.[1] ?? '';
  const resourceId = (mp.ResourceId as { Ref?: string }).Ref ?? '';
  const pathPart = String(template.Resources[resourceId]?.Properties?.PathPart ?? '');
  const api = {
    method: String(mp.HttpMethod),
    path: `/${pathPart}`,
    functionLogicalId: functionByArn(receiverArn),
  };

  // The backfill's schedule: the one whose input is not the order-status poll's `{"job":"order-status"}`.
  const [scheduleId, scheduleResource] =
    ofType('AWS::Scheduler::Schedule').find(
      ([, r]) =>
        !String((r.Properties?.Target as { Input?: unknown } | undefined)?.Input ?? '').includes(
          'order-status',
        ),
    ) ?? [];
  if (!scheduleId || !scheduleResource) throw new Error('the template has no schedule');
  const scheduleName = physical.get(scheduleId)?.ref ?? '';
  const held = (await scheduler(moto, 'GET', scheduleName)) as {
    Target: {
      Arn: string;
      Input?: string;
      RetryPolicy?: { MaximumRetryAttempts?: number };
      DeadLetterConfig?: { Arn?: string };
    };
  };
  const schedule = {
    name: scheduleName,
    functionLogicalId: functionByArn(held.Target.Arn),
    input: held.Target.Input,
    // EventBridge Scheduler's default is 185 retries; the stack sets its own.
    maximumRetryAttempts: held.Target.RetryPolicy?.MaximumRetryAttempts ?? 185,
    deadLetterArn: held.Target.DeadLetterConfig?.Arn,
  };

  const roleOf = (id: string, env: Record<string, string>): FunctionRole | undefined => {
    if (id === api.functionLogicalId) return 'receiver';
    if (id === schedule.functionLogicalId) return 'backfill';
    const esm = eventSourceMappings.find((m) => m.functionLogicalId === id);
    if (!esm) return undefined;
    if (esm.queueUrl === env[ENV.toSalesforceQueueUrl]) return 'to-salesforce';
    if (esm.queueUrl === env[ENV.toDynamicsQueueUrl]) return 'to-dynamics';
    return undefined;
  };
  const functions: DeployedFunction[] = ofType('AWS::Lambda::Function').map(([id, r]) => {
    const p = r.Properties ?? {};
    const environment = Object.fromEntries(
      Object.entries(
        (resolve((p.Environment as { Variables?: unknown } | undefined)?.Variables ?? {}) as Record<
          string,
          unknown
        >) ?? {},
      ).map(([k, v]) => [k, String(v)]),
    );
    return {
      logicalId: id,
      arn: physical.get(id)?.attrs.Arn ?? '',
      timeoutSeconds: Number(p.Timeout ?? 3),
      environment,
      role: roleOf(id, environment),
    };
  });

  const [, taskDefinition] = ofType('AWS::ECS::TaskDefinition')[0] ?? [];
  const container = (taskDefinition?.Properties?.ContainerDefinitions as { Environment?: unknown[] }[])?.[0];
  const streamEnvironment = Object.fromEntries(
    ((resolve(container?.Environment ?? []) as { Name: string; Value: unknown }[]) ?? []).map((e) => [
      e.Name,
      String(e.Value),
    ]),
  );

  const [tableId] = ofType('AWS::DynamoDB::Table')[0] ?? [];
  const secrets = new Map(
    ofType('AWS::SecretsManager::Secret').map(([id]) => [id, physical.get(id)?.ref ?? ''] as const),
  );
  for (const c of [sqs, ddb, sm, cw]) c.destroy();
  return {
    template,
    tableName: physical.get(tableId ?? '')?.ref ?? '',
    queues,
    secrets,
    functions,
    eventSourceMappings,
    api,
    schedule,
    streamEnvironment,
    function(role) {
      const f = functions.find((x) => x.role === role);
      if (!f) throw new Error(`no ${role} function in the template`);
      return f;
    },
    queueByUrl(url) {
      const q = queues.find((x) => x.url === url);
      if (!q) throw new Error(`no queue ${url} in the template`);
      return q;
    },
  };
}
