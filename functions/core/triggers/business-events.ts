/**
 * The Dynamics business-event receiver, as a function of an HTTP request so the local runner and
 * the Lambda behind API Gateway call the same code: authenticate the caller, validate the
 * envelope, map it by configuration, dedup on (legal entity, ControlNumber), enqueue a stub.
 * Business events are notifications, not data: the worker reads the record over OData.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/home-page
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { Logger } from '#core/logger.ts';
import { recordKey } from '#core/mapping/keys.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';

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

export interface ReceiverSecrets {
  /** The current secret and, during a rotation, the previous one. */
  readonly current: string;
  readonly previous?: string | undefined;
}

export interface BusinessEventReceiverDeps {
  readonly config: ConnectorConfig;
  readonly state: StateStore;
  readonly queue: WorkQueue;
  readonly secrets: () => Promise<ReceiverSecrets>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The header that may carry the shared secret (the alternative is `?code=` in the endpoint URL). */
export const SECRET_HEADER = 'x-ml-connector-secret';
/** At most this many events in one request (an array body). */
export const MAX_EVENTS_PER_REQUEST = 100;

const KEY_VALUE = /^[^\p{Cc}]{1,128}$/u;

class BadEvent extends Error {}

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
    const contentType = header(request.headers, 'content-type') ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return { status: 415, body: { status: 'rejected', reason: 'content-type must be application/json' } };
    }

    let envelopes: Envelope[];
    try {
      const text =
        typeof request.body === 'string'
          ? request.body
          : new TextDecoder('utf-8', { fatal: true }).decode(request.body);
      const parsed = parseBody(text);
      const list = Array.isArray(parsed) ? parsed : [parsed];
      if (list.length === 0 || list.length > MAX_EVENTS_PER_REQUEST) {
        throw new BadEvent(`send between 1 and ${MAX_EVENTS_PER_REQUEST} events per request`);
      }
      envelopes = list.map((e, i) => readEnvelope(e, Array.isArray(parsed) ? i : -1));
    } catch (error) {
      const reason = error instanceof BadEvent ? error.message : 'body is not valid UTF-8 JSON';
      return { status: 400, body: { status: 'rejected', reason } };
    }

    // Map every event before enqueuing any, so a bad one in a batch changes nothing.
    const planned: { envelope: Envelope; stub?: DynamicsStub; reason?: string }[] = [];
    for (const [i, envelope] of envelopes.entries()) {
      const mapping = config.businessEvents.events[envelope.businessEventId];
      if (!mapping) {
        planned.push({ envelope, reason: `no mapping for BusinessEventId ${envelope.businessEventId}` });
        continue;
      }
      if (!synced.has(envelope.legalEntity)) {
        planned.push({ envelope, reason: `legal entity ${envelope.legalEntity} is not synced` });
        continue;
      }
      const key: Record<string, string> = { dataAreaId: envelope.legalEntity };
      for (const [field, payloadField] of Object.entries(mapping.keyFields)) {
        const value = envelope.raw[payloadField];
        if (typeof value !== 'string' || !KEY_VALUE.test(value)) {
          const where = envelopes.length > 1 ? `event ${i}: ` : '';
          return {
            status: 400,
            body: {
              status: 'rejected',
              reason: `${where}${payloadField} must be a string of 1-128 characters without control characters`,
            },
          };
        }
        key[field] = value;
      }
      planned.push({
        envelope,
        stub: {
          kind: 'dynamics-stub',
          entity: mapping.entity,
          key,
          trigger: 'business-event',
          observedAt: now(),
          source: envelope.eventId,
        },
      });
    }

    const results: EventResult[] = [];
    for (const { envelope, stub, reason } of planned) {
      if (!stub) {
        await deps.state.appendAudit({
          recordKey: recordKey('dynamics', 'BusinessEvent', envelope.legalEntity, envelope.controlNumber),
          flow: 'business-events',
          trigger: 'business-event',
          attempt: 1,
          outcome: 'ignored',
          error: reason,
        });
        results.push({ eventId: envelope.eventId, outcome: 'ignored', ...(reason ? { reason } : {}) });
        continue;
      }
      const dedupKey = `be:${envelope.legalEntity}:${envelope.controlNumber}`;
      if (!(await deps.state.claimDedupKey(dedupKey, config.businessEvents.dedupTtlSeconds))) {
        results.push({ eventId: envelope.eventId, outcome: 'duplicate' });
        continue;
      }
      try {
        await deps.queue.send(QUEUES.toSalesforce, [{ body: stub }]);
      } catch (error) {
        // Hand the event back to F&O's retry instead of losing it behind a dedup claim.
        await deps.state.releaseDedupKey(dedupKey);
        deps.logger.error('business-event.enqueue-failed', { error: String(error) });
        return { status: 503, body: { status: 'retry', reason: 'could not enqueue; retry later' } };
      }
      await deps.state.appendAudit({
        recordKey: recordKey('dynamics', stub.entity, ...Object.values(stub.key)),
        flow: stub.entity === 'CustomersV3' ? 'customers' : 'products',
        trigger: 'business-event',
        attempt: 1,
        outcome: 'enqueued',
        work: stub,
      });
      results.push({ eventId: envelope.eventId, outcome: 'enqueued' });
    }
    return { status: 202, body: { status: 'accepted', results } };
  };
}
