/**
 * The customers flow: a CustomersV3 record → Salesforce Account fields. The customers mapping
 * (flow-mappings.ts) holds the defaults every integration needs; `mappings.customers` changes,
 * removes or adds targets (docs/MAPPING.md).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { assumedOrgShape, type SalesforceOrgShape } from '#core/engine/org-shape.ts';
import { countryCodeOf } from './countries.ts';
import { applyMapping } from './expression.ts';
import { configures, flowMapping } from './flow-mappings.ts';
import { configuredExternalId } from './keys.ts';

export type DynamicsRecord = Readonly<Record<string, unknown>>;

/** Salesforce rejects empty strings in some field types; F&O sends '' for unset text. */
function clean(value: unknown): unknown {
  if (value === '' || value === undefined) return null;
  return value;
}

/**
 * Maps a customer to Account fields for the org's shape, through the customers mapping (defaults
 * in flow-mappings.ts with `mappings.customers` laid over them). Without State and Country/Territory
 * Picklists the ISO codes go into the free-text BillingCountry/BillingState. With them, the codes
 * go into BillingCountryCode/BillingStateCode (Salesforce fills the names) and never into
 * BillingCountry/BillingState, which then accept only valid names (FIELD_INTEGRITY_EXCEPTION
 * otherwise); a state the org's picklist lacks for that country is left out with a note in
 * `notes` (the address still arrives; Salesforce could not hold the state). A configured mapping of
 * a Code field wins over the connector's. Throws ParkedError when the mapping fails for the record.
 */
export function mapCustomerToAccount(
  customer: DynamicsRecord,
  config: ConnectorConfig,
  org: SalesforceOrgShape = assumedOrgShape(false),
  notes: string[] = [],
): Record<string, unknown> {
  const dataAreaId = String(customer.dataAreaId ?? '').toLowerCase();
  const id = String(customer.CustomerAccount ?? '');
  const mapping = flowMapping('customers', config, { addressCodes: org.addressCodes });
  const account: Record<string, unknown> = {};
  if (org.addressCodes) {
    const codes = addressCodes(customer, org, notes);
    for (const [field, value] of Object.entries(codes)) {
      if (!configures('customers', config, field)) account[field] = value;
    }
  }
  Object.assign(account, applyMapping(mapping, customer, 'mappings.customers'));
  account[config.externalIds.account] = configuredExternalId(config, { dataAreaId, id });
  return account;
}

/** BillingCountryCode/BillingStateCode from the customer's ISO country and state. */
function addressCodes(
  customer: DynamicsRecord,
  org: SalesforceOrgShape,
  notes: string[],
): Record<string, unknown> {
  const country = countryCodeOf(customer.AddressCountryRegionISOCode) ?? null;
  const state = clean(customer.AddressState);
  const stateCode = typeof state === 'string' ? state.trim().toUpperCase() : undefined;
  if (stateCode && country && org.stateCodes.get(country)?.has(stateCode)) {
    return { BillingCountryCode: country, BillingStateCode: stateCode };
  }
  if (stateCode) {
    notes.push(
      `BillingStateCode: state ${stateCode} is not a state of ${country ?? 'an empty country'} in the org's State and Country/Territory Picklists; the address was sent without it`,
    );
  }
  return { BillingCountryCode: country, BillingStateCode: null };
}
