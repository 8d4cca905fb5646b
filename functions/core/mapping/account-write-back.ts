/**
 * The accountWriteBack flow's mapping: the SOQL that reads an Account with what resolution and
 * the customer need, and the CustomersV3 create body (the accountWriteBack mapping of
 * flow-mappings.ts, `mappings.accountWriteBack` laid over its defaults).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { soql, soqlFields } from '#core/ports/salesforce/soql.ts';
import { countryCodeOf } from './countries.ts';
import { applyMapping } from './expression.ts';
import { configures, flowMapping, mappingPaths } from './flow-mappings.ts';
import { type OrgFacts, resolutionFields } from './legal-entity.ts';

/**
 * The SOQL reading one Account with its key, resolution fields and the accountWriteBack mapping's
 * source fields (relationship paths such as `Owner.Name` included); BillingCountry, BillingState
 * and (where the org has them) their Code fields, for the address fallback of {@link customerRecord}.
 */
export function accountQuery(config: ConnectorConfig, org: OrgFacts, id: string): string {
  const codes = orgShapeOf(org).addressCodes;
  const fields = new Set(['Id', 'Name', config.externalIds.account, 'BillingCountry', 'BillingState']);
  if (codes) fields.add('BillingStateCode');
  for (const f of resolutionFields(config, org)) fields.add(f);
  for (const f of mappingPaths(flowMapping('accountWriteBack', config, { addressCodes: codes })))
    fields.add(f);
  return `SELECT ${soqlFields([...fields]).text} FROM Account WHERE ${soql`Id = ${id}`} LIMIT 1`;
}

/** `<prefix><n>` with n zero-padded to six digits, e.g. `SF-000042`. */
export function formatCustomerAccount(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(6, '0')}`;
}

/**
 * The CustomersV3 create body of an organization customer: the accountWriteBack mapping
 * (flow-mappings.ts with `mappings.accountWriteBack` laid over it; empty values are left out, so
 * F&O applies its own defaults), then the connector's fields: the Salesforce Account Id in
 * `salesforceIdField`, the legal entity, party type, customer group, currency, and CustomerAccount
 * only when the connector chooses it (prefix mode; otherwise F&O assigns it from the customer
 * account number sequence). Throws ParkedError when the mapping fails for the Account.
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
  // The query selects BillingCountryCode only where the org has State and Country/Territory Picklists.
  const addressCodes = Object.hasOwn(account, 'BillingCountryCode');
  const mapping = flowMapping('accountWriteBack', config, { addressCodes });
  const source = { ...account, Name: account.Name || target.customerAccount || account.Id };
  const record: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(applyMapping(mapping, source, 'mappings.accountWriteBack'))) {
    if (value !== null && value !== undefined && value !== '') record[field] = value;
  }
  addressFallback(account, record, config);
  Object.assign(record, {
    dataAreaId: target.dataAreaId,
    ...(target.customerAccount ? { CustomerAccount: target.customerAccount } : {}),
    PartyType: 'Organization',
    CustomerGroupId: target.group,
    SalesCurrencyCode: target.currency,
    [config.accountWriteBack.salesforceIdField]: String(account.Id),
  });
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
  const stateCode = account.BillingStateCode;
  if (
    !configures('accountWriteBack', config, 'AddressState') &&
    typeof stateCode === 'string' &&
    stateCode !== ''
  ) {
    record.AddressState = stateCode;
  }
  if (
    !configures('accountWriteBack', config, 'AddressCountryRegionISOCode') &&
    record.AddressCountryRegionISOCode === undefined
  ) {
    const code = countryCodeOf(account.BillingCountry);
    if (code) record.AddressCountryRegionISOCode = code;
  }
}
