/**
 * Field values in and out: coercion and validation of incoming JSON/CSV values against a field's
 * describe type, and the REST wire format of stored values.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm
 */
import { normalizeId } from './ids.ts';
import type { FieldDef } from './objects.ts';
import { RecordError, type Row } from './store.ts';

const TEXT_TYPES = new Set(['string', 'textarea', 'picklist', 'phone', 'url', 'email']);
const NUMBER_TYPES = new Set(['int', 'double', 'currency', 'percent']);

function typeError(field: FieldDef, value: unknown): RecordError {
  const shown = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return new RecordError(
    'INVALID_TYPE_ON_FIELD_IN_RECORD',
    `${field.label}: value not of required type: ${shown}`,
    [field.name],
  );
}

/**
 * Converts an incoming value (JSON, or a CSV string when `fromText`) to the stored representation;
 * null stays null. Throws INVALID_TYPE_ON_FIELD_IN_RECORD, STRING_TOO_LONG or MALFORMED_ID.
 */
export function coerceValue(field: FieldDef, value: unknown, fromText = false): unknown {
  if (value === null || value === undefined) return null;
  if (TEXT_TYPES.has(field.type)) {
    if (typeof value === 'object') throw typeError(field, value);
    const text = String(value);
    if (field.length !== undefined && text.length > field.length) {
      throw new RecordError(
        'STRING_TOO_LONG',
        `${field.label}: data value too large: ${text} (max length=${field.length})`,
        [field.name],
      );
    }
    return text;
  }
  if (field.type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
    if (fromText && typeof value === 'string' && /^[01]$/.test(value)) return value === '1';
    throw typeError(field, value);
  }
  if (NUMBER_TYPES.has(field.type)) {
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && value.trim() !== ''
          ? Number(value)
          : NaN;
    if (!Number.isFinite(n) || (field.type === 'int' && !Number.isInteger(n))) throw typeError(field, value);
    return n;
  }
  if (field.type === 'date') {
    if (typeof value !== 'string') throw typeError(field, value);
    const m = /^(\d{4}-\d{2}-\d{2})(?:T.*)?$/.exec(value);
    if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) throw typeError(field, value);
    return m[1];
  }
  if (field.type === 'datetime') {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value !== 'string') throw typeError(field, value);
    const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    if (Number.isNaN(ms)) throw typeError(field, value);
    return ms;
  }
  if (field.type === 'reference' || field.type === 'id') {
    if (typeof value !== 'string') throw typeError(field, value);
    if (value === '') return null;
    const id = normalizeId(value);
    if (!id)
      throw new RecordError('MALFORMED_ID', `${field.label}: id value of incorrect type: ${value}`, [
        field.name,
      ]);
    return id;
  }
  throw typeError(field, value);
}

/** Salesforce's REST dateTime format: `2024-05-01T12:00:00.000+0000`. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** The REST/JSON form of a stored value. */
export function wireValue(field: FieldDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field.type === 'datetime' && typeof value === 'number') return formatDateTime(value);
  return value;
}

/** The CSV form of a stored value (Bulk results and exports). */
export function csvValue(field: FieldDef | undefined, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (field?.type === 'datetime' && typeof value === 'number') return new Date(value).toISOString();
  return String(value);
}

/** A compound address as REST returns it. */
export function compoundAddress(row: Row, field: FieldDef): Record<string, unknown> | null {
  const p = field.name.replace(/Address$/, '');
  const parts = {
    city: row[`${p}City`] ?? null,
    country: row[`${p}Country`] ?? null,
    countryCode: row[`${p}CountryCode`] ?? null,
    geocodeAccuracy: null,
    latitude: null,
    longitude: null,
    postalCode: row[`${p}PostalCode`] ?? null,
    state: row[`${p}State`] ?? null,
    stateCode: row[`${p}StateCode`] ?? null,
    street: row[`${p}Street`] ?? null,
  };
  return Object.values(parts).every((v) => v === null) ? null : parts;
}
