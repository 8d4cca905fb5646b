/**
 * F&O data events that reach the receiver through Dataverse. With the Power Platform integration
 * enabled, F&O's HTTPS endpoints are synced to Dataverse as webhooks and events are "proxied
 * through Dataverse"; a webhook body is the JSON of a `RemoteExecutionContext`, the record under
 * `InputParameters` → `Target` (an Entity whose `Attributes` are a `[{ key, value }]` list) and
 * `PreImage`; `PreEntityImages` / `PostEntityImages` are `[{ key, value: Entity }]` lists.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/managing-business-event-endpoints
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/data-events
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/use-webhooks
 * https://learn.microsoft.com/en-us/dotnet/api/microsoft.xrm.sdk.remoteexecutioncontext
 *
 * UNCONFIRMED: the virtual table and attribute names of F&O records (configured, with defaults,
 * under `businessEvents.dataEvents`), whether a Target always carries the key attributes (an
 * update's Target may hold only changed columns, so the images are searched too), and how a
 * business event (not a data event) looks when proxied. Everything here is read defensively: an
 * unexpected shape is never an error, only an event the receiver cannot map (2xx, ignored).
 */

/** What the receiver needs from one RemoteExecutionContext body. */
export interface DataEventBody {
  /** `PrimaryEntityName` (or the Target's `LogicalName`), lower case; undefined when absent. */
  readonly logicalName: string | undefined;
  /** e.g. `OnExternalUpdated`. */
  readonly messageName: string;
  /** `OperationId` when it is a GUID: the same event delivered twice carries the same one. */
  readonly operationId: string | undefined;
  /** An attribute's value from Target, then PreImage, then the pre/post images; undefined when none has it. */
  attribute(name: string): unknown;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Json = Readonly<Record<string, unknown>>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a parsed body is a RemoteExecutionContext rather than a business-event envelope. */
export function isRemoteExecutionContext(value: unknown): value is Json {
  if (!isObject(value) || 'BusinessEventId' in value) return false;
  return (
    typeof value.MessageName === 'string' &&
    ('InputParameters' in value || 'PrimaryEntityName' in value || 'OperationId' in value)
  );
}

/** A DataContract key/value collection (`[{ key, value }]`), or a plain object, as entries. */
function entries(collection: unknown): [string, unknown][] {
  if (Array.isArray(collection)) {
    const out: [string, unknown][] = [];
    for (const item of collection) {
      if (isObject(item) && typeof item.key === 'string') out.push([item.key, item.value]);
    }
    return out;
  }
  return isObject(collection) ? Object.entries(collection) : [];
}

function attributesOf(entity: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!isObject(entity)) return map;
  for (const [key, value] of entries(entity.Attributes)) {
    const name = key.toLowerCase();
    if (!map.has(name)) map.set(name, value);
  }
  return map;
}

/** Reads a RemoteExecutionContext (see {@link isRemoteExecutionContext}); never throws. */
export function readRemoteExecutionContext(body: Json): DataEventBody {
  const inputs = new Map(entries(body.InputParameters).map(([k, v]) => [k.toLowerCase(), v]));
  const target = inputs.get('target');
  const sources = [
    attributesOf(target),
    attributesOf(inputs.get('preimage')),
    ...entries(body.PreEntityImages).map(([, image]) => attributesOf(image)),
    ...entries(body.PostEntityImages).map(([, image]) => attributesOf(image)),
  ];
  const primary = typeof body.PrimaryEntityName === 'string' ? body.PrimaryEntityName : undefined;
  const targetName =
    isObject(target) && typeof target.LogicalName === 'string' ? target.LogicalName : undefined;
  const operationId =
    typeof body.OperationId === 'string' && GUID.test(body.OperationId) ? body.OperationId : undefined;
  return {
    logicalName: (primary ?? targetName)?.toLowerCase(),
    messageName: String(body.MessageName),
    operationId: operationId?.toLowerCase(),
    attribute(name) {
      const key = name.toLowerCase();
      for (const source of sources) if (source.has(key)) return source.get(key);
      return undefined;
    },
  };
}

/** A name safe to put in an audit key or reason (logical names are lower-case identifiers). */
export function safeName(value: string | undefined): string {
  return value && /^[A-Za-z0-9_]{1,100}$/.test(value) ? value : 'unknown';
}
