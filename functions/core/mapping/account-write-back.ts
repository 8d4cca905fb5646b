/**
 * The accountWriteBack flow's mapping: the SOQL that reads an Account with what resolution and
 * the customer need, and the CustomersV3 create body (defaults plus configured Dynamics field ←
 * Salesforce field pairs).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { soql, soqlFields } from '#core/ports/salesforce/soql.ts';
import { countryCodeOf } from './countries.ts';
import { type OrgFacts, resolutionFields } from './legal-entity.ts';

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

/** The Code fields that exist only with State and Country/Territory Picklists. */
const ADDRESS_CODE_FIELDS = new Set(['BillingCountryCode', 'BillingStateCode']);

/**
 * The SOQL reading one Account with its key, resolution fields and mapped fields; BillingCountry,
 * BillingState and (where the org has them) their Code fields, for the address fallback of
 * {@link customerRecord}.
 */
export function accountQuery(config: ConnectorConfig, org: OrgFacts, id: string): string {
  const codes = orgShapeOf(org).addressCodes;
  const fields = new Set(['Id', 'Name', config.externalIds.account, 'BillingCountry', 'BillingState']);
  for (const f of Object.values(DEFAULT_CUSTOMER_FIELDS)) {
    if (codes || !ADDRESS_CODE_FIELDS.has(f)) fields.add(f);
  }
  if (codes) fields.add('BillingStateCode');
  for (const f of resolutionFields(config, org)) fields.add(f);
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
  addressFallback(account, record, config);
  record[config.accountWriteBack.salesforceIdField] = String(account.Id);
  return record;
}

/**
 * F&O wants ISO codes: with picklists the state is BillingStateCode (BillingState holds the name);
 * without them BillingCountry is free text, a code or a name (`Germany` → DE). A configured
 * mapping of these CustomersV3 fields wins.
 */
function addressFallback(
  account: Readonly<Record<string, unknown>>,
  record: Record<string, unknown>,
  config: ConnectorConfig,
): void {
  const mapped = config.mappings.accountWriteBack;
  const stateCode = account.BillingStateCode;
  if (!('AddressState' in mapped) && typeof stateCode === 'string' && stateCode !== '') {
    record.AddressState = stateCode;
  }
  if (!('AddressCountryRegionISOCode' in mapped) && record.AddressCountryRegionISOCode === undefined) {
    const code = countryCodeOf(account.BillingCountry);
    if (code) record.AddressCountryRegionISOCode = code;
  }
}
