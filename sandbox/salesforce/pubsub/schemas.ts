/**
 * Avro change-event schemas derived from the org schema, shaped like the ones Salesforce serves:
 * record `com.sforce.eventbus.<Object>ChangeEvent`, first field `ChangeEventHeader`, then every
 * field as a nullable union defaulting to null, compound addresses as a nested `Address` record.
 * Dates and datetimes are `long` epoch ms (a date at UTC midnight), numbers `double`, ids `string`.
 * Change events carry no Id (it is in `recordIds`), IsDeleted or SystemModstamp.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-deserialization-considerations.html
 */
import { createHash } from 'node:crypto';
import type avro from 'avsc';
import { parseAvroSchema } from '#salesforce/pubsub/avro.ts';
import { type BitmapField, bitmapFieldsOf } from '#salesforce/pubsub/bitmap.ts';
import type { FieldDef, FieldType, ObjectDef } from '../objects.ts';

const OMITTED = new Set(['Id', 'IsDeleted', 'SystemModstamp']);

const CHANGE_TYPES = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'UNDELETE',
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
  'GAP_OVERFLOW',
] as const;

const stringArray = { type: 'array', items: 'string' } as const;

const headerSchema = {
  type: 'record',
  name: 'ChangeEventHeader',
  namespace: 'com.sforce.eventbus',
  fields: [
    { name: 'entityName', type: 'string' },
    { name: 'recordIds', type: stringArray },
    {
      name: 'changeType',
      type: { type: 'enum', name: 'ChangeType', namespace: 'com.sforce.eventbus', symbols: CHANGE_TYPES },
    },
    { name: 'changeOrigin', type: 'string' },
    { name: 'transactionKey', type: 'string' },
    { name: 'sequenceNumber', type: 'int' },
    { name: 'commitTimestamp', type: 'long' },
    { name: 'commitNumber', type: 'long' },
    { name: 'commitUser', type: 'string' },
    { name: 'nulledFields', type: stringArray },
    { name: 'diffFields', type: stringArray },
    { name: 'changedFields', type: stringArray },
  ],
};

const AVRO_TYPE: Record<Exclude<FieldType, 'address'>, { type: string; doc: string }> = {
  id: { type: 'string', doc: 'Data:EntityId' },
  reference: { type: 'string', doc: 'ForeignKey:EntityId' },
  string: { type: 'string', doc: 'Data:Text' },
  textarea: { type: 'string', doc: 'Data:StringPlusClob' },
  picklist: { type: 'string', doc: 'Data:DynamicEnum' },
  phone: { type: 'string', doc: 'Data:Phone' },
  url: { type: 'string', doc: 'Data:Url' },
  email: { type: 'string', doc: 'Data:Email' },
  boolean: { type: 'boolean', doc: 'Data:Boolean' },
  int: { type: 'int', doc: 'Data:Integer' },
  double: { type: 'double', doc: 'Data:Double' },
  currency: { type: 'double', doc: 'Data:Currency' },
  percent: { type: 'double', doc: 'Data:Percent' },
  date: { type: 'long', doc: 'Data:DateOnly' },
  datetime: { type: 'long', doc: 'Data:DateTime' },
};

/** The component name inside the compound: BillingCity in BillingAddress → City. */
export function componentName(compound: string, field: string): string {
  const prefix = compound.endsWith('Address') ? compound.slice(0, -'Address'.length) : compound;
  return field.startsWith(prefix) ? field.slice(prefix.length) : field;
}

/** The Avro schema (as JSON-ready object) of `<Object>ChangeEvent`. */
export function changeEventSchema(object: ObjectDef): object {
  let addressDefined = false;
  const fields: object[] = [{ name: 'ChangeEventHeader', type: headerSchema, doc: 'Data:ComplexValueType' }];
  for (const field of object.fields) {
    if (OMITTED.has(field.name) || field.compoundFieldName) continue;
    if (field.type !== 'address') {
      const avroType = AVRO_TYPE[field.type];
      fields.push({ name: field.name, type: ['null', avroType.type], doc: avroType.doc, default: null });
      continue;
    }
    const components = object.fields.filter((f: FieldDef) => f.compoundFieldName === field.name);
    const record = addressDefined
      ? 'Address'
      : {
          type: 'record',
          name: 'Address',
          fields: components.map((c) => ({
            name: componentName(field.name, c.name),
            type: ['null', 'string'],
            doc: c.type === 'picklist' ? 'Data:DynamicEnum' : 'Data:Text',
            default: null,
          })),
        };
    addressDefined = true;
    fields.push({ name: field.name, type: ['null', record], doc: 'Data:Address', default: null });
  }
  return { type: 'record', name: `${object.name}ChangeEvent`, namespace: 'com.sforce.eventbus', fields };
}

/** A change-event schema ready to serve and encode with. */
export interface ServedSchema {
  readonly objectName: string;
  /** Stable: a hash of the schema JSON. */
  readonly id: string;
  readonly json: string;
  readonly type: avro.Type;
  readonly layout: readonly BitmapField[];
}

/** A stable schema id: 22 base64url characters of the SHA-256 of the schema JSON (the real ids look alike). */
export function schemaIdOf(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 22);
}

/** Builds the served schema of every object with CDC enabled, keyed by object name. */
export function buildChangeEventSchemas(schema: ReadonlyMap<string, ObjectDef>): Map<string, ServedSchema> {
  const out = new Map<string, ServedSchema>();
  for (const object of schema.values()) {
    if (!object.cdc) continue;
    const json = JSON.stringify(changeEventSchema(object));
    const type = parseAvroSchema(json);
    out.set(object.name, {
      objectName: object.name,
      id: schemaIdOf(json),
      json,
      type,
      layout: bitmapFieldsOf(type),
    });
  }
  return out;
}
