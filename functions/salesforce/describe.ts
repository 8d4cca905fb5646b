/**
 * sObject describe and the External ID check the connector runs before upserting:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
 * Upsert needs an External ID (idLookup) field:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 */
import { ConnectorError } from '#base/errors.ts';
import { soqlIdent } from '#core/ports/salesforce/soql.ts';
import type { SalesforceTransport } from './transport.ts';

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

type RawField = Record<string, unknown>;

const bool = (v: unknown) => v === true;
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function toField(raw: RawField): FieldDescribe {
  const picklist = Array.isArray(raw.picklistValues)
    ? (raw.picklistValues as { value?: unknown; active?: unknown }[])
    : [];
  return {
    name: str(raw.name) ?? '',
    label: str(raw.label) ?? '',
    type: str(raw.type) ?? 'unknown',
    length: typeof raw.length === 'number' ? raw.length : undefined,
    externalId: bool(raw.externalId),
    unique: bool(raw.unique),
    idLookup: bool(raw.idLookup),
    caseSensitive: bool(raw.caseSensitive),
    nillable: bool(raw.nillable),
    createable: bool(raw.createable),
    updateable: bool(raw.updateable),
    referenceTo: Array.isArray(raw.referenceTo)
      ? raw.referenceTo.filter((r): r is string => typeof r === 'string')
      : [],
    relationshipName: str(raw.relationshipName),
    picklistValues: picklist.filter((p) => p.active !== false).map((p) => String(p.value)),
    picklistEntries: picklist
      .filter((p) => p.active !== false)
      .map((p) => {
        const validFor = str((p as { validFor?: unknown }).validFor);
        return {
          value: String(p.value),
          label: str((p as { label?: unknown }).label) ?? String(p.value),
          ...(validFor ? { validFor } : {}),
        };
      }),
    ...(str(raw.controllerName) ? { controllerName: str(raw.controllerName) as string } : {}),
  };
}

/** Parses a describe body into {@link SObjectDescribe}. */
export function parseDescribe(body: unknown): SObjectDescribe {
  const raw = body as { name?: unknown; label?: unknown; keyPrefix?: unknown; fields?: unknown };
  if (!raw || typeof raw !== 'object' || !Array.isArray(raw.fields)) {
    throw new ConnectorError('rest.describe: the answer has no fields', { code: 'BAD_RESPONSE' });
  }
  const fields = (raw.fields as RawField[]).map(toField);
  const byName = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  return {
    name: str(raw.name) ?? '',
    label: str(raw.label) ?? '',
    keyPrefix: str(raw.keyPrefix),
    fields,
    field: (name) => byName.get(name.toLowerCase()),
  };
}

/** `GET /sobjects/{SObject}/describe`; undefined when the object does not exist (404). */
export async function describeSObject(
  rest: SalesforceTransport,
  sobject: string,
  options: { signal?: AbortSignal } = {},
): Promise<SObjectDescribe | undefined> {
  soqlIdent(sobject);
  const response = await rest.send({
    method: 'GET',
    path: `/sobjects/${sobject}/describe`,
    operation: 'rest.describe',
    accept: [404],
    signal: options.signal,
  });
  return response.status === 404 ? undefined : parseDescribe(response.json<unknown>());
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
