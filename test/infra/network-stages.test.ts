import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConnectorStack } from '../../lib/connector-stack.ts';
import { acknowledgeNagFindings } from '../../lib/nag-suppressions.ts';
import { loadStageConfig, pubsubPort, StageConfigError } from '../../lib/stage-config.ts';
import { synthesize, testConfig } from './support.ts';

const NETWORK = {
  vpcId: 'vpc-0123456789abcdef0',
  privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
};
const env = { account: '123456789012', region: 'eu-west-1' };

describe('ConnectorStack in an existing VPC (stage key network)', () => {
  const { app, template } = synthesize({ props: { network: NETWORK } });

  it('leaves cdk-nag nothing unacknowledged', () => {
    const reports: PolicyValidationPluginReport[] = [
      new AwsSolutionsChecks(app).validateScope(app),
      new ServerlessChecks(app).validateScope(app),
    ];
    const findings = reports.flatMap((r) =>
      r.violations.flatMap((v) => v.violatingResources.map((x) => `${v.ruleName} at ${x.constructPath}`)),
    );
    expect(findings).toEqual([]);
  });

  it('runs the stream task in the given private subnets without a public IP', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: {
        AwsvpcConfiguration: Match.objectLike({
          AssignPublicIp: 'DISABLED',
          Subnets: NETWORK.privateSubnetIds,
        }),
      },
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: NETWORK.vpcId });
  });

  it('creates no VPC, subnet, internet gateway or flow log of its own', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::Subnet',
      'AWS::EC2::InternetGateway',
      'AWS::EC2::FlowLog',
    ]) {
      expect(Object.keys(template.findResources(type)), type).toEqual([]);
    }
  });

  it('keeps the default a self-contained deploy: its own VPC, public subnets and a public IP', () => {
    const own = synthesize().template;
    own.resourceCountIs('AWS::EC2::VPC', 1);
    own.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
    });
  });
});

describe('the Pub/Sub egress port', () => {
  it('follows salesforce.pubsubEndpoint', () => {
    expect(pubsubPort('api.pubsub.salesforce.com:7443')).toBe(7443);
    expect(pubsubPort('api.pubsub.salesforce.com:443')).toBe(443);
    expect(pubsubPort('api.pubsub.salesforce.com')).toBe(443);
    expect(pubsubPort('[::1]:9443')).toBe(9443);
    expect(() => pubsubPort('host:70000')).toThrow(StageConfigError);
    const config = testConfig({
      salesforce: { myDomain: 'https://contoso.my.salesforce.com', pubsubEndpoint: 'pubsub.example.com:443' },
    });
    const sg = synthesize({ props: { config } }).template.findResources('AWS::EC2::SecurityGroup');
    const egress = Object.values(sg).flatMap(
      (r) =>
        (r as { Properties: { SecurityGroupEgress?: { FromPort: number }[] } }).Properties
          .SecurityGroupEgress ?? [],
    );
    expect(egress.map((e) => e.FromPort)).toEqual([443]);
  });
});

describe('two stages in one account and region', () => {
  const app = new App();
  const stacks = ['MlConnector-test', 'MlConnector-prod'].map((name) => {
    const stack = new ConnectorStack(app, name, { config: testConfig(), bundle: false, env });
    acknowledgeNagFindings(stack);
    return stack;
  });
  const [a, b] = stacks.map((s) => Template.fromStack(s).toJSON()) as [
    { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> },
    { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> },
  ];
  const ofType = (t: typeof a, type: string) => Object.values(t.Resources).filter((r) => r.Type === type);

  it('publish and alarm on their own metric namespace, so one stage never masks the other', () => {
    const namespaces = (t: typeof a) =>
      new Set(
        ofType(t, 'AWS::CloudWatch::Alarm')
          .map((r) => r.Properties.Namespace as string)
          .filter((n) => n.startsWith('MlConnector')),
      );
    expect([...namespaces(a)]).toEqual(['MlConnector/MlConnector-test']);
    expect([...namespaces(b)]).toEqual(['MlConnector/MlConnector-prod']);
    for (const [t, name] of [
      [a, 'MlConnector-test'],
      [b, 'MlConnector-prod'],
    ] as const) {
      const filters = ofType(t, 'AWS::Logs::MetricFilter').map(
        (r) => (r.Properties.MetricTransformations as { MetricNamespace: string }[])[0]?.MetricNamespace,
      );
      expect(new Set(filters)).toEqual(new Set([`MlConnector/${name}`]));
      const fn = ofType(t, 'AWS::Lambda::Function').find((r) =>
        JSON.stringify(r.Properties.Environment ?? {}).includes('METRICS_NAMESPACE'),
      );
      expect(JSON.stringify(fn?.Properties.Environment)).toContain(
        `"METRICS_NAMESPACE":"MlConnector/${name}"`,
      );
      const dashboard = JSON.stringify(ofType(t, 'AWS::CloudWatch::Dashboard')[0]?.Properties.DashboardBody);
      expect(dashboard).toContain(`MlConnector/${name}`);
      expect(dashboard).not.toContain(
        `MlConnector/${name === 'MlConnector-test' ? 'MlConnector-prod' : 'MlConnector-test'}`,
      );
    }
  });

  it('name nothing themselves: secrets, table, queues, alarms and dashboards get stack-unique names', () => {
    const fixed = /^(Name|TableName|QueueName|AlarmName|DashboardName|TopicName|LogGroupName|ClusterName)$/;
    const named = (t: typeof a) =>
      Object.values(t.Resources).flatMap((r) =>
        Object.entries(r.Properties ?? {})
          .filter(
            ([k, v]) => fixed.test(k) && typeof v === 'string' && !r.Type.startsWith('AWS::ApiGateway::'),
          )
          .map(([k, v]) => `${r.Type}.${k}=${v}`),
      );
    const shared = named(a).filter((n) => named(b).includes(n));
    expect(shared).toEqual([]);
  });
});

describe('loadStageConfig network and apiGateway keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stage-network-'));
  const GOOD = [
    'dynamics: { environment: contoso.operations.dynamics.com, tenantId: contoso.onmicrosoft.com }',
    'salesforce: { myDomain: "https://contoso.my.salesforce.com" }',
    'legalEntities: [usmf]',
  ].join('\n');
  const load = (extra: string) => {
    const file = join(dir, `s-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, `${GOOD}\n${extra}`);
    return loadStageConfig({ stage: 'prod', config: file });
  };

  it('reads the existing network and the API Gateway role choice beside the connector configuration', () => {
    const stage = load(
      [
        'network:',
        `  vpcId: ${NETWORK.vpcId}`,
        `  privateSubnetIds: [${NETWORK.privateSubnetIds.join(', ')}]`,
        'apiGateway: { cloudWatchRole: false }',
      ].join('\n'),
    );
    expect(stage.network).toEqual(NETWORK);
    expect(stage.apiGateway).toEqual({ cloudWatchRole: false });
    expect(stage.config.legalEntities).toEqual(['usmf']);
    expect(load('').network).toBeUndefined();
  });

  it('names every problem of a bad network key', () => {
    const error = (() => {
      try {
        load('network: { vpcId: vpc-12, privateSubnetIds: [subnet-0123456789abcdef0, sg-1], zones: [a] }');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StageConfigError);
    expect(error?.message).toContain('stage "prod"');
    expect(error?.message).toContain('network.vpcId');
    expect(error?.message).toContain('network.privateSubnetIds[1]');
    expect(error?.message).toContain('network.zones: unknown key');
    expect(() => load('network: { vpcId: vpc-0123456789abcdef0, privateSubnetIds: [] }')).toThrow(
      /privateSubnetIds: expected a list of one or more/,
    );
    expect(() => load('apiGateway: { cloudWatchRole: maybe }')).toThrow(
      /cloudWatchRole: expected true or false/,
    );
  });
});
