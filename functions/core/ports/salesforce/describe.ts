/**
 * The describe vocabulary of the SalesforceApi port: what the connector reads of an sObject's
 * describe, and the pure checks the core runs on it (External ID, dependent picklists). The client
 * (`functions/salesforce/describe.ts`) fetches and parses describes into these shapes.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
 * Upsert needs an External ID (idLookup) field:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 */

/** The describe facts the connector uses about one field. */
export interface FieldDescribe {
  readonly name: string;
  readonly label: string;
  readonly type: string;
  readonly length: number | undefined;
  readonly externalId: boolean;
  readonly unique: boolean;
  readonly idLookup: boolean;
  readonly caseSensitive: boolean;
  readonly nillable: boolean;
  readonly createable: boolean;
  readonly updateable: boolean;
  readonly referenceTo: readonly string[];
  readonly relationshipName: string | undefined;
  readonly picklistValues: readonly string[];
  /** Active picklist entries with their labels and, for a dependent picklist, the raw `validFor` bitmap. */
  readonly picklistEntries?: readonly PicklistEntry[];
  /** The controlling field of a dependent picklist (BillingStateCode → BillingCountryCode). */
  readonly controllerName?: string;
}

/** One active picklist value as describe reports it. */
export interface PicklistEntry {
  readonly value: string;
  readonly label: string;
  /** Base64 bitmap over the controlling field's values (bit i, most significant first, = value i). */
  readonly validFor?: string;
}

/**
 * The values of a dependent picklist valid for each value of its controller, from the `validFor`
 * bitmaps: controller value → dependent values.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_describesobjects_describesobjectresult.htm
 */
export function dependentValues(
  dependent: FieldDescribe,
  controller: FieldDescribe,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const controllers = controller.picklistEntries ?? [];
  for (const entry of dependent.picklistEntries ?? []) {
    if (!entry.validFor) continue;
    const bits = Buffer.from(entry.validFor, 'base64');
    controllers.forEach((c, i) => {
      if (((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) === 0) return;
      const set = out.get(c.value) ?? new Set<string>();
      set.add(entry.value);
      out.set(c.value, set);
    });
  }
  return out;
}

export interface SObjectDescribe {
  readonly name: string;
  readonly label: string;
  readonly keyPrefix: string | undefined;
  readonly fields: readonly FieldDescribe[];
  /** Looks a field up case-insensitively (field names are case-insensitive in Salesforce). */
  field(name: string): FieldDescribe | undefined;
}

/** What is wrong with an External ID field, if anything. */
export type ExternalIdCheck =
  | { readonly ok: true; readonly field: FieldDescribe }
  | {
      readonly ok: false;
      readonly problem: 'object-missing' | 'field-missing' | 'not-external-id' | 'not-unique';
      readonly message: string;
    };

/**
 * Checks that `sobject.field` exists, is an External ID and is unique (so an upsert can never
 * match two records and answer 300). Pure: takes a describe (or undefined for a missing object).
 */
export function checkExternalId(
  sobject: string,
  describe: SObjectDescribe | undefined,
  field: string,
): ExternalIdCheck {
  if (!describe) {
    return {
      ok: false,
      problem: 'object-missing',
      message: `${sobject} does not exist or is not visible to the integration user`,
    };
  }
  const found = describe.field(field);
  if (!found) {
    return {
      ok: false,
      problem: 'field-missing',
      message: `${sobject}.${field} does not exist or is not visible to the integration user (check field-level security)`,
    };
  }
  const name = `${describe.name}.${found.name}`;
  if (!found.externalId) {
    return {
      ok: false,
      problem: 'not-external-id',
      message: `${name} is not marked External ID; upsert cannot match on it`,
    };
  }
  if (!found.unique) {
    return {
      ok: false,
      problem: 'not-unique',
      message: `${name} is an External ID but not Unique; two records with one key would make upserts fail (300)`,
    };
  }
  return { ok: true, field: found };
}
