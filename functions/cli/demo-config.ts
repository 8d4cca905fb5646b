/**
 * The configuration for the built-in sandboxes' example business (Fabrikam Industrial, three
 * legal entities): what `ml-connector start` uses in demo mode and the end-to-end tests use.
 */
import type { ConnectorConfig, ConnectorConfigInput } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';
import type { SandboxesInfo } from '#sandbox/index.ts';

/**
 * The example business's mappings (docs/MAPPING.md), on standard fields of both sandboxes: a
 * shipping address from the primary address, an Account description from the customer's terms,
 * a product description that falls back to a template, and delivery addresses on sales orders
 * from the Account's shipping address (a relationship path).
 */
export const DEMO_MAPPINGS = {
  customers: {
    Name: { field: 'OrganizationName', trim: true },
    Description: {
      template:
        'Payment terms {PaymentTerms}, delivery terms {DeliveryTerms}, customer group {CustomerGroupId}',
    },
    ShippingStreet: 'AddressStreet',
    ShippingCity: 'AddressCity',
    ShippingPostalCode: 'AddressZipCode',
    ShippingCountryCode: { field: 'AddressCountryRegionISOCode', case: 'upper' },
  },
  products: {
    Description: { first: ['Translation.Description', { template: '{SearchName} ({ItemNumber})' }] },
  },
  salesOrders: {
    DeliveryAddressStreet: 'Account.ShippingStreet',
    DeliveryAddressCity: 'Account.ShippingCity',
    DeliveryAddressZipCode: 'Account.ShippingPostalCode',
  },
  salesOrderLines: {
    SalesPrice: { field: 'UnitPrice', decimals: 2 },
  },
} as const;

/** The demo's configuration: the sandboxes' business with {@link DEMO_MAPPINGS}. */
export function demoConfig(info: SandboxesInfo): ConnectorConfig {
  return sandboxConfig(info, { mappings: DEMO_MAPPINGS });
}

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
