/**
 * Legal entity and currency resolution for records coming from Salesforce: the configured rules
 * pick a dataAreaId for an Account, checked against the synced legal entities and the live
 * LegalEntities; the currency comes from the record (multi-currency orgs) or the legal entity and
 * must exist in Dynamics. What cannot resolve is parked with a reason a person can act on.
 */

import { ConnectorError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { ReferenceData } from '#core/engine/context.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { countryCodeOf } from './countries.ts';

/** Why a record was parked (audited, not sent, replayable once fixed). */
export type ParkCode =
  | 'LEGAL_ENTITY_UNRESOLVED'
  | 'CURRENCY_UNRESOLVED'
  | 'CUSTOMER_MISSING'
  | 'PRODUCT_UNRESOLVED'
  | 'LINES_CONFLICT'
  | 'LINE_ID_NOT_KEPT'
  | 'LINES_REFUSED'
  | 'ORDER_CLOSED'
  | 'NO_LINES'
  | 'RECORD_NOT_FOUND'
  | 'STRING_TOO_LONG'
  | 'SALESFORCE_REFUSED'
  | 'MAPPING_FAILED';

/** A record that cannot be written until a person fixes data or configuration; `message` says what. */
export class ParkedError extends ConnectorError {
  override name = 'ParkedError';
  readonly parkCode: ParkCode;
  /** Record keys whose success likely clears the cause (AuditEntry.waitsFor); empty when unknown. */
  readonly waitsFor: readonly string[];

  constructor(
    parkCode: ParkCode,
    message: string,
    options?: ErrorOptions & { readonly waitsFor?: readonly string[] },
  ) {
    // Permanent for a retry: a person fixes the data or the org, then replays the parked record.
    super(message, { ...options, code: 'PARKED', failure: 'permanent' });
    this.parkCode = parkCode;
    this.waitsFor = options?.waitsFor ?? [];
  }
}

/** What the Salesforce queries need to know of the org: `ReferenceData` or a part of it. */
export type OrgFacts = Pick<ReferenceData, 'multiCurrency' | 'salesforceOrg'>;

/**
 * The Account fields resolution reads: BillingCountry, BillingCountryCode only where the org has
 * State and Country/Territory Picklists (a SOQL naming it fails INVALID_FIELD elsewhere), the
 * `{field}` rules' fields, and CurrencyIsoCode when multi-currency.
 */
export function resolutionFields(config: ConnectorConfig, org: OrgFacts): string[] {
  const shape = orgShapeOf(org);
  const fields = new Set(['BillingCountry']);
  if (shape.addressCodes) fields.add('BillingCountryCode');
  for (const rule of config.legalEntityRules) if ('field' in rule) fields.add(rule.field);
  if (shape.multiCurrency) fields.add('CurrencyIsoCode');
  return [...fields];
}

/** The Account field that receives the resolved legal entity on write-back: the first `{field}` rule, if any. */
export function legalEntityField(config: ConnectorConfig): string | undefined {
  for (const rule of config.legalEntityRules) if ('field' in rule) return rule.field;
  return undefined;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;

/** The Account's ISO country: BillingCountryCode, else BillingCountry as a code or an English name. */
function countryOf(account: Readonly<Record<string, unknown>>): string | undefined {
  const code = text(account.BillingCountryCode);
  if (code) return code.toUpperCase();
  return countryCodeOf(text(account.BillingCountry));
}

/**
 * Applies `config.legalEntityRules` in order; the first rule that yields a legal entity that is
 * synced and exists in Dynamics wins. Throws ParkedError (LEGAL_ENTITY_UNRESOLVED) listing what each rule saw.
 */
export function resolveLegalEntity(
  account: Readonly<Record<string, unknown>>,
  config: ConnectorConfig,
  reference: Pick<ReferenceData, 'legalEntities'>,
): string {
  const synced = new Set(config.legalEntities);
  const seen: string[] = [];
  const usable = (candidate: string | undefined, rule: string): string | undefined => {
    if (!candidate) return undefined;
    const le = candidate.toLowerCase();
    if (!synced.has(le)) seen.push(`${rule} gave "${le}", which is not in legalEntities`);
    else if (!reference.legalEntities.has(le))
      seen.push(`${rule} gave "${le}", which Dynamics does not know`);
    else return le;
    return undefined;
  };
  for (const rule of config.legalEntityRules) {
    let found: string | undefined;
    if ('field' in rule) found = usable(text(account[rule.field]), `field ${rule.field}`);
    else if ('billingCountry' in rule) {
      const country = countryOf(account);
      const mapped = country ? rule.billingCountry[country] : undefined;
      if (country && !mapped) seen.push(`billing country ${country} has no mapping`);
      found = usable(mapped, `billing country ${country ?? ''}`);
    } else found = usable(rule.default, 'the default');
    if (found) return found;
  }
  if (config.legalEntityRules.length === 0 && config.legalEntities.length === 1) {
    const only = usable(config.legalEntities[0], 'the only synced legal entity');
    if (only) return only;
  }
  const detail = seen.length > 0 ? `: ${seen.join('; ')}` : ' (no rule matched)';
  throw new ParkedError(
    'LEGAL_ENTITY_UNRESOLVED',
    `no legal entity for this Account${detail}; set a legal entity rule (field, billingCountry or default) that fits it`,
  );
}

/** The Dynamics code of a Salesforce currency: `config.currencies.map` (Dynamics → Salesforce) read backwards. */
export function toDynamicsCurrency(salesforceCode: string, config: ConnectorConfig): string {
  for (const [dynamics, salesforce] of Object.entries(config.currencies.map)) {
    if (salesforce === salesforceCode) return dynamics;
  }
  return salesforceCode;
}

/**
 * The Dynamics currency of a record: its CurrencyIsoCode in a multi-currency org, else the legal
 * entity's accounting currency. Throws ParkedError (CURRENCY_UNRESOLVED) when Dynamics lacks it.
 */
export function resolveCurrency(
  legalEntity: string,
  recordCurrency: unknown,
  config: ConnectorConfig,
  reference: Pick<ReferenceData, 'legalEntities' | 'currencies' | 'multiCurrency'>,
): string {
  const fromRecord = reference.multiCurrency ? text(recordCurrency) : undefined;
  const le = reference.legalEntities.get(legalEntity);
  const source = fromRecord ?? le?.currency;
  if (!source) {
    throw new ParkedError('CURRENCY_UNRESOLVED', `legal entity ${legalEntity} has no accounting currency`);
  }
  const code = reference.currencies.has(source) ? source : toDynamicsCurrency(source, config);
  if (!reference.currencies.has(code)) {
    throw new ParkedError(
      'CURRENCY_UNRESOLVED',
      `currency ${source}${code === source ? '' : ` (Dynamics ${code})`} does not exist in Dynamics; add it under currencies.map`,
    );
  }
  return code;
}
