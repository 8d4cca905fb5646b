/**
 * Flow 1 (customers): a CustomersV3 record → Salesforce Account fields. Defaults cover the
 * fields every integration needs; configuration adds custom ones (Salesforce field ← Dynamics field).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { assumedOrgShape, type SalesforceOrgShape } from '#core/engine/org-shape.ts';
import { countryCodeOf } from './countries.ts';
import { configuredExternalId } from './keys.ts';

export type DynamicsRecord = Readonly<Record<string, unknown>>;

/** Default Account field ← CustomersV3 field. */
export const DEFAULT_ACCOUNT_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  Name: 'OrganizationName',
  AccountNumber: 'CustomerAccount',
  Phone: 'PrimaryContactPhone',
  Website: 'PrimaryContactURL',
  BillingStreet: 'AddressStreet',
  BillingCity: 'AddressCity',
  BillingState: 'AddressState',
  BillingPostalCode: 'AddressZipCode',
  BillingCountry: 'AddressCountryRegionISOCode',
});

/** Salesforce rejects empty strings in some field types; F&O sends '' for unset text. */
function clean(value: unknown): unknown {
  if (value === '' || value === undefined) return null;
  return value;
}

/**
 * Maps a customer to Account fields for the org's shape. Without State and Country/Territory
 * Picklists the ISO codes go into the free-text BillingCountry/BillingState. With them, the codes
 * go into BillingCountryCode/BillingStateCode (Salesforce fills the names) and never into
 * BillingCountry/BillingState, which then accept only valid names (FIELD_INTEGRITY_EXCEPTION
 * otherwise); a state the org's picklist lacks for that country is left out with a note in
 * `notes` (the address still arrives; Salesforce could not hold the state). Configured mappings
 * come last and win.
 */
export function mapCustomerToAccount(
  customer: DynamicsRecord,
  config: ConnectorConfig,
  org: SalesforceOrgShape = assumedOrgShape(false),
  notes: string[] = [],
): Record<string, unknown> {
  const dataAreaId = String(customer.dataAreaId ?? '').toLowerCase();
  const id = String(customer.CustomerAccount ?? '');
  const account: Record<string, unknown> = {
    [config.externalIds.account]: configuredExternalId(config, { dataAreaId, id }),
  };
  const defaults: Record<string, string> = { ...DEFAULT_ACCOUNT_FIELDS };
  if (org.addressCodes) {
    delete defaults.BillingCountry;
    delete defaults.BillingState;
  }
  for (const [sf, d365] of Object.entries(defaults)) account[sf] = clean(customer[d365]);
  if (org.addressCodes) Object.assign(account, addressCodes(customer, org, notes));
  for (const [sf, d365] of Object.entries(config.mappings.customers)) account[sf] = clean(customer[d365]);
  if (!account.Name) account.Name = id;
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
