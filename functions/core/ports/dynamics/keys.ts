/**
 * Entity keys: F&O addresses a record by its full, named key, e.g.
 * `CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')`; every key field must be given and
 * dataAreaId is part of the key of every company-specific entity.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#query-options
 */
import { ValidationError } from '#base/errors.ts';
import type { AnyEntity, EntityKey } from './entities.ts';
import { stringLiteral } from './odata.ts';

/**
 * Checks that `key` gives every key field of `entity` as a non-empty string and nothing else;
 * returns a copy with dataAreaId lowercased (F&O stores and returns it lowercase).
 * Throws ValidationError naming the missing or invalid field.
 */
export function validateKey<E extends AnyEntity>(entity: E, key: EntityKey<E>): EntityKey<E> {
  if (key === null || typeof key !== 'object') {
    throw new ValidationError(`${entity.name}: a key must be an object with ${entity.keys.join(', ')}`);
  }
  const out: Record<string, string> = {};
  for (const field of entity.keys) {
    const value = (key as Readonly<Record<string, unknown>>)[field];
    if (value === undefined || value === null || value === '') {
      throw new ValidationError(
        `${entity.name}: key field ${field} is missing (the key is ${entity.keys.join(', ')})`,
        {
          field,
        },
      );
    }
    if (typeof value !== 'string') {
      throw new ValidationError(`${entity.name}: key field ${field} must be a string, got ${typeof value}`, {
        field,
      });
    }
    if (!value.isWellFormed())
      throw new ValidationError(`${entity.name}: key field ${field} is not valid Unicode`, { field });
    out[field] = field === 'dataAreaId' ? value.toLowerCase() : value;
  }
  for (const field of Object.keys(key)) {
    if (!entity.keys.includes(field)) {
      throw new ValidationError(
        `${entity.name}: ${field} is not a key field (the key is ${entity.keys.join(', ')})`,
        {
          field,
        },
      );
    }
  }
  return out as EntityKey<E>;
}

/** The key segment as OData text, unencoded: `CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')`. */
export function formatKey<E extends AnyEntity>(entity: E, key: EntityKey<E>): string {
  const valid = validateKey(entity, key) as Readonly<Record<string, string>>;
  const parts = entity.keys.map((f) => `${f}=${stringLiteral(valid[f] as string)}`);
  return `${entity.name}(${parts.join(',')})`;
}

/**
 * The key segment for a URL path. Values are percent-encoded twice: IIS decodes the path once
 * before routing (an encoded `/` would otherwise split the route) and OData decodes key values
 * again, with `+` as a space.
 * https://www.essrocks.io/post/d365-f-o-odata-slashes-pluses-and-double-encoding
 */
export function keyPath<E extends AnyEntity>(entity: E, key: EntityKey<E>): string {
  const valid = validateKey(entity, key) as Readonly<Record<string, string>>;
  const parts = entity.keys.map(
    (f) => `${f}=${encodeURIComponent(encodeURIComponent(stringLiteral(valid[f] as string)))}`,
  );
  return `${entity.name}(${parts.join(',')})`;
}

/** Reads the full key from a record, or undefined when a key field is absent (e.g. not selected). */
export function keyOfRecord<E extends AnyEntity>(
  entity: E,
  record: Readonly<Record<string, unknown>>,
): EntityKey<E> | undefined {
  const out: Record<string, string> = {};
  for (const f of entity.keys) {
    const v = record[f];
    if (typeof v !== 'string' || v === '') return undefined;
    out[f] = v;
  }
  return out as EntityKey<E>;
}

/** A case-insensitive identity for matching keys (F&O compares string keys case-insensitively). */
export function keyIdentity(entity: AnyEntity, key: Readonly<Record<string, string>>): string {
  return entity.keys.map((f) => (key[f] ?? '').toLowerCase()).join('\u0000');
}
