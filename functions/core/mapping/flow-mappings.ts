/**
 * Each flow's mapping: its defaults, written in the expression language (expression.ts), with the
 * configuration's `mappings.<flow>` laid over them (a target replaced, or removed with null). One
 * place answers "what does this flow write, from what": the mappers, the `$select` / SOQL field
 * lists and the go-live field check all read it.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { type Expr, exprPaths, type Mapping, mergeMapping } from './expression.ts';
import { contentHash } from './hash.ts';

/** The flows with a mapping (the `mappings.*` keys). */
export type MappingFlow =
  | 'customers'
  | 'products'
  | 'priceBookEntries'
  | 'salesOrders'
  | 'salesOrderLines'
  | 'accountWriteBack';

/** What a flow's defaults depend on besides the configuration. */
export interface MappingFacts {
  /** Whether the Salesforce org has State and Country/Territory Picklists (the `…Code` address fields). */
  readonly addressCodes?: boolean;
  /** Whether the org has Product2.QuantityUnitOfMeasure. */
  readonly quantityUnitOfMeasure?: boolean;
  /** The sales order source (its own default for SalesOrderName). */
  readonly sobject?: 'Opportunity' | 'Order';
}

/** The root of source paths read from the product's translation (not an OData field: never `$select`ed). */
export const TRANSLATION_ROOT = 'Translation';
/** The root of a line's paths that read its Opportunity / Order (the header record, read once). */
export const PARENT_ROOT = 'parent';

/** Default Account field ← CustomersV3 expression. */
export const DEFAULT_ACCOUNT_MAPPING: Mapping = Object.freeze<Mapping>({
  Name: { first: ['OrganizationName', 'CustomerAccount'] },
  AccountNumber: 'CustomerAccount',
  Phone: 'PrimaryContactPhone',
  Website: 'PrimaryContactURL',
  BillingStreet: 'AddressStreet',
  BillingCity: 'AddressCity',
  BillingState: 'AddressState',
  BillingPostalCode: 'AddressZipCode',
  BillingCountry: 'AddressCountryRegionISOCode',
});

/** Default CustomersV3 field ← Account expression (write-back customers). */
export const DEFAULT_WRITE_BACK_MAPPING: Mapping = Object.freeze<Mapping>({
  OrganizationName: { field: 'Name', maxLength: 100 },
  AddressStreet: 'BillingStreet',
  AddressCity: 'BillingCity',
  AddressState: 'BillingState',
  AddressZipCode: 'BillingPostalCode',
  AddressCountryRegionISOCode: 'BillingCountryCode',
  PrimaryContactPhone: 'Phone',
  PrimaryContactURL: 'Website',
});

/** Default PricebookEntry field ← ReleasedProductsV2 expression: the price per one sales unit, in cents. */
export const DEFAULT_PRICE_MAPPING: Mapping = Object.freeze<Mapping>({
  UnitPrice: { field: 'SalesPrice', divideBy: 'SalesPriceQuantity', decimals: 2, default: 0 },
});

/** Default SalesOrderLines field ← line expression (ItemNumber, the line id and the order's keys are the connector's). */
export const DEFAULT_LINE_MAPPING: Mapping = Object.freeze<Mapping>({
  OrderedSalesQuantity: { field: 'Quantity', default: 0, as: 'number' },
  SalesPrice: 'UnitPrice',
});

const ACCOUNT_ADDRESS_NAMES = ['BillingCountry', 'BillingState'];

/** The defaults of `flow` (before configuration). */
export function defaultMapping(
  flow: MappingFlow,
  config: ConnectorConfig,
  facts: MappingFacts = {},
): Mapping {
  switch (flow) {
    case 'customers': {
      if (!facts.addressCodes) return DEFAULT_ACCOUNT_MAPPING;
      // With picklists the codes go into BillingCountryCode/BillingStateCode (customers.ts), never the names.
      const out: Record<string, Expr> = { ...DEFAULT_ACCOUNT_MAPPING };
      for (const f of ACCOUNT_ADDRESS_NAMES) delete out[f];
      return out;
    }
    case 'products': {
      const { source } = config.products.name;
      const names =
        source === 'translation'
          ? [`${TRANSLATION_ROOT}.ProductName`, 'SearchName', 'ProductSearchName', 'ItemNumber']
          : source === 'searchName'
            ? ['SearchName', 'ProductSearchName', 'ItemNumber']
            : ['ProductSearchName', 'SearchName', 'ItemNumber'];
      return {
        Name: { first: names },
        ...(source === 'translation' ? { Description: `${TRANSLATION_ROOT}.Description` } : {}),
        ProductCode: 'ItemNumber',
        IsActive: { const: true },
        ...(facts.quantityUnitOfMeasure ? { QuantityUnitOfMeasure: 'SalesUnitSymbol' } : {}),
      };
    }
    case 'priceBookEntries':
      return DEFAULT_PRICE_MAPPING;
    case 'salesOrders':
      return {
        SalesOrderName: {
          field: facts.sobject === 'Order' ? 'OrderNumber' : 'Name',
          trim: true,
          maxLength: 60,
        },
      };
    case 'salesOrderLines':
      return DEFAULT_LINE_MAPPING;
    case 'accountWriteBack': {
      if (facts.addressCodes !== false) return DEFAULT_WRITE_BACK_MAPPING;
      // BillingCountryCode exists only with picklists; without, the country comes from BillingCountry (account-write-back.ts).
      const out: Record<string, Expr> = { ...DEFAULT_WRITE_BACK_MAPPING };
      delete out.AddressCountryRegionISOCode;
      return out;
    }
  }
}

/** The mapping a flow runs: its defaults with `mappings.<flow>` laid over them. */
export function flowMapping(
  flow: MappingFlow,
  config: ConnectorConfig,
  facts: MappingFacts = {},
): Record<string, Expr> {
  return mergeMapping(defaultMapping(flow, config, facts), config.mappings[flow]);
}

/** Whether `mappings.<flow>` names `target` (set or removed). */
export function configures(flow: MappingFlow, config: ConnectorConfig, target: string): boolean {
  return Object.hasOwn(config.mappings[flow], target);
}

/** The source paths a mapping reads, without those under `excludedRoots` (read elsewhere), de-duplicated. */
export function mappingPaths(
  mapping: Readonly<Record<string, Expr>>,
  excludedRoots: readonly string[] = [],
): string[] {
  const out = new Set<string>();
  for (const expr of Object.values(mapping)) {
    for (const path of exprPaths(expr)) {
      const root = path.split('.')[0] ?? '';
      if (!excludedRoots.includes(root)) out.add(path);
    }
  }
  return [...out];
}

/** The `tooLong` choices of a mapping's targets without their own `maxLength` (lower-case target → choice), for fitToOrg. */
export function tooLongPolicies(mapping: Readonly<Record<string, Expr>>): Map<string, 'truncate' | 'park'> {
  const out = new Map<string, 'truncate' | 'park'>();
  for (const [target, expr] of Object.entries(mapping)) {
    if (typeof expr !== 'string' && expr.tooLong && expr.maxLength === undefined)
      out.set(target.toLowerCase(), expr.tooLong);
  }
  return out;
}

/**
 * A fingerprint of the mappings that shape an entity's Salesforce records (in every org shape): a
 * backfill that finds it changed reads the entity in full once, ignoring its watermark, so records
 * that did not change in Dynamics are mapped again; the content hashes then pick out the ones the
 * change affects.
 */
export function mappingFingerprint(
  entity: 'CustomersV3' | 'ReleasedProductsV2',
  config: ConnectorConfig,
): string {
  if (entity === 'CustomersV3') {
    return contentHash([
      flowMapping('customers', config, { addressCodes: false }),
      flowMapping('customers', config, { addressCodes: true }),
    ]);
  }
  return contentHash([
    flowMapping('products', config, { quantityUnitOfMeasure: true }),
    flowMapping('priceBookEntries', config),
  ]);
}
