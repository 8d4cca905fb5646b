/**
 * IAM sufficient and least: the actions each Lambda's and the stream task's code can call
 * (iam-derive.ts: from the SDK commands its bundle reaches), plus what Lambda, the SQS event source
 * and KMS need on their behalf (below, explicitly), against the role policies of the synthesized
 * template, resource by resource. A missing grant fails, and so does one neither needed nor
 * acknowledged in lib/iam-allowances.ts.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_POINTS } from '#adapters/aws/contract.ts';
import type { ConnectorStack } from '../../lib/connector-stack.ts';
import { type ConnectorRole, IAM_ALLOWANCES } from '../../lib/iam-allowances.ts';
import { type Derived, deriveNeeds, type Need, scanBundle } from './iam-derive.ts';
import { synthesize } from './support.ts';

/** One granted action on one resource, resources named as in iam-derive.ts. */
interface Grant {
  readonly action: string;
  readonly resource: string;
}

interface RoleUnderTest {
  readonly entry: string;
  readonly role: (stack: ConnectorStack) => IConstruct;
  /** The Lambda's own log group (absent for the task, whose logs go through the execution role). */
  readonly logGroup?: (stack: ConnectorStack) => IConstruct;
  /** The queue an SQS event source mapping polls with this role. */
  readonly eventSource?: string;
  /** The queue Lambda sends a failed asynchronous invocation to (on-failure destination). */
  readonly onFailure?: string;
}

const ROLES: Readonly<Record<ConnectorRole, RoleUnderTest>> = {
  receiver: {
    entry: ENTRY_POINTS.businessEvents,
    role: (s) => s.receiver.role,
    logGroup: (s) => s.receiver.logGroup,
  },
  toSalesforceWorker: {
    entry: ENTRY_POINTS.toSalesforce,
    role: (s) => s.toSalesforceWorker.role,
    logGroup: (s) => s.toSalesforceWorker.logGroup,
    eventSource: 'queue:to-salesforce',
  },
  toDynamicsWorker: {
    entry: ENTRY_POINTS.toDynamics,
    role: (s) => s.toDynamicsWorker.role,
    logGroup: (s) => s.toDynamicsWorker.logGroup,
    eventSource: 'queue:to-dynamics',
  },
  backfill: {
    entry: ENTRY_POINTS.backfill,
    role: (s) => s.backfill.role,
    logGroup: (s) => s.backfill.logGroup,
    onFailure: 'dlq:backfill',
  },
  streamTask: { entry: ENTRY_POINTS.stream, role: (s) => s.stream.taskDefinition.taskRole },
};

/**
 * What the platform calls with the role on the code's behalf:
 * - Lambda: its log stream and events in its own group; X-Ray segments (active tracing; X-Ray has
 *   no resource-level permissions). https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
 * - An SQS event source mapping: ReceiveMessage, DeleteMessage, GetQueueAttributes on its queue.
 *   https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions
 * - An on-failure destination: SendMessage on the queue.
 *   https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
 * - KMS, as every queue, the table and the secrets use the connector key: a producer to an
 *   encrypted queue needs GenerateDataKey and Decrypt, a consumer Decrypt
 *   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html);
 *   reading a secret needs Decrypt (granted by the key policy, through Secrets Manager only);
 *   DynamoDB with a customer managed key: Decrypt (UNCONFIRMED beyond that; see lib/iam-allowances.ts).
 */
function platformNeeds(spec: RoleUnderTest, code: readonly Need[]): Need[] {
  const needs: Need[] = [];
  const add = (actions: readonly string[], resource: string, because: string) => {
    for (const action of actions) needs.push({ action, resource, because });
  };
  if (spec.logGroup) {
    add(['logs:CreateLogStream', 'logs:PutLogEvents'], 'log-group', 'Lambda writes the function logs');
    add(['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*', 'Lambda active tracing');
  }
  if (spec.eventSource) {
    add(
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
      spec.eventSource,
      'the SQS event source mapping',
    );
  }
  if (spec.onFailure) add(['sqs:SendMessage'], spec.onFailure, 'the on-failure destination');
  for (const need of [...code, ...needs]) {
    if (need.action === 'sqs:SendMessage') {
      add(['kms:GenerateDataKey', 'kms:Decrypt'], 'key', `sending to ${need.resource} (encrypted queue)`);
    } else if (need.action === 'sqs:ReceiveMessage') {
      add(['kms:Decrypt'], 'key', `receiving from ${need.resource} (encrypted queue)`);
    } else if (need.action.startsWith('dynamodb:')) {
      add(['kms:Decrypt'], 'key', `${need.action} on the encrypted table`);
    }
  }
  return needs;
}

/** Logical id → resource name, for the resources grants may name. */
function resourceNames(stack: ConnectorStack, ownLogGroup: IConstruct | undefined): Map<string, string> {
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as never);
  const names = new Map<string, string>([
    [id(stack.state.table), 'table'],
    [id(stack.key), 'key'],
    [id(stack.toSalesforce.queue), 'queue:to-salesforce'],
    [id(stack.toSalesforce.deadLetterQueue), 'dlq:to-salesforce'],
    [id(stack.toDynamics.queue), 'queue:to-dynamics'],
    [id(stack.toDynamics.deadLetterQueue), 'dlq:to-dynamics'],
    [id(stack.backfillSchedule.deadLetterQueue), 'dlq:backfill'],
    [id(stack.secrets.dynamics), 'secret:dynamics'],
    [id(stack.secrets.salesforce), 'secret:salesforce'],
    [id(stack.secrets.receiver), 'secret:receiver'],
  ]);
  if (ownLogGroup) names.set(id(ownLogGroup), 'log-group');
  return names;
}

function resourceName(value: unknown, names: ReadonlyMap<string, string>): string {
  if (value === '*') return '*';
  const v = value as Record<string, unknown>;
  const ref = (x: unknown): string | undefined => {
    const o = x as Record<string, unknown> | undefined;
    const getAtt = o?.['Fn::GetAtt'] as [string, string] | undefined;
    if (getAtt?.[1] === 'Arn') return names.get(getAtt[0]);
    if (typeof o?.Ref === 'string') return names.get(o.Ref);
    return undefined;
  };
  const direct = ref(v);
  if (direct) return direct;
  const join = v['Fn::Join'] as [string, unknown[]] | undefined;
  if (join && join[0] === '' && join[1].length === 2 && typeof join[1][1] === 'string') {
    const base = ref(join[1][0]);
    if (base) return `${base}${join[1][1]}`;
  }
  return JSON.stringify(value);
}

/** Every action × resource the role's policies allow (identity policies: attached, inline, managed). */
function grantsOf(template: Template, roleId: string, names: ReadonlyMap<string, string>): Grant[] {
  const statements: Record<string, unknown>[] = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    const roles = (policy.Properties.Roles ?? []) as { Ref?: string }[];
    if (roles.some((r) => r.Ref === roleId)) statements.push(...policy.Properties.PolicyDocument.Statement);
  }
  const role = template.findResources('AWS::IAM::Role')[roleId];
  for (const inline of (role?.Properties.Policies ?? []) as { PolicyDocument: { Statement: [] } }[]) {
    statements.push(...inline.PolicyDocument.Statement);
  }
  const grants: Grant[] = [];
  for (const managed of (role?.Properties.ManagedPolicyArns ?? []) as unknown[]) {
    grants.push({ action: `managed policy ${JSON.stringify(managed)}`, resource: '*' });
  }
  for (const s of statements) {
    expect(s.Effect, `${roleId}: only Allow statements`).toBe('Allow');
    expect(s.NotAction ?? s.NotResource, `${roleId}: no NotAction/NotResource`).toBeUndefined();
    const actions = ([] as string[]).concat(s.Action as string | string[]);
    const resources = ([] as unknown[]).concat(s.Resource);
    for (const action of actions) {
      for (const resource of resources) grants.push({ action, resource: resourceName(resource, names) });
    }
  }
  return grants;
}

const glob = (pattern: string, value: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(value);

const covers = (grant: Grant, need: Need) =>
  glob(grant.action, need.action) &&
  (grant.resource === '*' ||
    grant.resource === need.resource ||
    // The code's queries cannot say which index; a grant on the index wildcard or on named indexes
    // (StateTable.grantAuditQueries names both audit indexes) covers them.
    (grant.resource.startsWith('table/index/') && need.resource === 'table/index'));

const allowed = (role: ConnectorRole, grant: Grant) =>
  IAM_ALLOWANCES.some(
    (a) =>
      (a.roles === '*' || a.roles.includes(role)) &&
      a.actions.includes(grant.action) &&
      glob(a.resource, grant.resource),
  );

/** Needs no grant covers, and grants that cover no need and are not acknowledged. */
function compare(
  role: ConnectorRole,
  needs: readonly Need[],
  grants: readonly Grant[],
): { missing: string[]; extra: string[] } {
  const missing = needs
    .filter((n) => !grants.some((g) => covers(g, n)))
    .map((n) => `${n.action} on ${n.resource} (${n.because})`);
  const extra = grants
    .filter((g) => !needs.some((n) => covers(g, n)) && !allowed(role, g))
    .map((g) => `${g.action} on ${g.resource}`);
  return { missing: [...new Set(missing)].sort(), extra: [...new Set(extra)].sort() };
}

let stack: ConnectorStack;
let template: Template;
const derived = new Map<ConnectorRole, Derived>();
const roleNames = Object.keys(ROLES) as ConnectorRole[];

function needsOf(role: ConnectorRole): Need[] {
  const code = derived.get(role)?.needs ?? [];
  return [...code, ...platformNeeds(ROLES[role], code)];
}

function grantsFor(role: ConnectorRole): Grant[] {
  const spec = ROLES[role];
  const roleId = stack.getLogicalId(spec.role(stack).node.defaultChild as never);
  return grantsOf(template, roleId, resourceNames(stack, spec.logGroup?.(stack)));
}

beforeAll(async () => {
  ({ stack, template } = synthesize());
  for (const role of roleNames) derived.set(role, await deriveNeeds(ROLES[role].entry));
}, 120_000);

describe('IAM: what the code calls', () => {
  it.each(roleNames)('finds every SDK command of %s inside the three AWS adapters', (role) => {
    expect(derived.get(role)?.strayCommands).toEqual([]);
  });

  it.each(roleNames)('finds the ports of %s only under their own names', (role) => {
    expect(derived.get(role)?.misnamedPorts).toEqual([]);
  });

  it('reads port calls and their queue from bundled project code, and flags a port read into another name', () => {
    const scanned = scanBundle(
      [
        '// node_modules/lib/index.js',
        'other.queue.send(1);',
        '// functions/core/x.ts',
        'await ctx.queue.send(QUEUES.toDynamics, []);',
        'const { send } = ctx.queue;',
        'const store = runtime.state;',
        'const { queue } = ctx;',
      ].join('\n'),
    );
    expect(scanned.calls.map((c) => [c.port, c.method, c.queue])).toEqual([['queue', 'send', 'to-dynamics']]);
    expect(scanned.aliased).toEqual([
      'functions/core/x.ts ({ send } = ctx.queue;)',
      'functions/core/x.ts (store = runtime.state;)',
    ]);
  });

  it('derives the receiver’s calls: dedup claims and audit in the table, its secret, the to-Salesforce queue', () => {
    const needs = new Set(derived.get('receiver')?.needs.map((n) => `${n.action} ${n.resource}`));
    expect([...needs].sort()).toEqual([
      'dynamodb:DeleteItem table',
      'dynamodb:PutItem table',
      'secretsmanager:GetSecretValue secret:receiver',
      'sqs:SendMessage queue:to-salesforce',
    ]);
  });

  it('derives that each worker dead-letters with a reason into its own DLQ', () => {
    const sends = (role: ConnectorRole) =>
      derived
        .get(role)
        ?.needs.filter((n) => n.action === 'sqs:SendMessage')
        .map((n) => n.resource);
    expect(sends('toSalesforceWorker')).toContain('dlq:to-salesforce');
    expect(sends('toDynamicsWorker')).toContain('dlq:to-dynamics');
    expect(sends('toSalesforceWorker')).not.toContain('dlq:to-dynamics');
  });

  it('derives no PutMetricData, ConditionCheckItem or DescribeTable anywhere (metrics go out as EMF log lines)', () => {
    const actions = roleNames.flatMap((r) => derived.get(r)?.needs.map((n) => n.action) ?? []);
    expect(actions).not.toContain('cloudwatch:PutMetricData');
    expect(actions).not.toContain('dynamodb:ConditionCheckItem');
    expect(actions).not.toContain('dynamodb:DescribeTable');
  });
});

describe('IAM: the synthesized role policies', () => {
  it.each(roleNames)('grants %s every action its code and platform need, on the right resources', (role) => {
    expect(compare(role, needsOf(role), grantsFor(role)).missing).toEqual([]);
  });

  it.each(roleNames)('grants %s nothing else unless lib/iam-allowances.ts says why', (role) => {
    expect(compare(role, needsOf(role), grantsFor(role)).extra).toEqual([]);
  });

  it('lets each worker send to its own DLQ, so a refused record is parked at once with its reason', () => {
    for (const [role, dlq] of [
      ['toSalesforceWorker', 'dlq:to-salesforce'],
      ['toDynamicsWorker', 'dlq:to-dynamics'],
    ] as const) {
      expect(grantsFor(role)).toContainEqual({ action: 'sqs:SendMessage', resource: dlq });
    }
  });

  it('fails the check when a needed grant is taken away (the DLQ send) or an unneeded one is added', () => {
    const role: ConnectorRole = 'toSalesforceWorker';
    const without = grantsFor(role).filter(
      (g) => !(g.action === 'sqs:SendMessage' && g.resource === 'dlq:to-salesforce'),
    );
    expect(compare(role, needsOf(role), without).missing).toEqual([
      expect.stringMatching(
        /^sqs:SendMessage on dlq:to-salesforce \(queue\.sendToDeadLetter at functions\/handlers\/sqs-batch\.ts /,
      ),
    ]);
    const more = [...grantsFor(role), { action: 'cloudwatch:PutMetricData', resource: '*' }];
    expect(compare(role, needsOf(role), more).extra).toEqual(['cloudwatch:PutMetricData on *']);
  });

  it('gives the task execution role only the image pull and the task log stream', () => {
    const execution = stack.stream.taskDefinition.executionRole;
    expect(execution).toBeDefined();
    const names = new Map([
      [stack.getLogicalId(stack.stream.logGroup.node.defaultChild as never), 'log-group'],
    ]);
    const grants = grantsOf(template, stack.getLogicalId(execution?.node.defaultChild as never), names).map(
      (g) => ({ ...g, resource: g.resource.includes(':ecr:') ? 'ecr-repository' : g.resource }),
    );
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    expect(
      grants.sort((a, b) => `${a.action}${a.resource}`.localeCompare(`${b.action}${b.resource}`)),
    ).toEqual([
      { action: 'ecr:BatchCheckLayerAvailability', resource: 'ecr-repository' },
      { action: 'ecr:BatchGetImage', resource: 'ecr-repository' },
      { action: 'ecr:GetAuthorizationToken', resource: '*' },
      { action: 'ecr:GetDownloadUrlForLayer', resource: 'ecr-repository' },
      { action: 'logs:CreateLogStream', resource: 'log-group' },
      { action: 'logs:PutLogEvents', resource: 'log-group' },
    ]);
  });

  it('acknowledges only grants some role has, each with a reason', () => {
    for (const a of IAM_ALLOWANCES) {
      expect(a.reason.length).toBeGreaterThan(40);
      const used = roleNames.some(
        (role) =>
          (a.roles === '*' || a.roles.includes(role)) &&
          grantsFor(role).some((g) => a.actions.includes(g.action) && glob(a.resource, g.resource)),
      );
      expect(used, `${a.actions.join(', ')} on ${a.resource}`).toBe(true);
    }
  });
});
