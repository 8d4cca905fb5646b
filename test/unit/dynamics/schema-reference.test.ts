import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AnyEntity, ENTITIES, edmTypeOf } from '#core/ports/dynamics/entities.ts';
import { ENTITY_SETS } from '#sandbox/dynamics/entities.ts';
import { edmName } from '#sandbox/dynamics/filter.ts';
import { ENUM_MEMBERS, entityFields } from '#sandbox/dynamics/schema.ts';

/** The reference schema (a live environment's $metadata, copied into the repository). */
const reference = JSON.parse(
  readFileSync(new URL('../../../sandbox/dynamics/reference/fo-entities.json', import.meta.url), 'utf8'),
) as Record<string, { keys: string[]; fields: Record<string, { type: string; nullable: boolean }> }>;

const NS = 'Microsoft.Dynamics.DataEntities.';

/** A reference type (`Edm.String`, `enum:NoYes`) as CSDL names it. */
const qualified = (type: string): string => (type.startsWith('enum:') ? `${NS}${type.slice(5)}` : type);

/** Every way `fields`/`keys` differ from the reference entity `name`. */
function mismatches(
  name: string,
  keys: readonly string[],
  fields: Iterable<[string, string]>,
  extra: readonly string[] = [],
): string[] {
  const ref = reference[name];
  if (!ref) return [`${name} is not in the reference`];
  const problems: string[] = [];
  if (JSON.stringify(keys) !== JSON.stringify(ref.keys)) {
    problems.push(`${name}: key ${keys.join(',')} is not the reference key ${ref.keys.join(',')}`);
  }
  for (const [field, type] of fields) {
    if (extra.includes(field)) continue;
    const real = ref.fields[field];
    if (!real) problems.push(`${name}.${field} does not exist in F&O`);
    else if (qualified(real.type) !== qualified(type)) {
      problems.push(`${name}.${field} is ${type}, F&O has ${real.type}`);
    }
  }
  return problems;
}

describe('the sandbox entity sets against the reference schema', () => {
  it('serves every entity with the reference key and only reference fields of the reference type', () => {
    const problems = Object.values(ENTITY_SETS).flatMap((def) =>
      mismatches(
        def.name,
        def.keys,
        [...def.fields].map(([field, kind]) => [field, edmName(kind)] as [string, string]),
      ),
    );
    expect(problems).toEqual([]);
  });

  it('serves every reference field except enum fields whose members no source gave', () => {
    for (const def of Object.values(ENTITY_SETS)) {
      const ref = reference[def.name];
      const missing = Object.keys(ref?.fields ?? {}).filter((f) => !def.fields.has(f));
      for (const field of missing) {
        const type = ref?.fields[field]?.type ?? '';
        expect(type.startsWith('enum:') && !ENUM_MEMBERS[type.slice(5)], `${def.name}.${field}`).toBe(true);
      }
    }
  });

  it('declares the reference nullability on every field', () => {
    for (const def of Object.values(ENTITY_SETS)) {
      for (const [field, kind] of def.fields) {
        expect(kind.nullable, `${def.name}.${field}`).toBe(reference[def.name]?.fields[field]?.nullable);
      }
    }
  });

  it('serves the fields the connector and the other flows rely on', () => {
    const served = (set: string, field: string) => ENTITY_SETS[set]?.fields.has(field);
    expect(served('SalesOrderLines', 'LineCreationSequenceNumber')).toBe(true);
    expect(served('SalesOrderLines', 'DefaultLineNumberFromLineCreationSequenceNumber')).toBe(true);
    expect(served('SalesOrderLines', 'OrderLineReference')).toBe(true);
    expect(served('CustomersV3', 'OnHoldStatus')).toBe(true);
    expect(served('CustomersV3', 'IdentificationNumber')).toBe(true);
    expect(served('Ledgers', 'AccountingCurrency')).toBe(true);
    expect(served('ProductTranslations', 'ProductName')).toBe(true);
  });

  it('refuses an entity that is not in the reference', () => {
    expect(() => entityFields('CustomersV9')).toThrow(/not in the reference/);
  });

  it('finds an invented field, a wrong type and a wrong key', () => {
    expect(
      mismatches(
        'ReleasedProductsV2',
        ['dataAreaId', 'ProductNumber'],
        [
          ['ProductName', 'Edm.String'],
          ['SalesPrice', 'Edm.Int32'],
        ],
      ),
    ).toEqual([
      'ReleasedProductsV2: key dataAreaId,ProductNumber is not the reference key dataAreaId,ItemNumber',
      'ReleasedProductsV2.ProductName does not exist in F&O',
      'ReleasedProductsV2.SalesPrice is Edm.Int32, F&O has Edm.Decimal',
    ]);
  });
});

describe('the connector entity descriptors against the reference schema', () => {
  it('declares every entity with the reference key and every field with its reference type', () => {
    const problems = Object.values(ENTITIES).flatMap((entity: AnyEntity) =>
      mismatches(
        entity.name,
        entity.keys,
        entity.fields.map((field) => [field, edmTypeOf(entity, field)] as [string, string]),
      ),
    );
    expect(problems).toEqual([]);
  });

  it('declares company-specific exactly the entities keyed by dataAreaId', () => {
    for (const entity of Object.values(ENTITIES) as AnyEntity[]) {
      expect(entity.companySpecific, entity.name).toBe(reference[entity.name]?.keys[0] === 'dataAreaId');
    }
  });
});
