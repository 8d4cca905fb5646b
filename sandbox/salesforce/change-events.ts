/**
 * Change events the REST sandbox does not produce on its own: one event for several records
 * changed alike (`recordIds` holds several ids) and, as for some bulk changes, a wildcard id (the
 * object's key prefix and `*`, e.g. `001*`), optionally committed by the integration user with no
 * `client=` in `changeOrigin` (as a Bulk API 2.0 write may be). A control-surface helper; the
 * records must exist and, for several ids, hold the same values in the changed fields.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 * UNCONFIRMED: what body fields a wildcard event carries; the sandbox sends none (header only),
 * which is the stricter case for a consumer.
 */
import type { ChangeFeed, ChangeType } from './change-feed.ts';
import type { Org } from './org.ts';
import { eventFieldName, type Row } from './store.ts';

/** Input of {@link publishChangeEvent}. */
export interface ChangeEventInput {
  readonly entityName: string;
  readonly changeType: Extract<ChangeType, 'CREATE' | 'UPDATE' | 'UNDELETE'>;
  /** Several record ids of `entityName`, or exactly one wildcard such as `001*`. */
  readonly recordIds: readonly string[];
  /** UPDATE: the field API names that changed (flat names, e.g. `StageName`, `BillingCity`). */
  readonly changedFields?: readonly string[];
  /** Who committed: a sales rep in the UI (default) or the connector's integration user without `client=`. */
  readonly commitUser?: 'sales-rep' | 'integration';
}

/** Refusals name what is wrong; the caller maps them to its own error type. */
export type ChangeEventRefusal = (message: string) => Error;

const NOT_IN_EVENTS = new Set(['Id', 'IsDeleted', 'SystemModstamp']);

/** Validates the input against the org and publishes one change event on the feed. */
export function publishChangeEvent(
  deps: { readonly org: Org; readonly feed: ChangeFeed; readonly now: () => number },
  input: ChangeEventInput,
  refuse: ChangeEventRefusal,
): void {
  const table = deps.org.store.table(String(input.entityName));
  if (!table) throw refuse(`unknown object type '${String(input.entityName)}'`);
  if (!table.def.cdc) throw refuse(`${table.def.name} is not enabled for Change Data Capture`);
  if (!['CREATE', 'UPDATE', 'UNDELETE'].includes(input.changeType))
    throw refuse('changeType must be CREATE, UPDATE or UNDELETE');
  const ids = input.recordIds;
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string'))
    throw refuse('recordIds must be a non-empty array of ids');
  const wildcard = ids.length === 1 && ids[0]?.endsWith('*');
  const changed = input.changedFields ?? [];
  if (input.changeType === 'UPDATE' && changed.length === 0)
    throw refuse('an UPDATE event needs changedFields');
  const fieldDefs = changed.map((name) => {
    const field = table.fields.get(String(name).toLowerCase());
    if (!field || NOT_IN_EVENTS.has(field.name) || field.type === 'address')
      throw refuse(`${table.def.name} has no field '${String(name)}' that change events carry`);
    return field;
  });

  const values: Record<string, unknown> = {};
  const nulledFields: string[] = [];
  if (wildcard) {
    if (ids[0] !== `${table.def.keyPrefix}*`)
      throw refuse(`a wildcard id for ${table.def.name} is '${table.def.keyPrefix}*'`);
  } else {
    const rows: Row[] = ids.map((id) => {
      const row = deps.org.store.get(table.def.name, id);
      if (!row) throw refuse(`no ${table.def.name} with id '${id}'`);
      return row;
    });
    if (new Set(rows.map((r) => r.Id)).size !== rows.length) throw refuse('recordIds repeat a record');
    // One event covers several records only when they were changed alike.
    for (const field of fieldDefs) {
      const value = rows[0]?.[field.name] ?? null;
      if (rows.some((r) => (r[field.name] ?? null) !== value))
        throw refuse(`the records differ in ${field.name}: they were not changed alike`);
      if (value === null) nulledFields.push(eventFieldName(field));
      else values[field.name] = value;
    }
  }

  const integration = input.commitUser === 'integration';
  deps.feed.publish({
    entityName: table.def.name,
    changeType: input.changeType,
    recordIds: wildcard
      ? [ids[0] as string]
      : ids.map((id) => String(deps.org.store.get(table.def.name, id)?.Id)),
    changedFields: input.changeType === 'UPDATE' ? fieldDefs.map(eventFieldName) : [],
    nulledFields,
    diffFields: [],
    values,
    // UNCONFIRMED: the changeOrigin of a Bulk API 2.0 write; the sandbox sends none at all.
    changeOrigin: '',
    transactionKey: deps.org.store.transactionKey(),
    sequenceNumber: 1,
    commitTimestamp: deps.now(),
    commitNumber: deps.org.store.nextCommitNumber(),
    commitUser: integration ? deps.org.integrationUserId : deps.org.salesRepUserId,
  });
}
