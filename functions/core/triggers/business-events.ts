/**
 * The Dynamics business-event receiver, as a function of an HTTP request so the local runner and
 * the Lambda behind API Gateway call the same code: authenticate the caller, validate the body,
 * map it by configuration, dedup, enqueue a stub. Business events are notifications, not data:
 * the worker reads the record over OData.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/home-page
 *
 * - Authentication: F&O's HTTPS endpoint POSTs to the complete URL held in an Azure Key Vault
 *   secret and adds no headers, so the secret is `?code=` in that URL. The
 *   `X-ML-Connector-Secret` header is accepted as well, for senders that can set headers (curl,
 *   a proxy): it keeps the secret out of URLs. F&O never uses it.
 * - The plain envelope (one event per POST; an array of envelopes is accepted too): mapped by
 *   `businessEvents.events`, dedup on (legal entity, ControlNumber). A malformed envelope is a 400.
 * - A Dataverse RemoteExecutionContext (data events with the Power Platform integration): mapped
 *   by `businessEvents.dataEvents` from the virtual table's name and its Target attributes, dedup
 *   on OperationId (remote-execution-context.ts). Whatever cannot be mapped is answered 202 and
 *   ignored, with an audit note and the `onIgnored` hook (a metric in the AWS shape), never a 4xx
 *   that the sender would retry and park forever.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { flowOfEntity } from '#core/engine/wiring.ts';
import { recordKey } from '#core/mapping/keys.ts';
import { orderEventsOf } from '#core/mapping/order-status.ts';
import type { ReceiverSecrets } from '#core/ports/secrets.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import { type DynamicsStub, type OrderStatusStub, QUEUES } from '#core/work/items.ts';
import {
  type DataEventBody,
  isRemoteExecutionContext,
  readRemoteExecutionContext,
  safeName,
} from './remote-execution-context.ts';

export interface ReceiverRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Query-string parameters (the secret may be carried as `code`). */
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | Uint8Array;
}

export interface ReceiverResponse {
  readonly status: number;
  readonly body: {
    readonly status: string;
    readonly reason?: string;
    readonly results?: readonly EventResult[];
  };
}

export interface EventResult {
  readonly eventId?: string;
  readonly outcome: 'enqueued' | 'duplicate' | 'ignored';
  readonly reason?: string;
}

/** The receiver's secrets (declared by the Secrets port), re-exported for the receiver's callers. */
export type { ReceiverSecrets };

/** The two body shapes the receiver understands. */
export type EventShape = 'envelope' | 'remote-execution-context';

/** An event the receiver answered 2xx but did not enqueue (no mapping, legal entity not synced, …). */
export interface IgnoredEvent {
  readonly shape: EventShape;
  readonly reason: string;
}

export interface BusinessEventReceiverDeps {
  readonly config: ConnectorConfig;
  readonly state: StateStore;
  readonly queue: WorkQueue;
  readonly secrets: () => Promise<ReceiverSecrets>;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Called for every ignored event (after its audit note): the AWS shape counts a metric. */
  readonly onIgnored?: (event: IgnoredEvent) => void;
}

/**
 * A header that may carry the shared secret for senders that can set headers. F&O cannot: its
 * HTTPS endpoint sends the secret as `?code=` in the URL it reads from Key Vault.
 */
export const SECRET_HEADER = 'x-ml-connector-secret';
/** At most this many events in one request (an array body). */
export const MAX_EVENTS_PER_REQUEST = 100;

const KEY_VALUE = /^[^\p{Cc}]{1,128}$/u;

/** An event the receiver refuses (400): the message says which field is wrong. */
class BadEvent extends ConnectorError {
  override name = 'BadEvent';

  constructor(message: string) {
    super(message, { code: 'BAD_EVENT', failure: 'permanent' });
  }
}

/** A configured mapping by a name from the request: own keys only (`constructor` is not a mapping). */
function own<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}

/**
 * Content types a JSON body may come with. UNCONFIRMED: the Content-Type F&O's HTTPS endpoint and
 * Dataverse's webhooks send; anything JSON-like or plain text is read, the body must parse as JSON.
 */
const JSON_LIKE = /^(application\/([\w.+-]+\+)?json|text\/(plain|json))\b/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Compares in constant time (over fixed-length digests, so length leaks nothing either). */
export function secretMatches(presented: string, secrets: ReceiverSecrets): boolean {
  const given = digest(presented);
  let ok = false;
  for (const candidate of [secrets.current, secrets.previous]) {
    // Both comparisons always run: no early exit on the first match.
    if (candidate && timingSafeEqual(given, digest(candidate))) ok = true;
  }
  return ok;
}

function header(headers: ReceiverRequest['headers'], name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses JSON keeping ControlNumber's exact digits (it is an int64 in F&O) as a BigInt. */
function parseBody(text: string): unknown {
  return JSON.parse(
    text,
    function reviver(this: unknown, key: string, value: unknown, context?: { source?: string }) {
      const digits = context?.source;
      if (key === 'ControlNumber' && typeof value === 'number' && digits && /^\d{1,20}$/.test(digits)) {
        return BigInt(digits);
      }
      return value;
    },
  );
}

/** One event of a request, mapped (stub) or not (reason), before anything is enqueued. */
interface Planned {
  readonly shape: EventShape;
  readonly eventId: string | undefined;
  /** Where an ignored event's audit note goes. */
  readonly auditKey: string;
  readonly dedupKey?: string;
  readonly stub?: DynamicsStub | OrderStatusStub;
  readonly reason?: string;
}

interface Envelope {
  readonly businessEventId: string;
  readonly legalEntity: string;
  readonly controlNumber: string;
  readonly eventId: string;
  readonly raw: Readonly<Record<string, unknown>>;
}

function requireString(obj: Record<string, unknown>, field: string): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.length === 0)
    throw new BadEvent(`${field} must be a non-empty string`);
  return value;
}

function readEnvelope(value: unknown, index: number): Envelope {
  const where = index >= 0 ? `event ${index}: ` : '';
  try {
    if (!value || typeof value !== 'object' || Array.isArray(value))
      throw new BadEvent('an event must be a JSON object');
    const obj = value as Record<string, unknown>;
    const businessEventId = requireString(obj, 'BusinessEventId');
    const legalEntity = requireString(obj, 'BusinessEventLegalEntity').toLowerCase();
    const control = obj.ControlNumber;
    if (typeof control !== 'bigint') throw new BadEvent('ControlNumber must be a non-negative JSON integer');
    const controlNumber = control.toString();
    const eventId = requireString(obj, 'EventId');
    if (!/^[0-9a-f-]{36}$/i.test(eventId)) throw new BadEvent('EventId must be a GUID');
    return { businessEventId, legalEntity, controlNumber, eventId, raw: obj };
  } catch (error) {
    if (error instanceof BadEvent) throw new BadEvent(`${where}${error.message}`);
    throw error;
  }
}

/** Builds the receiver. Returns a function of one request; it never throws for bad input. */
export function createBusinessEventReceiver(deps: BusinessEventReceiverDeps) {
  const now = deps.now ?? Date.now;
  const { config } = deps;
  const synced = new Set(config.legalEntities);
  const orderEvents = orderEventsOf(config);
  const stubOf = (entity: DynamicsStub['entity'], key: Record<string, string>, source: string | undefined) =>
    ({
      kind: 'dynamics-stub',
      entity,
      key,
      trigger: 'business-event',
      observedAt: now(),
      ...(source ? { source } : {}),
    }) satisfies DynamicsStub;

  /** An envelope: ignored when unmapped or its company is not synced; throws BadEvent on a bad key value. */
  function planEnvelope(envelope: Envelope, index: number): Planned {
    const base = {
      shape: 'envelope',
      eventId: envelope.eventId,
      auditKey: recordKey('dynamics', 'BusinessEvent', envelope.legalEntity, envelope.controlNumber),
      dedupKey: `be:${envelope.legalEntity}:${envelope.controlNumber}`,
    } as const;
    const mapping = own(config.businessEvents.events, envelope.businessEventId);
    const orderEvent = mapping ? undefined : own(orderEvents, envelope.businessEventId);
    if (orderEvent && config.orderStatus.enabled)
      return planOrderEvent(envelope, base, orderEvent.salesOrderField);
    if (!mapping) return { ...base, reason: `no mapping for BusinessEventId ${envelope.businessEventId}` };
    if (!synced.has(envelope.legalEntity))
      return { ...base, reason: `legal entity ${envelope.legalEntity} is not synced` };
    const key: Record<string, string> = { dataAreaId: envelope.legalEntity };
    for (const [field, payloadField] of Object.entries(mapping.keyFields)) {
      const value = envelope.raw[payloadField];
      if (typeof value !== 'string' || !KEY_VALUE.test(value)) {
        const where = index >= 0 ? `event ${index}: ` : '';
        throw new BadEvent(
          `${where}${payloadField} must be a string of 1-128 characters without control characters`,
        );
      }
      key[field] = value;
    }
    return { ...base, stub: stubOf(mapping.entity, key, envelope.eventId) };
  }

  /**
   * A sales order document event (confirmation, packing slip, invoice): an order-status stub for
   * the sales order number in `field`. A payload without it is ignored, not refused: the payload
   * of some of these events is UNCONFIRMED, and the order-status poll still covers the order.
   */
  function planOrderEvent(
    envelope: Envelope,
    base: Omit<Planned, 'stub' | 'reason'>,
    field: string,
  ): Planned {
    if (!synced.has(envelope.legalEntity))
      return { ...base, reason: `legal entity ${envelope.legalEntity} is not synced` };
    const value = envelope.raw[field];
    if (typeof value !== 'string' || !KEY_VALUE.test(value))
      return {
        ...base,
        reason: `${safeName(envelope.businessEventId)}: no sales order number in ${safeName(field)}`,
      };
    const stub: OrderStatusStub = {
      kind: 'order-status',
      dataAreaId: envelope.legalEntity,
      salesOrderNumber: value,
      trigger: 'business-event',
      observedAt: now(),
      source: envelope.eventId,
    };
    return { ...base, stub };
  }

  /** A RemoteExecutionContext: a stub when its table is mapped and its keys are there, otherwise ignored (never 4xx). */
  function planDataEvent(body: DataEventBody): Planned {
    const table = safeName(body.logicalName);
    const base = {
      shape: 'remote-execution-context',
      eventId: body.operationId,
      auditKey: recordKey('dynamics', 'DataEvent', table, body.operationId ?? 'unknown'),
      ...(body.operationId ? { dedupKey: `dv:${body.operationId}` } : {}),
    } as const;
    const mapping = body.logicalName ? own(config.businessEvents.dataEvents, body.logicalName) : undefined;
    if (!mapping) return { ...base, reason: `no data event mapping for ${table}` };
    const text = (attribute: string): string | undefined => {
      const value = body.attribute(attribute);
      return typeof value === 'string' && KEY_VALUE.test(value) ? value : undefined;
    };
    const legalEntity = text(mapping.legalEntityAttribute)?.toLowerCase();
    if (!legalEntity)
      return {
        ...base,
        reason: `${table}: no ${safeName(mapping.legalEntityAttribute)} in Target or the images`,
      };
    if (!synced.has(legalEntity))
      return { ...base, reason: `legal entity ${safeName(legalEntity)} is not synced` };
    const key: Record<string, string> = { dataAreaId: legalEntity };
    for (const [field, attribute] of Object.entries(mapping.keyAttributes)) {
      const value = text(attribute);
      if (value === undefined)
        return { ...base, reason: `${table}: no ${safeName(attribute)} in Target or the images` };
      key[field] = value;
    }
    return { ...base, stub: stubOf(mapping.entity, key, body.operationId) };
  }

  return async function receive(request: ReceiverRequest): Promise<ReceiverResponse> {
    if (request.method !== 'POST') return { status: 405, body: { status: 'rejected', reason: 'use POST' } };
    const presented = header(request.headers, SECRET_HEADER) ?? request.query.code;
    if (!presented || !secretMatches(presented, await deps.secrets())) {
      deps.logger.warn('business-event.unauthorized', {});
      return { status: 401, body: { status: 'rejected', reason: 'missing or wrong secret' } };
    }
    const bytes =
      typeof request.body === 'string' ? Buffer.byteLength(request.body) : request.body.byteLength;
    if (bytes > config.businessEvents.maxBodyBytes) {
      return {
        status: 413,
        body: {
          status: 'rejected',
          reason: `body is ${bytes} bytes; the limit is ${config.businessEvents.maxBodyBytes}`,
        },
      };
    }
    const contentType = header(request.headers, 'content-type');
    if (contentType !== undefined && !JSON_LIKE.test(contentType)) {
      return {
        status: 415,
        body: { status: 'rejected', reason: 'send a JSON body (content-type application/json)' },
      };
    }

    let events: unknown[];
    let batch: boolean;
    try {
      const text =
        typeof request.body === 'string'
          ? request.body
          : new TextDecoder('utf-8', { fatal: true }).decode(request.body);
      const parsed = parseBody(text);
      batch = Array.isArray(parsed);
      events = Array.isArray(parsed) ? parsed : [parsed];
      if (events.length === 0 || events.length > MAX_EVENTS_PER_REQUEST) {
        throw new BadEvent(`send between 1 and ${MAX_EVENTS_PER_REQUEST} events per request`);
      }
    } catch (error) {
      const reason = error instanceof BadEvent ? error.message : 'body is not valid UTF-8 JSON';
      return { status: 400, body: { status: 'rejected', reason } };
    }

    // Map every event before enqueuing any, so a bad one in a batch changes nothing.
    const planned: Planned[] = [];
    for (const [i, event] of events.entries()) {
      if (isRemoteExecutionContext(event)) {
        planned.push(planDataEvent(readRemoteExecutionContext(event)));
        continue;
      }
      try {
        planned.push(planEnvelope(readEnvelope(event, batch ? i : -1), batch ? i : -1));
      } catch (error) {
        if (!(error instanceof BadEvent)) throw error;
        return { status: 400, body: { status: 'rejected', reason: error.message } };
      }
    }

    const results: EventResult[] = [];
    for (const { shape, eventId, auditKey, dedupKey, stub, reason } of planned) {
      const id = eventId ? { eventId } : {};
      if (!stub) {
        const note = reason ?? 'ignored';
        await deps.state.appendAudit({
          recordKey: auditKey,
          flow: 'business-events',
          trigger: 'business-event',
          attempt: 1,
          outcome: 'ignored',
          error: note,
        });
        deps.logger.info('business-event.ignored', { shape, reason: note });
        deps.onIgnored?.({ shape, reason: note });
        results.push({ ...id, outcome: 'ignored', reason: note });
        continue;
      }
      if (dedupKey && !(await deps.state.claimDedupKey(dedupKey, config.businessEvents.dedupTtlSeconds))) {
        results.push({ ...id, outcome: 'duplicate' });
        continue;
      }
      try {
        await deps.queue.send(QUEUES.toSalesforce, [{ body: stub }]);
      } catch (error) {
        // Hand the event back to the sender's retry instead of losing it behind a dedup claim.
        if (dedupKey) await deps.state.releaseDedupKey(dedupKey);
        deps.logger.error('business-event.enqueue-failed', { error: String(error) });
        return { status: 503, body: { status: 'retry', reason: 'could not enqueue; retry later' } };
      }
      await deps.state.appendAudit({
        ...(stub.kind === 'order-status'
          ? {
              recordKey: recordKey('dynamics', 'SalesOrderHeadersV2', stub.dataAreaId, stub.salesOrderNumber),
              flow: 'order-status',
            }
          : {
              recordKey: recordKey('dynamics', stub.entity, ...Object.values(stub.key)),
              flow: flowOfEntity(stub.entity),
            }),
        trigger: 'business-event',
        attempt: 1,
        outcome: 'enqueued',
        work: stub,
      });
      results.push({ ...id, outcome: 'enqueued' });
    }
    return { status: 202, body: { status: 'accepted', results } };
  };
}
