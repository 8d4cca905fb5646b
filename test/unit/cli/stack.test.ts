/**
 * The CLI's `--stack` commands. CloudFormation DescribeStacks, Secrets Manager, SQS and CloudWatch
 * stay on aws-sdk-client-mock here: the stack lookup needs a deployed stack's outputs, and moto's
 * CloudFormation cannot deploy the connector's template (ECS, custom resources, Lambda assets), so
 * the outputs are mocked and the calls that follow them with them; SQS StartMessageMoveTask (the
 * redrive) is not in moto 5.2 at all. The audit/replay block reads a real table on moto.
 */
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PLACEHOLDER_CLIENT_ID, STACK_OUTPUTS } from '#adapters/aws/contract.ts';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import type { CliIo } from '#cli/command.ts';
import { setCredentialsOnStack } from '#cli/credentials.ts';
import { writeStackCredentials } from '#cli/credentials-stack.ts';
import { main } from '#cli/main.ts';
import type { PingReport } from '#cli/ping-checks.ts';
import { describeDeployedStack, readDeployedSecrets, StackLookupError } from '#cli/stack.ts';
import { describedStack, saveEnv } from '#test/support/aws-environment.ts';
import { createTable, synthesizeStateTable } from '#test/support/aws-template.ts';
import { testConfig } from '#test/support/config.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';

const config = testConfig({
  legalEntities: ['usmf'],
});
const arn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;
const queueUrl = (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;
const queueArn = (name: string) => `arn:aws:sqs:eu-west-1:123456789012:${name}`;
const OUTPUTS: Record<string, string> = {
  [STACK_OUTPUTS.config]: JSON.stringify(config),
  [STACK_OUTPUTS.stateTableName]: 'Prod-StateTable-1',
  [STACK_OUTPUTS.toSalesforceQueueUrl]: queueUrl('sf'),
  [STACK_OUTPUTS.toSalesforceDlqUrl]: queueUrl('sf-dlq'),
  [STACK_OUTPUTS.toSalesforceDlqArn]: queueArn('sf-dlq'),
  [STACK_OUTPUTS.toDynamicsQueueUrl]: queueUrl('d'),
  [STACK_OUTPUTS.toDynamicsDlqUrl]: queueUrl('d-dlq'),
  [STACK_OUTPUTS.toDynamicsDlqArn]: queueArn('d-dlq'),
  [STACK_OUTPUTS.backfillDlqUrl]: queueUrl('bf-dlq'),
  [STACK_OUTPUTS.dynamicsSecretArn]: arn('dynamics'),
  [STACK_OUTPUTS.salesforceSecretArn]: arn('salesforce'),
  [STACK_OUTPUTS.receiverSecretArn]: arn('receiver'),
  [STACK_OUTPUTS.businessEventsUrl]: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/business-events',
  [STACK_OUTPUTS.alarmTopicArn]: 'arn:aws:sns:eu-west-1:123456789012:alarms',
  [STACK_OUTPUTS.dashboardName]: 'ProdDashboard',
};

const cfn = mockClient(CloudFormationClient);
const sm = mockClient(SecretsManagerClient);
const sqs = mockClient(SQSClient);
const cloudwatch = mockClient(CloudWatchClient);

function stackWith(outputs: Record<string, string> = OUTPUTS) {
  cfn.on(DescribeStacksCommand, { StackName: 'Prod' }).resolves(describedStack('Prod', outputs));
}
function secrets(values: Record<string, object>) {
  for (const [name, value] of Object.entries(values)) {
    sm.on(GetSecretValueCommand, { SecretId: arn(name) }).resolves({ SecretString: JSON.stringify(value) });
  }
}
const onboarded = {
  dynamics: { clientId: 'd-id', clientSecret: 'd-secret' },
  salesforce: { clientId: 's-id', clientSecret: 's-secret' },
  receiver: { current: 'receiver-1' },
};

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += String(c);
  });
  stderr.on('data', (c) => {
    err += String(c);
  });
  return {
    stdout,
    stderr,
    env: {},
    stopSignal: new AbortController().signal,
    out: () => out,
    err: () => err,
  };
}

beforeEach(() => {
  cfn.reset();
  sm.reset();
  sqs.reset();
  cloudwatch.reset();
  cloudwatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
});
afterEach(() => {
  cfn.reset();
});

describe('describeDeployedStack', () => {
  it('reads the queues, secrets, URL and validated configuration from the stack outputs', async () => {
    stackWith();
    const stack = await describeDeployedStack(new CloudFormationClient({}), 'Prod');
    expect(stack.config).toEqual(config);
    expect(stack.queues['to-dynamics']).toEqual({
      url: queueUrl('d'),
      deadLetterUrl: queueUrl('d-dlq'),
      deadLetterArn: queueArn('d-dlq'),
    });
    expect(stack.secretArns.receiver).toBe(arn('receiver'));
  });

  it('names every missing output', async () => {
    const { [STACK_OUTPUTS.toDynamicsDlqArn]: _a, [STACK_OUTPUTS.config]: _b, ...rest } = OUTPUTS;
    stackWith(rest);
    await expect(describeDeployedStack(new CloudFormationClient({}), 'Prod')).rejects.toThrow(
      /lacks the output\(s\) ConnectorConfig, ToDynamicsDlqArn/,
    );
  });

  it('says which account and region settings to check when the stack does not exist', async () => {
    cfn.on(DescribeStacksCommand).rejects(new Error('Stack with id Nope does not exist'));
    const error = await describeDeployedStack(new CloudFormationClient({}), 'Nope').catch((e) => e);
    expect(error).toBeInstanceOf(StackLookupError);
    expect(error.message).toMatch(/no stack named "Nope".*AWS_PROFILE and AWS_REGION/);
  });
});

describe('readDeployedSecrets', () => {
  it('returns the onboarded credentials and receiver secret', async () => {
    stackWith();
    secrets(onboarded);
    const stack = await describeDeployedStack(new CloudFormationClient({}), 'Prod');
    expect(await readDeployedSecrets(new SecretsManagerClient({}), stack)).toEqual({
      dynamics: onboarded.dynamics,
      salesforce: onboarded.salesforce,
      businessEvents: { current: 'receiver-1' },
    });
  });

  it('refuses the deploy-time placeholders, naming the command that fills them', async () => {
    stackWith();
    secrets({ ...onboarded, dynamics: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'x' } });
    const stack = await describeDeployedStack(new CloudFormationClient({}), 'Prod');
    await expect(readDeployedSecrets(new SecretsManagerClient({}), stack)).rejects.toThrow(
      /Dynamics credentials of stack "Prod" are not set: run `ml-connector credentials set --stack Prod`/,
    );
  });
});

describe('writeStackCredentials', () => {
  const input = async () => {
    stackWith();
    return {
      secretsManager: new SecretsManagerClient({}),
      stack: await describeDeployedStack(new CloudFormationClient({}), 'Prod'),
      dynamics: onboarded.dynamics,
      salesforce: onboarded.salesforce,
      generateSecret: () => 'fresh-secret',
    };
  };
  const written = () =>
    Object.fromEntries(
      sm
        .commandCalls(PutSecretValueCommand)
        .map((c) => [c.args[0].input.SecretId, JSON.parse(c.args[0].input.SecretString ?? '')]),
    );

  it('replaces the deploy-time receiver placeholder with a generated secret and writes both credential sets', async () => {
    secrets({ receiver: { placeholder: true, current: 'generated-at-deploy' } });
    const result = await writeStackCredentials(await input());
    expect(result).toEqual({ receiver: { current: 'fresh-secret' }, generated: true });
    expect(written()).toEqual({
      [arn('dynamics')]: onboarded.dynamics,
      [arn('salesforce')]: onboarded.salesforce,
      [arn('receiver')]: { current: 'fresh-secret' },
    });
  });

  it('keeps the receiver secret F&O already uses unless a rotation is asked for', async () => {
    secrets({ receiver: { current: 'in-use', previous: 'older' } });
    const result = await writeStackCredentials(await input());
    expect(result).toEqual({ receiver: { current: 'in-use', previous: 'older' }, generated: false });
    expect(Object.keys(written())).toEqual([arn('dynamics'), arn('salesforce')]);
  });

  it('rotates the receiver secret keeping the old one valid as previous', async () => {
    secrets({ receiver: { current: 'in-use', previous: 'older' } });
    const result = await writeStackCredentials({ ...(await input()), rotateReceiverSecret: true });
    expect(result.receiver).toEqual({ current: 'fresh-secret', previous: 'in-use' });
    expect(written()[arn('receiver')]).toEqual({ current: 'fresh-secret', previous: 'in-use' });
  });
});

describe('credentials set --stack', () => {
  const report = (ok: boolean): PingReport => ({
    ok,
    checks: [
      {
        system: 'dynamics',
        name: 'token and OData service',
        ok,
        detail: ok ? 'fine' : 'AADSTS7000215 invalid client secret',
      },
      { system: 'salesforce', name: 'token and REST API', ok: true, detail: 'fine' },
      { system: 'configuration', name: 'legalEntities', ok: false, detail: 'not yet' },
    ],
  });

  it('refuses --file together with --stack before asking for anything', async () => {
    const io = fakeIo();
    const args = ['credentials', 'set', '--stack', 'Prod', '--file', 'x.enc'];
    const code = await main([...args, '--dynamics-client-id', 'd', '--salesforce-client-id', 's'], io);
    expect(code).toBe(2);
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });

  /** Sets the onboarded credentials on the Prod stack, the check answering `report(tokensWork)`. */
  async function setCheckedCredentials(tokensWork: boolean) {
    stackWith();
    secrets({ receiver: { placeholder: true, current: 'x' } });
    const io = fakeIo();
    const stack = await describeDeployedStack(new CloudFormationClient({}), 'Prod');
    const code = await setCredentialsOnStack(io, stack, onboarded.dynamics, onboarded.salesforce, {
      rotate: false,
      skipCheck: false,
      check: async () => report(tokensWork),
    });
    return { io, code };
  }

  it('stores nothing when a credential check fails, and says why', async () => {
    const { io, code } = await setCheckedCredentials(false);
    expect(code).toBe(1);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(io.err()).toContain('AADSTS7000215');
  });

  it('stores the credentials once the tokens work (other ping findings do not block) and prints the F&O endpoint URL', async () => {
    const { io, code } = await setCheckedCredentials(true);
    expect(code).toBe(0);
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(3);
    expect(io.out()).toMatch(
      /https:\/\/abc\.execute-api\.eu-west-1\.amazonaws\.com\/v1\/business-events\?code=\S{40,}/,
    );
  });
});

describe('redrive --stack', () => {
  it('starts a move task from each DLQ and reports its progress', async () => {
    stackWith();
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [
        { Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 3, ApproximateNumberOfMessagesToMove: 10 },
      ],
    });
    const io = fakeIo();
    expect(await main(['redrive', '--stack', 'Prod'], io)).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input.SourceArn)).toEqual([
      queueArn('sf-dlq'),
      queueArn('d-dlq'),
    ]);
    expect(io.out()).toContain('to-salesforce: started, RUNNING, 3 of 10 moved');
  });

  it('redrives only the named queue, reports a task already running, and follows it with --wait', async () => {
    stackWith();
    sqs.on(StartMessageMoveTaskCommand).rejects(new Error('There is already a task running'));
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1 }] })
      .resolvesOnce({ Results: [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1 }] })
      .resolves({ Results: [{ Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 7 }] });
    const io = fakeIo();
    const code = await main(
      ['redrive', '--stack', 'Prod', '--queue', 'to-dynamics', '--wait', '--poll-seconds', '0'],
      io,
    );
    expect(code).toBe(0);
    expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input.SourceArn)).toEqual([
      queueArn('d-dlq'),
    ]);
    expect(io.out()).toContain('to-dynamics: already running, RUNNING, 1 moved');
    expect(io.out()).toContain('to-dynamics: latest task, COMPLETED, 7 moved');
  });

  it('exits 1 when a move task failed, with its reason', async () => {
    stackWith();
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolves({
      Results: [{ Status: 'FAILED', ApproximateNumberOfMessagesMoved: 0, FailureReason: 'AccessDenied' }],
    });
    const io = fakeIo();
    expect(await main(['redrive', '--stack', 'Prod', '--queue', 'to-salesforce'], io)).toBe(1);
    expect(io.out()).toContain('(AccessDenied)');
  });

  it('is a usage error without --stack, pointing at the local command', async () => {
    const io = fakeIo();
    expect(await main(['redrive'], io)).toBe(2);
    expect(io.err()).toContain('dlq redrive');
  });
});

describe('status --stack', () => {
  // The state table's reads (Query) answer empty here; test/integration/cli-status-stack.test.ts reads a real one on moto.
  const documents = mockClient(DynamoDBDocumentClient);
  beforeEach(() => {
    documents.reset();
    documents.on(QueryCommand).resolves({ Items: [] });
  });
  afterAll(() => {
    documents.restore();
  });

  it('shows the depth of every deployed queue and DLQ and points at redrive when dead letters wait', async () => {
    stackWith();
    sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' },
    });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: queueUrl('d-dlq') }).resolves({
      Attributes: { ApproximateNumberOfMessages: '4', ApproximateNumberOfMessagesNotVisible: '0' },
    });
    const io = fakeIo();
    expect(await main(['status', '--stack', 'Prod'], io)).toBe(0);
    expect(io.out()).toMatch(/to-dynamics DLQ\s+visible 4, in flight 0, delayed 0/);
    expect(io.out()).toContain('4 dead letter(s)');
    expect(io.out()).toContain('ml-connector redrive --stack Prod');
  });

  it('lists the alarms notifying the stack topic with their states and exits 1 while one is in ALARM', async () => {
    stackWith();
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    cloudwatch
      .on(DescribeAlarmsCommand, { ActionPrefix: 'arn:aws:sns:eu-west-1:123456789012:alarms' })
      .resolves({
        MetricAlarms: [
          {
            AlarmName: 'Prod-StreamDown',
            StateValue: 'ALARM',
            StateReason: 'Threshold Crossed: no datapoints',
          },
          { AlarmName: 'Prod-ToDynamicsDlq', StateValue: 'OK' },
        ],
      });
    const io = fakeIo();
    expect(await main(['status', '--stack', 'Prod'], io)).toBe(1);
    expect(io.out()).toMatch(/ALARM\s+Prod-StreamDown \(Threshold Crossed: no datapoints\)/);
    expect(io.out()).toMatch(/OK\s+Prod-ToDynamicsDlq/);
  });

  it('still shows the queues when the state table cannot be read, names the permissions, and exits 1', async () => {
    stackWith();
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    const denied = Object.assign(
      new Error('User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Query'),
      { name: 'AccessDeniedException' },
    );
    documents.on(QueryCommand).rejects(denied);
    const text = fakeIo();
    expect(await main(['status', '--stack', 'Prod'], text)).toBe(1);
    expect(text.out()).toContain(
      'State table Prod-StateTable-1: cannot read it (AccessDeniedException: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Query).',
    );
    expect(text.out()).toMatch(/needs dynamodb:Query on the table and its byRecord and byOutcome indexes/);
    expect(text.out()).toMatch(/to-dynamics DLQ\s+visible 0/);
    expect(text.out()).not.toContain('Parked (');

    const json = fakeIo();
    expect(await main(['status', '--stack', 'Prod', '--json'], json)).toBe(1);
    const status = JSON.parse(json.out()) as Record<string, unknown>;
    expect(status.stateError).toMatch(/^AccessDeniedException: /);
    expect(status).not.toHaveProperty('parked');
    expect(status.queues).toHaveLength(5);
  });
});

describe('ping --stack', () => {
  it('refuses --config together with --stack', async () => {
    const io = fakeIo();
    expect(await main(['ping', '--stack', 'Prod', '--config', 'x.yaml'], io)).toBe(2);
  });

  it('stops before any call to the systems while the stack still holds placeholder credentials', async () => {
    stackWith();
    secrets({
      dynamics: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'x' },
      salesforce: { clientId: PLACEHOLDER_CLIENT_ID, clientSecret: 'x' },
      receiver: { placeholder: true, current: 'x' },
    });
    const io = fakeIo();
    expect(await main(['ping', '--stack', 'Prod'], io)).toBe(1);
    expect(io.err()).toContain('credentials set --stack Prod');
  });
});

describe('audit and replay --stack', () => {
  let moto: Moto;
  let db: DynamoDBClient;
  let tableProperties: Record<string, unknown>;
  const restoreEnv = saveEnv([
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_ENDPOINT_URL_DYNAMODB',
  ]);
  beforeAll(async () => {
    moto = await startMoto();
    tableProperties = synthesizeStateTable();
    db = new DynamoDBClient(moto.clientConfig);
    // The CLI builds its SDK clients from the usual chain: point DynamoDB at moto.
    Object.assign(process.env, {
      AWS_REGION: moto.env.AWS_REGION,
      AWS_ACCESS_KEY_ID: moto.env.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: moto.env.AWS_SECRET_ACCESS_KEY,
      AWS_ENDPOINT_URL_DYNAMODB: moto.endpoint,
    });
  }, 60_000);
  afterAll(async () => {
    restoreEnv();
    db?.destroy();
    await moto?.close();
  });

  it('reads a record history from the deployed table and replays a parked item onto the deployed queue', {
    timeout: 30_000,
  }, async () => {
    const table = 'Prod-StateTable-1';
    await createTable(db, table, tableProperties);
    stackWith({ ...OUTPUTS, [STACK_OUTPUTS.stateTableName]: table });
    const state = createDynamoStateStore({ client: documentClient(db), tableName: table });
    const work = {
      kind: 'salesforce-stub',
      sobject: 'Opportunity',
      id: '006000000000042AAA',
      trigger: 'cdc',
      observedAt: 1,
    };
    const parked = await state.appendAudit({
      recordKey: 'salesforce:Opportunity:006000000000042AAA',
      flow: 'won-opportunities',
      trigger: 'cdc',
      attempt: 1,
      outcome: 'parked',
      error: 'PNEW01 is not a released product in usmf',
      work,
    });
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'm1', MD5OfMessageBody: 'x' }], Failed: [] });

    const audit = fakeIo();
    expect(await main(['audit', '--stack', 'Prod', '006000000000042AAA'], audit)).toBe(0);
    expect(audit.out()).toMatch(/won-opportunities via cdc, attempt 1: parked.*PNEW01/);

    const replay = fakeIo();
    expect(await main(['replay', '--stack', 'Prod', parked.auditId], replay)).toBe(0);
    const [call] = sqs.commandCalls(SendMessageBatchCommand);
    expect(call?.args[0].input.QueueUrl).toBe(queueUrl('d'));
    expect(JSON.parse(call?.args[0].input.Entries?.[0]?.MessageBody ?? '{}')).toMatchObject({
      kind: 'salesforce-stub',
      sobject: 'Opportunity',
      id: work.id,
      trigger: 'replay',
      source: parked.auditId,
    });
    expect(
      (await state.queryAudit({ recordKey: 'salesforce:Opportunity:006000000000042AAA', limit: 1 }))[0],
    ).toMatchObject({
      outcome: 'enqueued',
      attempt: 2,
    });
  });
});
