/**
 * Change Data Capture decoding: a decoded Pub/Sub event becomes a `ChangeEvent` with its header's
 * bitmaps expanded to field names, GAP and overflow events flagged, and the writer's client id
 * parsed out of `changeOrigin` (so the connector can drop the echoes of its own writes).
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 */
import type avro from 'avsc';
import type { ChangeBatch, ChangeEvent, ChangeType } from '#core/ports/change-stream.ts';
import { type BitmapField, bitmapFieldsOf, decodeFieldBitmaps } from './bitmap.ts';
import { ChangeEventFormatError } from './errors.ts';
import type { PubSubBatch, PubSubEvent } from './subscriber.ts';

export type { ChangeEvent, ChangeType };

/** Parses `client=<id>` out of a changeOrigin such as `com/salesforce/api/rest/63.0;client=ml-connector`. */
export function parseChangeOriginClient(changeOrigin: string): string | undefined {
  for (const part of changeOrigin.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith('client=')) return trimmed.slice('client='.length) || undefined;
  }
  return undefined;
}

/** The flat component name of a compound's child: BillingAddress.City → BillingCity; Loc__c.City → Loc__City__s. */
export function flatComponentName(compound: string, child: string): string {
  if (compound.endsWith('__c')) return `${compound.slice(0, -3)}__${child}__s`;
  if (compound.endsWith('Address')) return compound.slice(0, -'Address'.length) + child;
  return compound + child;
}

const layouts = new WeakMap<avro.Type, BitmapField[]>();

function layoutOf(type: avro.Type): BitmapField[] {
  let layout = layouts.get(type);
  if (!layout) {
    layout = bitmapFieldsOf(type);
    layouts.set(type, layout);
  }
  return layout;
}

interface RawHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: bigint;
  commitNumber: bigint;
  commitUser: string;
  nulledFields: string[];
  diffFields: string[];
  changedFields: string[];
}

function bodyFields(
  payload: Record<string, unknown>,
  layout: readonly BitmapField[],
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const field of layout) {
    if (field.name === 'ChangeEventHeader') continue;
    const value = payload[field.name];
    if (value === null || value === undefined) continue;
    if (!field.children) {
      fields[field.name] = value;
      continue;
    }
    const nested: Record<string, unknown> = {};
    for (const child of field.children) {
      const childValue = (value as Record<string, unknown>)[child];
      if (childValue === null || childValue === undefined) continue;
      nested[child] = childValue;
      fields[flatComponentName(field.name, child)] = childValue;
    }
    fields[field.name] = nested;
  }
  return fields;
}

/** Decodes a CDC event delivered by the subscriber. Throws a ChangeEventFormatError when it has no ChangeEventHeader. */
export function toChangeEvent(event: PubSubEvent): ChangeEvent {
  const payload = event.payload;
  const header = payload.ChangeEventHeader as RawHeader | undefined;
  if (!header) {
    throw new ChangeEventFormatError(`event ${event.eventId} is not a change event (no ChangeEventHeader)`, {
      eventId: event.eventId,
    });
  }
  const layout = layoutOf(event.schema);
  const changeType = header.changeType;
  return {
    replayId: event.replayId,
    eventId: event.eventId,
    schemaId: event.schemaId,
    entityName: header.entityName,
    changeType,
    recordIds: header.recordIds,
    changedFields: decodeFieldBitmaps(header.changedFields, layout),
    nulledFields: decodeFieldBitmaps(header.nulledFields, layout),
    diffFields: decodeFieldBitmaps(header.diffFields, layout),
    changeOrigin: header.changeOrigin,
    clientId: parseChangeOriginClient(header.changeOrigin),
    transactionKey: header.transactionKey,
    sequenceNumber: header.sequenceNumber,
    commitTimestamp: header.commitTimestamp,
    commitNumber: header.commitNumber,
    commitUser: header.commitUser,
    fields: bodyFields(payload, layout),
    isGap: changeType.startsWith('GAP_'),
    isOverflow: changeType === 'GAP_OVERFLOW',
  };
}

/** The ChangeStream port's batch: every event of a delivered batch decoded by {@link toChangeEvent}. */
export function toChangeBatch(batch: PubSubBatch): ChangeBatch {
  return { topic: batch.topic, events: batch.events.map(toChangeEvent) };
}
