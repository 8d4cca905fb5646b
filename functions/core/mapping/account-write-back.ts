/**
 * Flow 5 (account write-back) mapping: the SOQL that reads an Account with what resolution and
 * the customer need, and the CustomersV3 create body (defaults plus configured Dynamics field ←
 * Salesforce field pairs).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { soql, soqlFields } from '#salesforce/soql.ts';
import { resolutionFields } from './legal-entity.ts';

/** Default CustomersV3 field ← Account field. */
export const DEFAULT_CUSTOMER_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  AddressStreet: 'BillingStreet',
  AddressCity: 'BillingCity',
  AddressState: 'BillingState',
  AddressZipCode: 'BillingPostalCode',
  AddressCountryRegionISOCode: 'BillingCountryCode',
  PrimaryContactPhone: 'Phone',
  PrimaryContactURL: 'Website',
});

/** The SOQL reading one Account with its key, resolution fields and mapped fields. */
export function accountQuery(config: ConnectorConfig, multiCurrency: boolean, id: string): string {
  const fields = new Set([
    'Id',
    'Name',
    config.externalIds.account,
    ...Object.values(DEFAULT_CUSTOMER_FIELDS),
  ]);
  for (const f of resolutionFields(config, multiCurrency)) fields.add(f);
  for (const f of Object.values(config.mappings.accountWriteBack)) fields.add(f);
  return `SELECT ${soqlFields([...fields]).text} FROM Account WHERE ${soql`Id = ${id}`} LIMIT 1`;
}

/** `<prefix><n>` with n zero-padded to six digits, e.g. `SF-000042`. */
export function formatCustomerAccount(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(6, '0')}`;
}

/**
 * The CustomersV3 create body of an organization customer: the Salesforce Account Id in
 * `salesforceIdField`, and CustomerAccount only when the connector chooses it (prefix mode);
 * otherwise F&O assigns it from the customer account number sequence.
 */
export function customerRecord(
  account: Readonly<Record<string, unknown>>,
  target: {
    readonly dataAreaId: string;
    readonly customerAccount?: string | undefined;
    readonly currency: string;
    readonly group: string;
  },
  config: ConnectorConfig,
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    dataAreaId: target.dataAreaId,
    ...(target.customerAccount ? { CustomerAccount: target.customerAccount } : {}),
    OrganizationName: String(account.Name ?? target.customerAccount ?? account.Id).slice(0, 100),
    PartyType: 'Organization',
    CustomerGroupId: target.group,
    SalesCurrencyCode: target.currency,
  };
  for (const [dynamics, sf] of Object.entries({
    ...DEFAULT_CUSTOMER_FIELDS,
    ...config.mappings.accountWriteBack,
  })) {
    const value = account[sf];
    if (value !== undefined && value !== null && value !== '') record[dynamics] = value;
  }
  record[config.accountWriteBack.salesforceIdField] = String(account.Id);
  return record;
}
