/**
 * Record keys: how a Dynamics record is named in Salesforce External ID fields, in the state
 * store and in the audit trail.
 */
import { ValidationError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';

/** A company-specific Dynamics key: legal entity plus the entity's own id. */
export interface CompanyKey {
  readonly dataAreaId: string;
  readonly id: string;
}

const SEPARATOR = ':';

/**
 * The External ID value for a Dynamics record: the id alone when one legal entity is synced,
 * `<dataAreaId>:<id>` when several are (so the same account number in two companies stays two records).
 */
export function externalIdValue(key: CompanyKey, multipleLegalEntities: boolean): string {
  if (!key.dataAreaId || !key.id) throw new ValidationError('a Dynamics key needs both dataAreaId and id');
  return multipleLegalEntities ? `${key.dataAreaId.toLowerCase()}${SEPARATOR}${key.id}` : key.id;
}

/**
 * Whether External IDs carry the legal entity (`usmf:US-001`): always with `externalIds.format`
 * `legalEntityPrefixed` (the default, stable when legal entities are added); with `legacy` only
 * while several legal entities are synced (the format of earlier versions, which changes when a
 * second one is added: `ml-connector migrate-keys` moves existing values to the prefixed form).
 */
export function prefixedExternalIds(config: Pick<ConnectorConfig, 'externalIds' | 'legalEntities'>): boolean {
  return config.externalIds.format !== 'legacy' || config.legalEntities.length > 1;
}

/** The External ID value of a Dynamics record under the configured format. */
export function configuredExternalId(
  config: Pick<ConnectorConfig, 'externalIds' | 'legalEntities'>,
  key: CompanyKey,
): string {
  return externalIdValue(key, prefixedExternalIds(config));
}

/** Reads an External ID value back into a Dynamics key; `defaultLegalEntity` applies to the single-entity form. */
export function parseExternalIdValue(value: string, defaultLegalEntity: string | undefined): CompanyKey {
  const at = value.indexOf(SEPARATOR);
  if (at > 0) return { dataAreaId: value.slice(0, at).toLowerCase(), id: value.slice(at + 1) };
  if (!defaultLegalEntity) {
    throw new ValidationError(
      `External ID "${value}" has no legal entity prefix and no default legal entity is configured`,
    );
  }
  return { dataAreaId: defaultLegalEntity.toLowerCase(), id: value };
}

/** The key of a record in the state store and the audit trail, e.g. `dynamics:CustomersV3:usmf:US-001`. */
export function recordKey(
  system: 'dynamics' | 'salesforce',
  entity: string,
  ...parts: readonly string[]
): string {
  return [system, entity, ...parts].join(SEPARATOR);
}
