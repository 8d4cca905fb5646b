/** Synthesizes the connector stack for infra tests: stub Lambda code (no esbuild), the real image asset (staged, never built). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ConnectorConfig, ConnectorConfigInput } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';
import { ConnectorStack, type ConnectorStackProps } from '../../lib/connector-stack.ts';
import { acknowledgeNagFindings } from '../../lib/nag-suppressions.ts';

export const testConfig = (overrides: Partial<ConnectorConfigInput> = {}): ConnectorConfig =>
  validateConfig({
    dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
    salesforce: { myDomain: 'https://contoso.my.salesforce.com', apiReserve: 4000 },
    legalEntities: ['usmf', 'demf'],
    legalEntityRules: [{ default: 'usmf' }],
    schedules: { backfillMinutes: 20, watermarkOverlapSeconds: 60 },
    ...overrides,
  });

export interface Synthesized {
  readonly app: App;
  readonly stack: ConnectorStack;
  readonly template: Template;
}

export function synthesize(
  options: { readonly acknowledge?: boolean; readonly props?: Partial<ConnectorStackProps> } = {},
): Synthesized {
  const app = new App();
  const stack = new ConnectorStack(app, 'Test', {
    config: testConfig(),
    bundle: false,
    env: { account: '123456789012', region: 'eu-west-1' },
    ...options.props,
  });
  if (options.acknowledge !== false) acknowledgeNagFindings(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: ConnectorStack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as never);
}
