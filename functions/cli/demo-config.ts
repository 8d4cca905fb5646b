/**
 * The configuration for the built-in sandboxes' example business (Fabrikam Industrial, three
 * legal entities): what `ml-connector start` uses in demo mode and the end-to-end tests use.
 */
import type { ConnectorConfig, ConnectorConfigInput } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';
import type { SandboxesInfo } from '#sandbox/index.ts';

export function sandboxConfig(
  info: SandboxesInfo,
  overrides: Partial<ConnectorConfigInput> = {},
): ConnectorConfig {
  const { dynamics, salesforce } = info;
  return validateConfig({
    dynamics: {
      environment: dynamics.environmentUrl,
      tenantId: dynamics.tenantId,
      authorityHost: dynamics.authorityHost,
    },
    salesforce: {
      myDomain: salesforce.myDomainUrl,
      pubsubEndpoint: salesforce.pubsubEndpoint,
      apiReserve: 100,
    },
    legalEntities: ['usmf', 'demf', 'gbsi'],
    legalEntityRules: [
      { field: 'D365_Legal_Entity__c' },
      { billingCountry: { US: 'usmf', DE: 'demf', GB: 'gbsi' } },
      { default: 'usmf' },
    ],
    businessEvents: {
      events: {
        MLCustomerChangedBusinessEvent: {
          entity: 'CustomersV3',
          keyFields: { CustomerAccount: 'CustomerAccount' },
        },
        MLReleasedProductChangedBusinessEvent: {
          entity: 'ReleasedProductsV2',
          keyFields: { ItemNumber: 'ItemNumber' },
        },
      },
    },
    ...overrides,
  });
}
