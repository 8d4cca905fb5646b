/**
 * Builds OData read URLs for F&O: `$filter $select $top $skip $orderby $count $expand` and the
 * company scope. Without `cross-company=true` F&O returns only the calling user's default
 * company; reading company X needs `dataAreaId eq 'x'` AND `cross-company=true`.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#cross-company-behavior
 */
import { ValidationError } from '#base/errors.ts';
import type { CompanyScope, ReadQuery } from '#core/ports/apis.ts';
import type { AnyEntity } from '#core/ports/dynamics/entities.ts';
import {
  and,
  assertField,
  encodeQueryValue,
  eq,
  type Filter,
  isFilter,
  or,
} from '#core/ports/dynamics/odata.ts';

export type { CompanyScope, ReadQuery } from '#core/ports/apis.ts';

const COMPANY = /^[A-Za-z0-9]{1,4}$/;

/** Validates and lowercases a dataAreaId (F&O legal entity ids are at most 4 characters). */
export function validateCompany(company: string): string {
  if (typeof company !== 'string' || !COMPANY.test(company)) {
    throw new ValidationError(
      `'${String(company)}' is not a legal entity id (dataAreaId: 1-4 letters or digits)`,
      {
        field: 'dataAreaId',
      },
    );
  }
  return company.toLowerCase();
}

/** The company filter and the cross-company flag a scope implies for `entity`. */
export function companyScope(
  entity: AnyEntity,
  scope: CompanyScope | undefined,
): { readonly filter: Filter | undefined; readonly crossCompany: boolean } {
  if (scope === undefined) return { filter: undefined, crossCompany: false };
  if (!entity.companySpecific) {
    throw new ValidationError(`${entity.name} is shared by all companies; do not give a company scope`, {
      field: 'company',
    });
  }
  if (typeof scope === 'object' && !Array.isArray(scope) && 'crossCompany' in scope) {
    if (scope.crossCompany !== true)
      throw new ValidationError('company: { crossCompany } must be true', { field: 'company' });
    return { filter: undefined, crossCompany: true };
  }
  const list = (typeof scope === 'string' ? [scope] : (scope as readonly string[])).map(validateCompany);
  const unique = [...new Set(list)];
  if (unique.length === 0)
    throw new ValidationError('company: the list of companies is empty', { field: 'company' });
  return { filter: or(...unique.map((c) => eq('dataAreaId', c))), crossCompany: true };
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${name} must be a non-negative integer, got ${value}`, { field: name });
  }
  return value;
}

const ORDER = /^([A-Za-z_][A-Za-z0-9_]*)(?: (asc|desc))?$/;

/** The query string (without `?`) of a read, options in a stable order, values encoded. */
export function buildQueryString<E extends AnyEntity>(entity: E, query: ReadQuery<E> = {}): string {
  const scope = companyScope(entity, query.company);
  if (query.filter !== undefined && !isFilter(query.filter)) {
    throw new ValidationError('filter must be built with the filter functions (eq, and, or, ...)', {
      field: 'filter',
    });
  }
  const parts: string[] = [];
  if (scope.crossCompany) parts.push('cross-company=true');
  const filters = [scope.filter, query.filter].filter((f): f is Filter => f !== undefined);
  if (filters.length > 0) parts.push(`$filter=${encodeQueryValue(and(...filters).text)}`);
  if (query.select !== undefined) {
    if (query.select.length === 0)
      throw new ValidationError('select must name at least one field', { field: 'select' });
    parts.push(`$select=${query.select.map((f) => assertField(f)).join(',')}`);
  }
  if (query.orderBy !== undefined && query.orderBy.length > 0) {
    for (const o of query.orderBy) {
      if (!ORDER.test(o))
        throw new ValidationError(`'${o}' is not a valid orderBy item (Field [asc|desc])`, {
          field: 'orderBy',
        });
    }
    parts.push(`$orderby=${encodeQueryValue(query.orderBy.join(','))}`);
  }
  if (query.top !== undefined) parts.push(`$top=${nonNegativeInteger('top', query.top)}`);
  if (query.skip !== undefined) parts.push(`$skip=${nonNegativeInteger('skip', query.skip)}`);
  if (query.count) parts.push('$count=true');
  if (query.expand !== undefined && query.expand.length > 0) {
    parts.push(`$expand=${query.expand.map((f) => assertField(f)).join(',')}`);
  }
  return parts.join('&');
}

/** The absolute URL of a collection read: `{odataUrl}{EntitySet}?{options}`. */
export function buildReadUrl<E extends AnyEntity>(
  odataUrl: string,
  entity: E,
  query: ReadQuery<E> = {},
): string {
  const qs = buildQueryString(entity, query);
  return `${odataUrl}${entity.name}${qs ? `?${qs}` : ''}`;
}
