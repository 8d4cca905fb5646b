/**
 * Field-level security of the integration user, as describe shows it: a field the user cannot
 * read is absent from describe; a field it can read but not edit is there with createable and
 * updateable false.
 * https://help.salesforce.com/s/articleView?id=sf.admin_fls.htm
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
 * Only describe honours it here (what the go-live check reads); SOQL and DML still accept the
 * field, unlike a real org (INVALID_FIELD, INVALID_FIELD_FOR_INSERT_UPDATE).
 */
import type { Org } from './org.ts';

/** What the integration user may do with one field. `edit` is the default (no restriction). */
export type FieldAccess = 'hidden' | 'read' | 'edit';

const restrictions = new WeakMap<Org, Map<string, FieldAccess>>();

const keyOf = (sobject: string, field: string) => `${sobject}.${field}`.toLowerCase();

/** Sets the integration user's access to `sobject.field` in `org`. */
export function setFieldAccess(org: Org, sobject: string, field: string, access: FieldAccess): void {
  let map = restrictions.get(org);
  if (!map) {
    map = new Map();
    restrictions.set(org, map);
  }
  if (access === 'edit') map.delete(keyOf(sobject, field));
  else map.set(keyOf(sobject, field), access);
}

/** A describe body as the integration user sees it. */
export function applyFieldSecurity(org: Org, body: Record<string, unknown>): Record<string, unknown> {
  const map = restrictions.get(org);
  if (!map || map.size === 0 || !Array.isArray(body.fields)) return body;
  const sobject = String(body.name);
  const fields: Record<string, unknown>[] = [];
  for (const field of body.fields as Record<string, unknown>[]) {
    const access = map.get(keyOf(sobject, String(field.name)));
    if (access === 'hidden') continue;
    fields.push(access === 'read' ? { ...field, createable: false, updateable: false } : field);
  }
  return { ...body, fields };
}
