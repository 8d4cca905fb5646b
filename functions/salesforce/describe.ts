/**
 * sObject describe and the External ID check the connector runs before upserting:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm
 * Upsert needs an External ID (idLookup) field:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_upsert.htm
 */
import { ConnectorError } from '#base/errors.ts';
import type { FieldDescribe, SObjectDescribe } from '#core/ports/salesforce/describe.ts';
import { soqlIdent } from '#core/ports/salesforce/soql.ts';
import type { SalesforceTransport } from './transport.ts';

/** The describe vocabulary of the SalesforceApi port, re-exported for the client's callers. */
export {
  checkExternalId,
  dependentValues,
  type ExternalIdCheck,
  type FieldDescribe,
  type PicklistEntry,
  type SObjectDescribe,
} from '#core/ports/salesforce/describe.ts';

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
