/**
 * Fits mapped values to the org's field lengths (describe `length`) before they are sent, so a long
 * value is never refused in a batch or lost without a word. Salesforce refuses a text value longer
 * than its field with STRING_TOO_LONG ("<label>: data value too large: … (max length=N)"):
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm
 *
 * Per field kind:
 * - free text a person reads (string and textarea fields: Name, Description, street, city) is
 *   truncated to the field's length, with a note in the audit trail: a shortened name still
 *   identifies the record for a rep, and the full value stays in Dynamics;
 * - values whose meaning a cut would change (External IDs and unique fields, phone, URL, email,
 *   picklists, postal codes) park the record with STRING_TOO_LONG named: a cut key would match
 *   another record, a cut phone number dials someone else.
 */
import type { SalesforceOrgShape } from '#core/engine/org-shape.ts';
import { ParkedError } from './legal-entity.ts';

const TRUNCATABLE_TYPES = new Set(['string', 'textarea']);

/**
 * Returns `fields` with over-long free text truncated (a note per field in `notes`); throws
 * ParkedError for the rest. `policies` (lower-case field name → truncate | park, a mapping's
 * `tooLong`) overrides the choice by field kind.
 */
export function fitToOrg(
  sobject: string,
  fields: Readonly<Record<string, unknown>>,
  org: SalesforceOrgShape,
  notes: string[],
  policies: ReadonlyMap<string, 'truncate' | 'park'> = new Map(),
): Record<string, unknown> {
  const described = org.fields.get(sobject.toLowerCase());
  if (!described || described.size === 0) return { ...fields };
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    out[name] = value;
    const facts = described.get(name.toLowerCase());
    if (typeof value !== 'string' || !facts?.length || value.length <= facts.length) continue;
    const policy = policies.get(name.toLowerCase());
    const truncatable =
      policy !== undefined
        ? policy === 'truncate' && !facts.externalId
        : TRUNCATABLE_TYPES.has(facts.type) && !facts.externalId && !/PostalCode$/i.test(facts.name);
    if (!truncatable) {
      throw new ParkedError(
        'STRING_TOO_LONG',
        `STRING_TOO_LONG: ${sobject}.${facts.name} holds ${facts.length} characters and the value has ${value.length}; shorten it in Dynamics (or lengthen the field in Salesforce${policy === 'park' ? ', or set tooLong: truncate in its mapping' : ''}), then replay`,
      );
    }
    out[name] = cut(value, facts.length);
    notes.push(
      `${sobject}.${facts.name} truncated from ${value.length} to ${facts.length} characters (the Salesforce field's length)`,
    );
  }
  return out;
}

/** The first `length` UTF-16 units, without splitting a surrogate pair. */
function cut(value: string, length: number): string {
  const head = value.slice(0, length);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}
