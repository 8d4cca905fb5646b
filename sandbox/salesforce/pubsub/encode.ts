/**
 * Turns a `SandboxChange` into the Avro payload Salesforce would publish: the header with its
 * field bitmaps (uppercase, byte-padded hex), and a body carrying every field, null unless set.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
 */
import { encodeFieldBitmaps } from '#salesforce/pubsub/bitmap.ts';
import type { SandboxChange } from '../change-feed.ts';
import type { FieldDef, ObjectDef } from '../objects.ts';
import { componentName, type ServedSchema } from './schemas.ts';

const DAY_MS = 86_400_000;

function toEpochMs(value: unknown, dateOnly: boolean): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(Math.trunc(value));
  if (value instanceof Date) return BigInt(value.getTime());
  if (typeof value === 'string') {
    const ms = Date.parse(dateOnly && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
    if (Number.isNaN(ms)) throw new TypeError(`not a date: ${value}`);
    return BigInt(dateOnly ? Math.floor(ms / DAY_MS) * DAY_MS : ms);
  }
  throw new TypeError(`not a date: ${String(value)}`);
}

/** Converts a REST-style value to the Avro value of the field's change-event type. */
function avroValue(field: FieldDef, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'date':
      return toEpochMs(value, true);
    case 'datetime':
      return toEpochMs(value, false);
    case 'boolean':
      return Boolean(value);
    case 'int':
      return Math.trunc(Number(value));
    case 'double':
    case 'currency':
    case 'percent':
      return Number(value);
    default:
      return String(value);
  }
}

/** The Avro record of `change` (header plus body). Unknown field names are left out, as Salesforce would. */
export function changeEventRecord(
  change: SandboxChange,
  object: ObjectDef,
  served: ServedSchema,
): Record<string, unknown> {
  const isGap = change.changeType.startsWith('GAP_');
  const bitmaps = (names: readonly string[]) =>
    isGap ? [] : encodeFieldBitmaps(names, served.layout).bitmaps;
  const record: Record<string, unknown> = {
    ChangeEventHeader: {
      entityName: change.entityName,
      recordIds: change.changeType === 'GAP_OVERFLOW' ? [] : [...change.recordIds],
      changeType: change.changeType,
      changeOrigin: change.changeOrigin,
      transactionKey: change.transactionKey,
      sequenceNumber: change.sequenceNumber,
      commitTimestamp: BigInt(Math.trunc(change.commitTimestamp)),
      commitNumber: change.commitNumber,
      commitUser: change.commitUser,
      nulledFields: bitmaps(change.nulledFields),
      diffFields: bitmaps(change.diffFields),
      changedFields: bitmaps(change.changedFields),
    },
  };
  const byName = new Map(object.fields.map((f) => [f.name, f]));
  for (const entry of served.layout) {
    if (entry.name === 'ChangeEventHeader') continue;
    record[entry.name] = null;
    if (isGap) continue;
    const field = byName.get(entry.name);
    if (!field) continue;
    if (!entry.children) {
      record[entry.name] = avroValue(field, change.values[field.name]);
      continue;
    }
    const nested: Record<string, unknown> = {};
    let any = false;
    for (const component of object.fields.filter((f) => f.compoundFieldName === field.name)) {
      const value = avroValue(component, change.values[component.name]);
      nested[componentName(field.name, component.name)] = value;
      if (value !== null) any = true;
    }
    if (any) record[entry.name] = nested;
  }
  return record;
}

/** The Avro binary payload of `change`. */
export function encodeChange(change: SandboxChange, object: ObjectDef, served: ServedSchema): Buffer {
  return served.type.toBuffer(changeEventRecord(change, object, served));
}
