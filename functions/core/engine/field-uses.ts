/**
 * Every field the connector and its configuration read, filter on, map or write, in both systems,
 * each with the configuration key (or connector feature) that makes it needed. The go-live check
 * (field-check.ts) compares them with the customer's F&O `$metadata` and Salesforce describes.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { DEFAULT_CUSTOMER_FIELDS } from '#core/mapping/account-write-back.ts';
import { DEFAULT_ACCOUNT_FIELDS } from '#core/mapping/customers.ts';
import type { OrgFacts } from '#core/mapping/legal-entity.ts';
import { legalEntityField, resolutionFields } from '#core/mapping/legal-entity.ts';
import { orderStatusTargets } from '#core/mapping/order-status.ts';
import { DEFAULT_PRODUCT_FIELDS } from '#core/mapping/products.ts';
import { type AnyEntity, ENTITIES, edmTypeOf } from '#dynamics/entities.ts';
import { orgShapeOf } from './org-shape.ts';

/** How a field is used. `key` fields address records; `filter` fields appear in `$filter`. */
export type DynamicsAccess = 'read' | 'filter' | 'write' | 'key';

/** A field of an F&O entity set the connector needs. */
export interface DynamicsFieldUse {
  readonly entity: string;
  readonly field: string;
  readonly access: DynamicsAccess;
  /** The configuration key that names the field, or the connector feature that uses it. */
  readonly key: string;
  /** Whether the configuration names it (the fix may be to change the configuration). */
  readonly configured: boolean;
  /** The EDM type the connector expects (`Edm.String`, `enum:NoYes`, …), when it depends on one. */
  readonly type?: string | undefined;
  /** A Salesforce field this one is mapped to or from, for a type comparison across systems. */
  readonly counterpart?: { readonly sobject: string; readonly field: string } | undefined;
}

/** How a Salesforce field is used: `upsert` needs createable and updateable. */
export type SalesforceAccess = 'read' | 'create' | 'update' | 'upsert';

/** A field of a Salesforce object the connector needs. */
export interface SalesforceFieldUse {
  readonly sobject: string;
  readonly field: string;
  readonly access: SalesforceAccess;
  readonly key: string;
  readonly configured: boolean;
  /** The F&O field it is mapped to or from, for a type comparison across systems. */
  readonly counterpart?: { readonly entity: string; readonly field: string } | undefined;
  /** Picklist values the connector writes into it, which must exist in the org. */
  readonly values?: readonly string[] | undefined;
  /**
   * A field only some orgs have, which the connector uses where it exists (the State and
   * Country/Territory Picklists' Code fields): its absence is no problem, its access still is.
   */
  readonly optional?: boolean | undefined;
}

/** Account fields that exist only with State and Country/Territory Picklists enabled. */
const PICKLIST_VARIANT_FIELDS: ReadonlySet<string> = new Set(['billingcountrycode', 'billingstatecode']);

/** The EDM type the connector expects of a field its descriptors declare (typed against the F&O reference); undefined for others. */
export function expectedEdmType(entity: string, field: string): string | undefined {
  const descriptor = (ENTITIES as Readonly<Record<string, AnyEntity>>)[entity];
  return descriptor && (descriptor.fields as readonly string[]).includes(field)
    ? edmTypeOf(descriptor, field)
    : undefined;
}

/** The F&O fields the connector and the configuration use. */
export function dynamicsFieldUses(config: ConnectorConfig): DynamicsFieldUse[] {
  const uses: DynamicsFieldUse[] = [];
  const { flows } = config;
  const connector = (entity: string, field: string, access: DynamicsAccess) =>
    uses.push({
      entity,
      field,
      access,
      key: `connector: ${entity} (functions/dynamics/entities.ts)`,
      configured: false,
      type: expectedEdmType(entity, field),
    });
  const needed: Record<string, boolean> = {
    CustomersV3:
      flows.customers.enabled ||
      flows.accountWriteBack.enabled ||
      flows.wonOpportunities.enabled ||
      flows.activatedOrders.enabled,
    ReleasedProductsV2:
      flows.products.enabled || flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesOrderHeadersV2: flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesOrderLines: flows.wonOpportunities.enabled || flows.activatedOrders.enabled,
    SalesInvoiceHeadersV2:
      config.orderStatus.enabled && (flows.wonOpportunities.enabled || flows.activatedOrders.enabled),
  };
  for (const descriptor of Object.values(ENTITIES) as {
    readonly name: string;
    readonly keys: readonly string[];
    readonly fields: readonly string[];
  }[]) {
    if (needed[descriptor.name] === false) continue;
    for (const field of descriptor.fields) {
      connector(descriptor.name, field, descriptor.keys.includes(field) ? 'key' : 'read');
    }
  }
  if (flows.customers.enabled) {
    for (const [sf, d365] of Object.entries(config.mappings.customers)) {
      uses.push({
        entity: 'CustomersV3',
        field: d365,
        access: 'read',
        key: `mappings.customers.${sf}`,
        configured: true,
        counterpart: { sobject: 'Account', field: sf },
      });
    }
  }
  if (flows.products.enabled) {
    for (const [sf, d365] of Object.entries(config.mappings.products)) {
      uses.push({
        entity: 'ReleasedProductsV2',
        field: d365,
        access: 'read',
        key: `mappings.products.${sf}`,
        configured: true,
        counterpart: { sobject: 'Product2', field: sf },
      });
    }
  }
  if (flows.wonOpportunities.enabled || flows.activatedOrders.enabled) {
    const source = flows.wonOpportunities.enabled ? 'Opportunity' : 'Order';
    for (const [d365, sf] of Object.entries(config.mappings.salesOrders)) {
      uses.push({
        entity: 'SalesOrderHeadersV2',
        field: d365,
        access: 'write',
        key: `mappings.salesOrders.${d365}`,
        configured: true,
        counterpart: { sobject: source, field: sf },
      });
    }
  }
  if (flows.accountWriteBack.enabled) {
    for (const [d365, sf] of Object.entries(config.mappings.accountWriteBack)) {
      uses.push({
        entity: 'CustomersV3',
        field: d365,
        access: 'write',
        key: `mappings.accountWriteBack.${d365}`,
        configured: true,
        counterpart: { sobject: 'Account', field: sf },
      });
    }
  }
  for (const [entity, field] of Object.entries(config.modifiedFields)) {
    if (!field) continue;
    uses.push({
      entity,
      field,
      access: 'filter',
      key: `modifiedFields.${entity}`,
      configured: true,
      type: 'Edm.DateTimeOffset',
    });
  }
  for (const [eventId, event] of Object.entries(config.businessEvents.events)) {
    for (const field of Object.keys(event.keyFields)) {
      uses.push({
        entity: event.entity,
        field,
        access: 'key',
        key: `businessEvents.events.${eventId}.keyFields.${field}`,
        configured: true,
      });
    }
  }
  return uses;
}

/** The Salesforce fields the connector and the configuration use. */
export function salesforceFieldUses(config: ConnectorConfig, org: OrgFacts): SalesforceFieldUse[] {
  const { multiCurrency } = orgShapeOf(org);
  const uses: SalesforceFieldUse[] = [];
  const { flows, externalIds } = config;
  const add = (
    sobject: string,
    field: string,
    access: SalesforceAccess,
    key: string,
    extra: Partial<Pick<SalesforceFieldUse, 'counterpart' | 'values'>> = {},
  ) =>
    uses.push({
      sobject,
      field,
      access,
      key,
      configured: !key.startsWith('connector:'),
      ...(sobject === 'Account' &&
      PICKLIST_VARIANT_FIELDS.has(field.toLowerCase()) &&
      key.startsWith('connector:')
        ? { optional: true }
        : {}),
      ...extra,
    });

  if (flows.customers.enabled) {
    add('Account', externalIds.account, 'create', 'externalIds.account');
    for (const [sf, d365] of Object.entries(DEFAULT_ACCOUNT_FIELDS)) {
      if (sf in config.mappings.customers) continue;
      add('Account', sf, 'upsert', 'connector: customers flow (Account fields)', {
        counterpart: { entity: 'CustomersV3', field: d365 },
      });
    }
    for (const [sf, d365] of Object.entries(config.mappings.customers)) {
      add('Account', sf, 'upsert', `mappings.customers.${sf}`, {
        counterpart: { entity: 'CustomersV3', field: d365 },
      });
    }
  }
  if (flows.products.enabled) {
    add('Product2', externalIds.product, 'create', 'externalIds.product');
    add('Product2', 'Name', 'upsert', 'connector: products flow (Product2 fields)');
    add('Product2', 'IsActive', 'upsert', 'connector: products flow (Product2 fields)');
    for (const [sf, d365] of Object.entries(DEFAULT_PRODUCT_FIELDS)) {
      if (sf in config.mappings.products) continue;
      add('Product2', sf, 'upsert', 'connector: products flow (Product2 fields)', {
        counterpart: { entity: 'ReleasedProductsV2', field: d365 },
      });
    }
    for (const [sf, d365] of Object.entries(config.mappings.products)) {
      add('Product2', sf, 'upsert', `mappings.products.${sf}`, {
        counterpart: { entity: 'ReleasedProductsV2', field: d365 },
      });
    }
    const pricebook = 'connector: price book entries (Standard Price Book)';
    for (const f of ['Pricebook2Id', 'Product2Id', 'UseStandardPrice'])
      add('PricebookEntry', f, 'create', pricebook);
    for (const f of ['UnitPrice', 'IsActive']) add('PricebookEntry', f, 'upsert', pricebook);
    if (multiCurrency) add('PricebookEntry', 'CurrencyIsoCode', 'create', pricebook);
  }
  const sources: ['Opportunity' | 'Order', boolean][] = [
    ['Opportunity', flows.wonOpportunities.enabled],
    ['Order', flows.activatedOrders.enabled],
  ];
  for (const [sobject, enabled] of sources) {
    if (!enabled) continue;
    const feature = `connector: ${sobject === 'Opportunity' ? 'won opportunities' : 'activated orders'} flow`;
    const fields =
      sobject === 'Opportunity' ? ['AccountId', 'IsWon', 'Name'] : ['AccountId', 'StatusCode', 'OrderNumber'];
    for (const f of fields) add(sobject, f, 'read', feature);
    if (multiCurrency) add(sobject, 'CurrencyIsoCode', 'read', feature);
    for (const [d365, sf] of Object.entries(config.mappings.salesOrders)) {
      add(sobject, sf, 'read', `mappings.salesOrders.${d365}`, {
        counterpart: { entity: 'SalesOrderHeadersV2', field: d365 },
      });
    }
    if (config.orderStatus.enabled) {
      for (const [target, field] of Object.entries(orderStatusTargets(config, sobject))) {
        if (!field) continue;
        add(sobject, field, 'update', `orderStatus.fields.${sobject}.${target}`);
      }
    }
    const lines = sobject === 'Opportunity' ? 'OpportunityLineItem' : 'OrderItem';
    for (const f of ['Quantity', 'UnitPrice', 'Product2Id']) add(lines, f, 'read', feature);
    add('Product2', 'ProductCode', 'read', feature);
  }
  if (flows.accountWriteBack.enabled) {
    const feature = 'connector: account write-back flow';
    add('Account', 'Name', 'read', feature);
    add('Account', externalIds.account, 'update', 'externalIds.account');
    const le = legalEntityField(config);
    if (le) add('Account', le, 'update', 'legalEntityRules (field)');
    for (const [d365, sf] of Object.entries(DEFAULT_CUSTOMER_FIELDS)) {
      if (d365 in config.mappings.accountWriteBack) continue;
      add('Account', sf, 'read', feature, { counterpart: { entity: 'CustomersV3', field: d365 } });
    }
    for (const [d365, sf] of Object.entries(config.mappings.accountWriteBack)) {
      add('Account', sf, 'read', `mappings.accountWriteBack.${d365}`, {
        counterpart: { entity: 'CustomersV3', field: d365 },
      });
    }
  }
  if (flows.accountWriteBack.enabled || flows.wonOpportunities.enabled || flows.activatedOrders.enabled) {
    for (const f of resolutionFields(config, org)) {
      const rule = config.legalEntityRules.some((r) => 'field' in r && r.field === f);
      add('Account', f, 'read', rule ? 'legalEntityRules (field)' : 'connector: legal entity resolution');
    }
  }
  return uses;
}
