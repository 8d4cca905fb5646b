/**
 * The Salesforce org's shape, read once at start from describe (and CurrencyType): which optional
 * features the org has, so the mappers select and write only fields that exist. Orgs differ:
 * - State and Country/Territory Picklists on: Account has BillingCountryCode/BillingStateCode
 *   (restricted picklists of ISO codes) and BillingCountry/BillingState must be valid names;
 *   off: only the free-text BillingCountry/BillingState exist, and a SOQL naming a Code field
 *   fails INVALID_FIELD.
 *   https://help.salesforce.com/s/articleView?id=xcloud.admin_state_country_picklists_field_syncing.htm
 * - Multi-currency on: CurrencyIsoCode on every object and the active currencies in CurrencyType;
 *   off: no CurrencyIsoCode anywhere.
 *   https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_currencytype.htm
 * - Orders off: Order and OrderItem do not exist (describe 404 NOT_FOUND, SOQL INVALID_TYPE).
 * The start-up check adds the problems these imply (see {@link checkOrgShape}).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { SalesforceApi } from '#core/ports/apis.ts';
import { dependentValues, type SObjectDescribe } from '#core/ports/salesforce/describe.ts';
import type { CheckProblem } from './check.ts';
import type { LegalEntityInfo } from './context.ts';

/** What the mappers need to know of one field. */
export interface FieldFacts {
  readonly name: string;
  readonly type: string;
  /** Max characters for text fields (describe `length`); undefined when not text. */
  readonly length: number | undefined;
  readonly externalId: boolean;
}

export interface SalesforceOrgShape {
  readonly multiCurrency: boolean;
  /** State and Country/Territory Picklists: Account has BillingCountryCode/BillingStateCode. */
  readonly addressCodes: boolean;
  /** Active country codes (empty without picklists). */
  readonly countryCodes: ReadonlySet<string>;
  /** Country code → its active state codes (countries without states are absent). */
  readonly stateCodes: ReadonlyMap<string, ReadonlySet<string>>;
  /** Active currencies (CurrencyType, IsActive); empty in a single-currency org. */
  readonly activeCurrencies: ReadonlySet<string>;
  /** Whether Orders are enabled (Order is described). */
  readonly ordersEnabled: boolean;
  /** Lower-cased sObject → lower-cased field → facts, for the objects the connector writes. */
  readonly fields: ReadonlyMap<string, ReadonlyMap<string, FieldFacts>>;
}

/** The shape assumed when none was read (tests that build a context by hand): only fields every org has. */
export function assumedOrgShape(multiCurrency: boolean): SalesforceOrgShape {
  return {
    multiCurrency,
    addressCodes: false,
    countryCodes: new Set(),
    stateCodes: new Map(),
    activeCurrencies: new Set(),
    ordersEnabled: true,
    fields: new Map(),
  };
}

/** The org shape of a reference, or the assumed one. */
export function orgShapeOf(reference: {
  readonly multiCurrency: boolean;
  readonly salesforceOrg?: SalesforceOrgShape | undefined;
}): SalesforceOrgShape {
  return reference.salesforceOrg ?? assumedOrgShape(reference.multiCurrency);
}

const facts = (d: SObjectDescribe | undefined): Map<string, FieldFacts> =>
  new Map(
    (d?.fields ?? []).map((f) => [
      f.name.toLowerCase(),
      {
        name: f.name,
        type: f.type,
        length: f.length !== undefined && f.length > 0 ? f.length : undefined,
        externalId: f.externalId,
      },
    ]),
  );

/**
 * Reads the org's shape: `describe` is the check's once-per-object describe; CurrencyType is
 * queried only when Account has CurrencyIsoCode.
 */
export async function readOrgShape(
  salesforce: Pick<SalesforceApi, 'query'>,
  describe: (sobject: string) => Promise<SObjectDescribe | undefined>,
): Promise<SalesforceOrgShape> {
  const [account, product, order] = await Promise.all([
    describe('Account'),
    describe('Product2'),
    describe('Order'),
  ]);
  const multiCurrency = account?.field('CurrencyIsoCode') !== undefined;
  const countryField = account?.field('BillingCountryCode');
  const stateField = account?.field('BillingStateCode');
  const stateCodes = new Map<string, ReadonlySet<string>>();
  if (countryField && stateField) {
    for (const [country, states] of dependentValues(stateField, countryField))
      stateCodes.set(country, states);
  }
  const activeCurrencies = new Set<string>();
  if (multiCurrency) {
    for await (const c of salesforce.query<{ IsoCode: string }>(
      'SELECT IsoCode FROM CurrencyType WHERE IsActive = true',
    )) {
      activeCurrencies.add(c.IsoCode.toUpperCase());
    }
  }
  return {
    multiCurrency,
    addressCodes: countryField !== undefined,
    countryCodes: new Set(countryField?.picklistValues ?? []),
    stateCodes,
    activeCurrencies,
    ordersEnabled: order !== undefined,
    fields: new Map([
      ['account', facts(account)],
      ['product2', facts(product)],
      ['order', facts(order)],
    ]),
  };
}

/**
 * The problems the org's shape gives the configuration: Orders disabled while the activated-orders
 * flow is on ("enable Orders", not "create the field"), and price book or legal-entity currencies
 * that are not active in a multi-currency org.
 */
export function checkOrgShape(
  config: ConnectorConfig,
  org: SalesforceOrgShape,
  legalEntities: ReadonlyMap<string, LegalEntityInfo>,
): CheckProblem[] {
  const problems: CheckProblem[] = [];
  if (config.flows.activatedOrders.enabled && !org.ordersEnabled) {
    problems.push({
      key: 'flows.activatedOrders',
      problem: 'Orders are not enabled in this Salesforce org (Order does not exist)',
      fix: 'enable Orders in Salesforce Setup (Order Settings > Enable Orders), or set flows.activatedOrders.enabled: false',
    });
  }
  if (org.multiCurrency && config.flows.products.enabled) {
    const wanted = new Map<string, string>();
    for (const code of config.currencies.priceBook) wanted.set(code, 'currencies.priceBook');
    if (config.currencies.priceBook.length === 0) {
      for (const id of config.legalEntities) {
        const le = legalEntities.get(id);
        if (!le?.currency) continue;
        wanted.set(config.currencies.map[le.currency] ?? le.currency, `legal entity ${id}'s currency`);
      }
    }
    for (const [code, source] of wanted) {
      if (org.activeCurrencies.has(code.toUpperCase())) continue;
      problems.push({
        key: config.currencies.priceBook.length > 0 ? 'currencies.priceBook' : 'currencies.map',
        problem: `currency ${code} (${source}) is not an active currency in Salesforce (active: ${[...org.activeCurrencies].join(', ') || 'none'}); its price book entries would be refused`,
        fix: `activate ${code} in Salesforce Setup (Company Settings > Manage Currencies), or map it to an active one under currencies.map`,
      });
    }
  }
  return problems;
}
