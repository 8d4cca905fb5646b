/**
 * The real F&O schema the sandbox is held to: `reference/fo-entities.json` (keys, field names, EDM
 * types and nullability read off a live environment's `$metadata`) plus the members of the enum
 * types the sandbox serves. Entity sets take their fields from here, so a field cannot be invented
 * and its EDM type cannot drift. The reference lists enum fields as `enum:<Type>` without members;
 * members come from Microsoft's published X++ enum reference (cited per enum below). A field whose
 * enum members no source gave is left out of the sandbox (it exists in F&O, but the sandbox cannot
 * serve it faithfully); `omittedFields` lists them.
 */
import { readFileSync } from 'node:fs';
import { EMPTY_DATE } from './data.ts';
import type { FieldKind } from './filter.ts';

/** The OData namespace of every F&O data entity type and enum. */
export const NAMESPACE = 'Microsoft.Dynamics.DataEntities';

/** One entity of the reference file. */
export interface ReferenceEntity {
  readonly keys: readonly string[];
  readonly fields: Readonly<Record<string, { readonly type: string; readonly nullable: boolean }>>;
}

/** The reference file's path (beside this module; never outside the repository). */
export const REFERENCE_PATH = new URL('./reference/fo-entities.json', import.meta.url);

let reference: Readonly<Record<string, ReferenceEntity>> | undefined;

/** The reference schema, read once. */
export function referenceSchema(): Readonly<Record<string, ReferenceEntity>> {
  reference ??= JSON.parse(readFileSync(REFERENCE_PATH, 'utf8')) as Record<string, ReferenceEntity>;
  return reference;
}

/** An enum member: the name F&O puts in JSON and the integer value CSDL declares. */
export interface EnumMember {
  readonly name: string;
  readonly value: number;
}

/**
 * Members of the enum types the sandbox serves, in value order. Sources:
 * - NoYes: https://learn.microsoft.com/en-us/dotnet/api/microsoft.dynamics.ax.xpp.noyes (No 0, Yes 1)
 * - SalesStatus: https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg850643(v=ax.60)
 * - CustVendorBlocked: https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg880130(v=ax.60)
 * - EcoResProductSubtype: https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg881211(v=ax.60)
 * - SalesDeliveryDateControlType: https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg850322(v=ax.60)
 * - RoundOffType: https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg850290(v=ax.60)
 * - EcoResProductType: the names Item and Service are F&O's product types (Product information
 *   management); the values 1 and 2 are UNCONFIRMED (no published table found). Clients use names.
 * The AX 2012 tables are the published X++ base enums that F&O carried forward; members added by
 * later versions or extensions are UNCONFIRMED, and the sandbox refuses them (the stricter side).
 */
export const ENUM_MEMBERS: Readonly<Record<string, readonly EnumMember[]>> = {
  NoYes: [
    { name: 'No', value: 0 },
    { name: 'Yes', value: 1 },
  ],
  SalesStatus: [
    { name: 'None', value: 0 },
    { name: 'Backorder', value: 1 },
    { name: 'Delivered', value: 2 },
    { name: 'Invoiced', value: 3 },
    { name: 'Canceled', value: 4 },
  ],
  CustVendorBlocked: [
    { name: 'No', value: 0 },
    { name: 'Invoice', value: 1 },
    { name: 'All', value: 2 },
    { name: 'Payment', value: 3 },
    { name: 'Requisition', value: 4 },
    { name: 'Never', value: 5 },
  ],
  EcoResProductType: [
    { name: 'Item', value: 1 },
    { name: 'Service', value: 2 },
  ],
  EcoResProductSubtype: [
    { name: 'Product', value: 1 },
    { name: 'ProductMaster', value: 2 },
    { name: 'ProductVariant', value: 3 },
  ],
  SalesDeliveryDateControlType: [
    { name: 'None', value: 0 },
    { name: 'SalesLeadTime', value: 1 },
    { name: 'ATP', value: 2 },
    { name: 'ATPPlusIssueMargin', value: 3 },
    { name: 'CTP', value: 4 },
  ],
  RoundOffType: [
    { name: 'Ordinary', value: 0 },
    { name: 'RoundDown', value: 1 },
    { name: 'RoundUp', value: 2 },
  ],
};

const kinds = new Map<string, FieldKind>();

/**
 * The sandbox's kind for a reference type (`Edm.String`, `enum:NoYes`, …) and nullability;
 * undefined for an enum whose members are unknown.
 */
export function fieldKindOf(referenceType: string, nullable: boolean): FieldKind | undefined {
  const id = `${referenceType}|${nullable}`;
  const known = kinds.get(id);
  if (known) return known;
  let kind: FieldKind | undefined;
  if (referenceType.startsWith('enum:')) {
    const name = referenceType.slice('enum:'.length);
    const members = ENUM_MEMBERS[name];
    if (members) {
      kind = {
        type: 'enum',
        enumType: `${NAMESPACE}.${name}`,
        members: members.map((m) => m.name),
        nullable,
      };
    }
  } else {
    const type = EDM_KIND[referenceType];
    if (type) kind = { type, nullable } as FieldKind;
  }
  if (kind) kinds.set(id, kind);
  return kind;
}

const EDM_KIND: Readonly<Record<string, FieldKind['type']>> = {
  'Edm.String': 'string',
  'Edm.Decimal': 'decimal',
  'Edm.Int32': 'int',
  'Edm.Int64': 'int64',
  'Edm.DateTimeOffset': 'datetime',
  'Edm.Guid': 'guid',
};

/** The fields of a reference entity the sandbox can serve, in reference order, and those it cannot. */
export function entityFields(entity: string): {
  readonly fields: ReadonlyMap<string, FieldKind>;
  readonly keys: readonly string[];
  readonly omitted: readonly string[];
} {
  const ref = referenceSchema()[entity];
  if (!ref) throw new RangeError(`${entity} is not in the reference schema`);
  const fields = new Map<string, FieldKind>();
  const omitted: string[] = [];
  for (const [name, field] of Object.entries(ref.fields)) {
    const kind = fieldKindOf(field.type, field.nullable);
    if (kind) fields.set(name, kind);
    else omitted.push(name);
  }
  for (const key of ref.keys) {
    if (!fields.has(key)) throw new RangeError(`${entity}: key field ${key} has no servable type`);
  }
  return { fields, keys: ref.keys, omitted };
}

/**
 * What an unset field reads as. X++ table fields are never SQL NULL: strings are '', numbers 0,
 * dates the empty date, GUIDs the empty GUID, enums their value-0 member. An enum without a
 * value-0 member (EcoResProductType) reads as null: UNCONFIRMED what F&O returns there.
 */
export function emptyValue(kind: FieldKind): string | number | null {
  switch (kind.type) {
    case 'string':
      return '';
    case 'decimal':
    case 'int':
    case 'int64':
      return 0;
    case 'datetime':
      return EMPTY_DATE;
    case 'guid':
      return '00000000-0000-0000-0000-000000000000';
    case 'enum': {
      const name = kind.enumType.slice(NAMESPACE.length + 1);
      return ENUM_MEMBERS[name]?.find((m) => m.value === 0)?.name ?? null;
    }
  }
}
