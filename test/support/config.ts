/**
 * The one minimal configuration tests start from: the fictitious Contoso environment and Acme org
 * (no network is reached), one legal entity. Tests override only what they are about.
 */
import type { ConnectorConfig, ConnectorConfigInput } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';

/** The smallest valid configuration input. */
export const MINIMAL_CONFIG: ConnectorConfigInput = Object.freeze({
  dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
  salesforce: { myDomain: 'https://acme.my.salesforce.com' },
  legalEntities: ['usmf'],
});

/** The minimal configuration validated, with `overrides` replacing whole top-level keys. */
export function testConfig(overrides: Partial<ConnectorConfigInput> = {}): ConnectorConfig {
  return validateConfig({ ...MINIMAL_CONFIG, ...overrides });
}
