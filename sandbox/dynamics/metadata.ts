/**
 * The `/data/$metadata` CSDL document for the entity sets the sandbox serves, generated from the
 * same definitions the service uses (entities.ts, typed from the reference schema), shaped like
 * F&O's: one Schema in the `Microsoft.Dynamics.DataEntities` namespace holding the EnumTypes, the
 * EntityTypes (Key/PropertyRef, Property Name/Type/Nullable) and the EntityContainer's EntitySets.
 * The real document describes thousands of entities and is tens of MB; this one only the served ones.
 * https://docs.oasis-open.org/odata/odata-csdl-xml/v4.01/odata-csdl-xml-v4.01.html
 */
import type { EntitySetDef } from './entities.ts';
import { edmName } from './filter.ts';
import { ENUM_MEMBERS, NAMESPACE } from './schema.ts';

const cache = new WeakMap<object, string>();

/** Navigation properties the sandbox serves: entity set → [property, target set, target type]. */
const NAVIGATION: Readonly<Record<string, readonly [string, string][]>> = {
  SalesOrderHeadersV2: [['SalesOrderLines', 'SalesOrderLines']],
};

const xmlText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const shortName = (qualified: string): string => qualified.slice(NAMESPACE.length + 1);

/** The `$metadata` XML for `defs`. */
export function metadataDocument(defs: Readonly<Record<string, EntitySetDef>>): string {
  const cached = cache.get(defs);
  if (cached) return cached;
  const enums = new Set<string>();
  const types = Object.values(defs).map((def) => {
    const keys = def.keys.map((k) => `<PropertyRef Name="${xmlText(k)}"/>`).join('');
    const props = [...def.fields]
      .map(([name, kind]) => {
        if (kind.type === 'enum') enums.add(shortName(kind.enumType));
        const nullable = def.keys.includes(name) || kind.nullable === false ? 'false' : 'true';
        return `<Property Name="${xmlText(name)}" Type="${xmlText(edmName(kind))}" Nullable="${nullable}"/>`;
      })
      .join('');
    const nav = (NAVIGATION[def.name] ?? [])
      .map(([property, target]) => {
        const targetType = defs[target]?.typeName ?? '';
        return `<NavigationProperty Name="${property}" Type="Collection(${targetType})"/>`;
      })
      .join('');
    return `<EntityType Name="${xmlText(shortName(def.typeName))}"><Key>${keys}</Key>${props}${nav}</EntityType>`;
  });
  const enumTypes = [...enums].sort().map((name) => {
    const members = (ENUM_MEMBERS[name] ?? [])
      .map((m) => `<Member Name="${xmlText(m.name)}" Value="${m.value}"/>`)
      .join('');
    return `<EnumType Name="${xmlText(name)}">${members}</EnumType>`;
  });
  const sets = Object.values(defs)
    .map((def) => {
      const bindings = (NAVIGATION[def.name] ?? [])
        .map(([property, target]) => `<NavigationPropertyBinding Path="${property}" Target="${target}"/>`)
        .join('');
      return `<EntitySet Name="${xmlText(def.name)}" EntityType="${xmlText(def.typeName)}">${bindings}</EntitySet>`;
    })
    .join('');
  const xml =
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">' +
    '<edmx:DataServices>' +
    `<Schema Namespace="${NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    enumTypes.join('') +
    types.join('') +
    `<EntityContainer Name="Resources">${sets}</EntityContainer>` +
    '</Schema></edmx:DataServices></edmx:Edmx>';
  cache.set(defs, xml);
  return xml;
}
