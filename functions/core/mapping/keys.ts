/**
 * Record keys: how a Dynamics record is named in Salesforce External ID fields, in the state
 * store and in the audit trail.
 */
import { ValidationError } from '#base/errors.ts';

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
