/**
 * Running the `ml-connector` command as a user would, against sandboxes started by the test: a
 * configuration file for them and the credentials as ML_CONNECTOR_* environment variables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandboxes } from '#sandbox/index.ts';

/** The `ml-connector` entry point. */
export const CLI = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

/** Writes `<dir>/ml-connector.yaml` for the sandboxes' example business. */
export function writeSandboxConfig(dir: string, sandboxes: Sandboxes): string {
  const { dynamics, salesforce } = sandboxes.info;
  const path = join(dir, 'ml-connector.yaml');
  writeFileSync(
    path,
    [
      `dynamics: { environment: "${dynamics.environmentUrl}", tenantId: ${dynamics.tenantId}, authorityHost: "${dynamics.authorityHost}" }`,
      `salesforce: { myDomain: "${salesforce.myDomainUrl}", pubsubEndpoint: "${salesforce.pubsubEndpoint}", apiReserve: 100 }`,
      'legalEntities: [usmf, demf, gbsi]',
      'legalEntityRules: [{ billingCountry: { US: usmf, DE: demf, GB: gbsi } }, { default: usmf }]',
      '',
    ].join('\n'),
  );
  return path;
}

/** The environment of a child `ml-connector`: the sandboxes' credentials, a private config home. */
export function sandboxCredentialsEnv(dir: string, sandboxes: Sandboxes): NodeJS.ProcessEnv {
  const { dynamics, salesforce } = sandboxes.info;
  return {
    ...process.env,
    XDG_CONFIG_HOME: dir,
    CI: 'true',
    ML_CONNECTOR_DYNAMICS_CLIENT_ID: dynamics.clientId,
    ML_CONNECTOR_DYNAMICS_CLIENT_SECRET: dynamics.clientSecret,
    ML_CONNECTOR_SALESFORCE_CLIENT_ID: salesforce.clientId,
    ML_CONNECTOR_SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
    ML_CONNECTOR_BUSINESS_EVENT_SECRET: 'cli-test-receiver-secret',
  };
}
