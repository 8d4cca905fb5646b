/**
 * `GET /sobjects` (describeGlobal) and `GET /sobjects/{type}/describe` from the org schema.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
 */
import { validForBitmap } from './address-picklists.ts';
import type { FieldDef, ObjectDef } from './objects.ts';

const urls = (version: string, name: string) => ({
  sobject: `/services/data/v${version}/sobjects/${name}`,
  describe: `/services/data/v${version}/sobjects/${name}/describe`,
  rowTemplate: `/services/data/v${version}/sobjects/${name}/{ID}`,
});

function objectSummary(def: ObjectDef, version: string): Record<string, unknown> {
  return {
    name: def.name,
    label: def.label,
    labelPlural: `${def.label}s`,
    keyPrefix: def.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    layoutable: true,
    triggerable: true,
    urls: urls(version, def.name),
  };
}

/** The describeGlobal body. */
export function describeGlobal(
  schema: ReadonlyMap<string, ObjectDef>,
  version: string,
): Record<string, unknown> {
  return {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: [...schema.values()].map((d) => objectSummary(d, version)),
  };
}

function describeField(f: FieldDef, def: ObjectDef): Record<string, unknown> {
  const textual = f.length !== undefined;
  const controller = f.controllerName
    ? def.fields.find((c) => c.name === f.controllerName)?.picklistValues
    : undefined;
  return {
    name: f.name,
    label: f.label,
    type: f.type,
    soapType: soapType(f),
    length: textual && f.type !== 'reference' ? f.length : 0,
    byteLength: textual ? (f.length ?? 0) * 3 : 0,
    precision: f.type === 'currency' || f.type === 'double' || f.type === 'percent' ? 18 : 0,
    scale: f.type === 'currency' ? 2 : 0,
    nillable: f.nillable,
    createable: f.createable,
    updateable: f.updateable,
    defaultedOnCreate: f.type === 'boolean' || (!f.createable && !f.nillable),
    externalId: f.externalId === true,
    idLookup: f.name === 'Id' || f.externalId === true,
    unique: f.unique === true,
    caseSensitive: false,
    custom: f.name.endsWith('__c'),
    calculated: false,
    filterable: f.type !== 'address',
    sortable: f.type !== 'address',
    groupable: f.type !== 'address',
    referenceTo: f.referenceTo ?? [],
    relationshipName: f.relationshipName ?? null,
    compoundFieldName: f.compoundFieldName ?? null,
    picklistValues: (f.picklistValues ?? []).map((v, i) => ({
      active: true,
      defaultValue: i === 0 && f.name === 'Status',
      label: f.picklistLabels?.[v] ?? v,
      validFor: f.validFor && controller ? validForBitmap(controller, f.validFor[v] ?? []) : null,
      value: v,
    })),
    controllerName: f.controllerName ?? null,
    dependentPicklist: f.controllerName !== undefined,
    restrictedPicklist: f.name === 'CurrencyIsoCode' || f.addressPicklistOnly === true,
  };
}

function soapType(f: FieldDef): string {
  switch (f.type) {
    case 'id':
    case 'reference':
      return 'tns:ID';
    case 'boolean':
      return 'xsd:boolean';
    case 'int':
      return 'xsd:int';
    case 'double':
    case 'currency':
    case 'percent':
      return 'xsd:double';
    case 'date':
      return 'xsd:date';
    case 'datetime':
      return 'xsd:dateTime';
    case 'address':
      return 'urn:address';
    default:
      return 'xsd:string';
  }
}

/** The describe body of one object. */
export function describeObject(def: ObjectDef, version: string): Record<string, unknown> {
  return {
    ...objectSummary(def, version),
    fields: def.fields.map((f) => describeField(f, def)),
    childRelationships: def.childRelationships.map((r) => ({
      cascadeDelete: false,
      childSObject: r.childSObject,
      deprecatedAndHidden: false,
      field: r.field,
      relationshipName: r.relationshipName,
    })),
    recordTypeInfos: [],
  };
}
