/**
 * Flow 1 (customers): a CustomersV3 record → Salesforce Account fields. Defaults cover the
 * fields every integration needs; configuration adds custom ones (Salesforce field ← Dynamics field).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { externalIdValue } from './keys.ts';

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

export function mapCustomerToAccount(
  customer: DynamicsRecord,
  config: ConnectorConfig,
): Record<string, unknown> {
  const dataAreaId = String(customer.dataAreaId ?? '').toLowerCase();
  const id = String(customer.CustomerAccount ?? '');
  const account: Record<string, unknown> = {
    [config.externalIds.account]: externalIdValue({ dataAreaId, id }, config.legalEntities.length > 1),
  };
  for (const [sf, d365] of Object.entries({ ...DEFAULT_ACCOUNT_FIELDS, ...config.mappings.customers })) {
    account[sf] = clean(customer[d365]);
  }
  if (!account.Name) account.Name = id;
  return account;
}
