/**
 * A small but valid CSDL document (`/data/$metadata`) for the entity sets the sandbox serves.
 * The real document describes thousands of entities and is tens of MB; clients should not need it.
 * https://docs.oasis-open.org/odata/odata-csdl-xml/v4.01/odata-csdl-xml-v4.01.html
 */
import type { EntitySetDef } from './entities.ts';
import type { FieldKind } from './filter.ts';

const edm = (kind: FieldKind): string =>
  kind.type === 'string'
    ? 'Edm.String'
    : kind.type === 'decimal'
      ? 'Edm.Decimal'
      : kind.type === 'int'
        ? 'Edm.Int32'
        : kind.type === 'datetime'
          ? 'Edm.DateTimeOffset'
          : kind.enumType;

const cache = new WeakMap<object, string>();

/** The `$metadata` XML for `defs`. */
export function metadataDocument(defs: Readonly<Record<string, EntitySetDef>>): string {
  const cached = cache.get(defs);
  if (cached) return cached;
  const NS = 'Microsoft.Dynamics.DataEntities';
  const types = Object.values(defs).map((def) => {
    const short = def.typeName.slice(NS.length + 1);
    const keys = def.keys.map((k) => `<PropertyRef Name="${k}"/>`).join('');
    const props = [...def.fields]
      .map(([name, kind]) => {
        const nullable = def.keys.includes(name) ? ' Nullable="false"' : '';
        const scale = kind.type === 'decimal' ? ' Scale="Variable"' : '';
        return `<Property Name="${name}" Type="${edm(kind)}"${nullable}${scale}/>`;
      })
      .join('');
    const nav =
      def.name === 'SalesOrderHeadersV2'
        ? `<NavigationProperty Name="SalesOrderLines" Type="Collection(${NS}.SalesOrderLine)"/>`
        : '';
    return `<EntityType Name="${short}"><Key>${keys}</Key>${props}${nav}</EntityType>`;
  });
  const sets = Object.values(defs)
    .map((def) => {
      const binding =
        def.name === 'SalesOrderHeadersV2'
          ? '<NavigationPropertyBinding Path="SalesOrderLines" Target="SalesOrderLines"/>'
          : '';
      return `<EntitySet Name="${def.name}" EntityType="${def.typeName}">${binding}</EntitySet>`;
    })
    .join('');
  const xml =
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">' +
    '<edmx:DataServices>' +
    `<Schema Namespace="${NS}" xmlns="http://docs.oasis-open.org/odata/ns/edm">` +
    '<EnumType Name="NoYes"><Member Name="No" Value="0"/><Member Name="Yes" Value="1"/></EnumType>' +
    types.join('') +
    `<EntityContainer Name="Resources">${sets}</EntityContainer>` +
    '</Schema></edmx:DataServices></edmx:Edmx>';
  cache.set(defs, xml);
  return xml;
}
