/**
 * Data events as they reach an HTTPS endpoint when F&O's Power Platform integration is enabled:
 * the endpoint is synced to Dataverse as a webhook, and each event arrives as the JSON of a
 * Dataverse `RemoteExecutionContext` (one per POST), the entity record under
 * `InputParameters` → `Target` (and `PreImage`), as `{ key, value }` lists.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/data-events
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/managing-business-event-endpoints
 * https://learn.microsoft.com/en-us/power-apps/developer/data-platform/use-webhooks (body and headers)
 * https://learn.microsoft.com/en-us/dotnet/api/microsoft.xrm.sdk.remoteexecutioncontext
 *
 * UNCONFIRMED (no primary source shows a captured F&O data event):
 * - the virtual table's logical name (`mserp_` + the data entity's AOT name in lower case, e.g.
 *   `mserp_custcustomerv3entity`, as Learn names the "Customers V3 (mserp)" table and its id
 *   column `mserp_custcustomerv3entityid`) and its attribute names (`mserp_` + the field name in
 *   lower case, e.g. `mserp_customeraccount`, `mserp_dataareaid`);
 * - the message names `OnExternalCreated|Updated|Deleted` (the Dataverse messages of virtual
 *   entity events), and a Target that is a full Entity on delete too;
 * - which attributes a real Target carries ("the payload of the event contains the corresponding
 *   entity record"): the sandbox sends only the record id and the key attributes, the stricter
 *   case for a receiver; its PreImage (updates and deletes) likewise holds only keys, which
 *   cannot change.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Rec } from './data.ts';
import type { Change } from './writes.ts';

const ENTITY_TYPE = 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts';

/** The serialized RemoteExecutionContext of one data event. */
export type RemoteExecutionContext = Record<string, unknown> & {
  readonly MessageName: string;
  readonly OperationId: string;
  readonly PrimaryEntityName: string;
  readonly CorrelationId: string;
};

/**
 * The entity sets that raise data events here: their data entity (AOT) name, from which the
 * virtual table is named, and their keys (fo-entities.json). Only CustCustomerV3Entity is named
 * on Learn; the others are the entities' usual AOT names (UNCONFIRMED).
 */
const DATA_EVENT_ENTITIES: Readonly<
  Record<string, { readonly aotName: string; readonly keys: readonly string[] }>
> = {
  CustomersV3: { aotName: 'CustCustomerV3Entity', keys: ['dataAreaId', 'CustomerAccount'] },
  ReleasedProductsV2: { aotName: 'EcoResReleasedProductV2Entity', keys: ['dataAreaId', 'ItemNumber'] },
  SalesOrderHeadersV2: { aotName: 'SalesOrderHeaderV2Entity', keys: ['dataAreaId', 'SalesOrderNumber'] },
  SalesOrderLines: { aotName: 'SalesOrderLineV2Entity', keys: ['dataAreaId', 'InventoryLotId'] },
};

/** The Dataverse virtual table of an entity set (see UNCONFIRMED above), or undefined when it raises no data events here. */
export function virtualTableName(entitySet: string): string | undefined {
  const def = DATA_EVENT_ENTITIES[entitySet];
  return def ? `mserp_${def.aotName.toLowerCase()}` : undefined;
}

/** The attribute name of an entity field on its virtual table (see UNCONFIRMED above). */
export function virtualAttributeName(field: string): string {
  return `mserp_${field.toLowerCase()}`;
}

/** A stable GUID from text (the virtual record's id must not change between events). */
function guidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const MESSAGES = {
  created: 'OnExternalCreated',
  updated: 'OnExternalUpdated',
  deleted: 'OnExternalDeleted',
} as const;

/** Identities of the sending Dataverse environment (stable per sandbox). */
export interface DataverseIdentity {
  readonly organizationId: string;
  readonly organizationName: string;
  readonly businessUnitId: string;
  readonly userId: string;
}

export function dataverseIdentity(seed: number): DataverseIdentity {
  return {
    organizationId: guidOf(`organization:${seed}`),
    organizationName: 'mlsandbox',
    businessUnitId: guidOf(`businessunit:${seed}`),
    userId: guidOf(`user:${seed}`),
  };
}

function entity(logicalName: string, id: string, attributes: readonly (readonly [string, unknown])[]) {
  return {
    __type: ENTITY_TYPE,
    Attributes: attributes.map(([key, value]) => ({ key, value })),
    EntityState: null,
    FormattedValues: [],
    Id: id,
    KeyAttributes: [],
    LogicalName: logicalName,
    RelatedEntities: [],
    RowVersion: null,
  };
}

/** The data event of one change, or undefined for an entity set without a virtual table here. */
export function dataEventOf(
  change: Change,
  identity: DataverseIdentity,
  now: number,
): RemoteExecutionContext | undefined {
  const def = DATA_EVENT_ENTITIES[change.entitySet];
  const logicalName = virtualTableName(change.entitySet);
  if (!def || !logicalName) return undefined;
  const rec: Rec = change.rec;
  const keyValues = def.keys.map((k) => [k, rec[k]] as const);
  const id = guidOf(`${change.entitySet}:${JSON.stringify(keyValues)}`);
  const keyAttributes = [
    [`${logicalName}id`, id] as const,
    ...keyValues.map(([k, v]) => [virtualAttributeName(k), v ?? null] as const),
  ];
  const inputs: { key: string; value: unknown }[] = [
    { key: 'Target', value: entity(logicalName, id, keyAttributes) },
  ];
  if (change.kind !== 'created')
    inputs.push({ key: 'PreImage', value: entity(logicalName, id, keyAttributes) });
  const operationId = randomUUID();
  return {
    BusinessUnitId: identity.businessUnitId,
    CorrelationId: randomUUID(),
    Depth: 1,
    InitiatingUserId: identity.userId,
    InputParameters: inputs,
    IsExecutingOffline: false,
    IsInTransaction: false,
    IsOfflinePlayback: false,
    IsolationMode: 1,
    MessageName: MESSAGES[change.kind],
    Mode: 1,
    OperationCreatedOn: `/Date(${now})/`,
    OperationId: operationId,
    OrganizationId: identity.organizationId,
    OrganizationName: identity.organizationName,
    OutputParameters: [],
    OwningExtension: {
      Id: guidOf(`step:${logicalName}:${change.kind}`),
      KeyAttributes: [],
      LogicalName: 'sdkmessageprocessingstep',
      Name: null,
      RowVersion: null,
    },
    ParentContext: null,
    PostEntityImages: [],
    PreEntityImages: [],
    PrimaryEntityId: id,
    PrimaryEntityName: logicalName,
    RequestId: null,
    SecondaryEntityName: 'none',
    SharedVariables: [],
    Stage: 40,
    UserId: identity.userId,
  };
}

/**
 * The headers Dataverse adds to a webhook request (documented on the webhooks page). F&O's own
 * HTTPS endpoint adds none; only the Dataverse-proxied delivery carries these, and no secret.
 */
export function dataverseHeaders(event: RemoteExecutionContext, identity: DataverseIdentity) {
  return {
    'x-ms-dynamics-organization': `${identity.organizationName}.crm.dynamics.com`,
    'x-ms-dynamics-entity-name': event.PrimaryEntityName,
    'x-ms-dynamics-request-name': event.MessageName,
    'x-ms-correlation-request-id': event.CorrelationId,
  };
}
