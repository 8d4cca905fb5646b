/**
 * Content hashes of mapped records: the same fields and values give the same hash whatever the
 * key order, so an unchanged record is recognised and not written again.
 */
import { createHash } from 'node:crypto';

function canonical(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** SHA-256 of the canonical JSON of `value`, base64url, 43 characters. */
export function contentHash(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('base64url');
}

/**
 * The content hash of mapped fields without the External ID field: the record's state key already
 * names it, so the hash stays the same when the External ID format changes (`migrate-keys`).
 */
export function fieldsHash(fields: Readonly<Record<string, unknown>>, externalIdField: string): string {
  const { [externalIdField]: _key, ...rest } = fields;
  return contentHash(rest);
}
