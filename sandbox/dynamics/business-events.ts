/**
 * Business events to an HTTPS (or loopback HTTP) endpoint, delivered the way F&O does: one event
 * per POST to the complete configured URL (an HTTPS endpoint reads that URL from an Azure Key
 * Vault secret, so a receiver's secret travels in it, e.g. `?code=`) with no custom headers,
 * asynchronous, retried `retries` times `retryDelayMs` apart, then parked in an error log from
 * which they can be resent. Optionally duplicated and reordered, because receivers must tolerate
 * both (ControlNumber exists to detect it).
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/home-page
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/business-events/business-events-errors
 *
 * `shape: 'data-event'` delivers instead what an endpoint receives with the Power Platform
 * integration on and data events activated: each change as a Dataverse RemoteExecutionContext
 * (data-events.ts), with the headers Dataverse's webhooks add.
 *
 * Event ids (custom events a customer would write in X++, since the standard catalog has none
 * for customers or products): `MLCustomerChangedBusinessEvent`, `MLReleasedProductChangedBusinessEvent`,
 * `MLSalesOrderChangedBusinessEvent`, and `SalesOrderCreatedBusinessEvent` for new sales orders.
 */
import { randomUUID } from 'node:crypto';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { type Random, seededRandom } from '#sandbox/shared/random.ts';
import {
  type DataverseIdentity,
  dataEventOf,
  dataverseHeaders,
  dataverseIdentity,
  type RemoteExecutionContext,
} from './data-events.ts';
import type { Change } from './writes.ts';

export type { RemoteExecutionContext } from './data-events.ts';

/** Where and how business events are delivered. */
export interface BusinessEventsConfig {
  /**
   * The complete endpoint URL, as the Key Vault secret holds it (a receiver's secret goes in it,
   * e.g. `?code=`); https://, or http:// on loopback for a local receiver. F&O sends no custom
   * headers, so there is no option for them.
   */
  readonly url: string;
  /**
   * `envelope` (default): the business-event JSON F&O posts to its HTTPS endpoint.
   * `data-event`: data events proxied through Dataverse, as RemoteExecutionContext bodies.
   */
  readonly shape?: 'envelope' | 'data-event';
  /**
   * Retries after the first failed attempt. Default 3 (F&O's default). The `data-event` shape
   * follows Dataverse's webhook rule instead: one more attempt, only after 502/503/504.
   */
  readonly retries?: number;
  /** Delay between attempts in ms. Default 1000. */
  readonly retryDelayMs?: number;
  /** Probability in [0, 1] that a delivered event is delivered a second time. Default 0. */
  readonly duplicateProbability?: number;
  /** Deliver the next event from a random position among the first `reorderWindow` queued. Default 1 (in order). */
  readonly reorderWindow?: number;
  readonly seed?: number;
}

/** The JSON envelope F&O posts, plus the event's own fields. */
export type BusinessEvent = Record<string, unknown> & {
  readonly BusinessEventId: string;
  readonly ControlNumber: number;
  readonly EventId: string;
};

/** An event whose delivery failed after all retries. */
export interface ParkedEvent {
  /** EventId (envelope) or OperationId (data event). */
  readonly eventId: string;
  /** BusinessEventId (envelope) or `<MessageName> <virtual table>` (data event). */
  readonly businessEventId: string;
  readonly event: BusinessEvent | RemoteExecutionContext;
  readonly attempts: number;
  readonly lastError: string;
  readonly parkedAt: string;
}

/** Validates control input for `configure`; throws TypeError with a clear message. */
export function validateBusinessEventsConfig(input: unknown): BusinessEventsConfig {
  if (typeof input !== 'object' || input === null)
    throw new TypeError('business events config must be an object');
  const c = input as Record<string, unknown>;
  if (typeof c.url !== 'string') throw new TypeError('url must be a string');
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new TypeError(`url '${c.url}' is not a valid URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError('url must be https://, or http:// on a loopback host');
  }
  if (c.headers !== undefined) {
    throw new TypeError(
      'F&O sends no custom headers: put the receiver secret in the url (e.g. ?code=…), as the Key Vault secret holds it',
    );
  }
  if (c.shape !== undefined && c.shape !== 'envelope' && c.shape !== 'data-event') {
    throw new TypeError("shape must be 'envelope' or 'data-event'");
  }
  for (const k of ['retries', 'retryDelayMs', 'reorderWindow', 'seed'] as const) {
    if (c[k] !== undefined && !(Number.isInteger(c[k]) && (c[k] as number) >= 0)) {
      throw new TypeError(`${k} must be a non-negative integer`);
    }
  }
  const p = c.duplicateProbability;
  if (p !== undefined && !(typeof p === 'number' && p >= 0 && p <= 1)) {
    throw new TypeError('duplicateProbability must be a number in [0, 1]');
  }
  return c as unknown as BusinessEventsConfig;
}

const EVENT_IDS: Readonly<Record<string, string>> = {
  CustomersV3: 'MLCustomerChangedBusinessEvent',
  ReleasedProductsV2: 'MLReleasedProductChangedBusinessEvent',
  SalesOrderHeadersV2: 'MLSalesOrderChangedBusinessEvent',
  SalesOrderLines: 'MLSalesOrderChangedBusinessEvent',
};

const CHANGE_TYPE = { created: 'Created', updated: 'Updated', deleted: 'Deleted' } as const;

/** One POST to make: the body and, for the Dataverse-proxied shape only, Dataverse's headers. */
interface Delivery {
  readonly id: string;
  readonly name: string;
  readonly body: BusinessEvent | RemoteExecutionContext;
  readonly headers: Readonly<Record<string, string>>;
}

function envelopeDelivery(event: BusinessEvent): Delivery {
  return { id: event.EventId, name: event.BusinessEventId, body: event, headers: {} };
}

/** Builds, queues and delivers business events. */
export class BusinessEventPublisher {
  private config: BusinessEventsConfig | undefined;
  private random: Random = seededRandom(1);
  private readonly clock: SandboxClock;
  private readonly initiatingUser: string;
  private controlNumber: number;
  private readonly controlRandom: Random;
  private readonly dataverse: DataverseIdentity;
  private readonly queue: Delivery[] = [];
  private readonly parked = new Map<string, ParkedEvent & { readonly delivery: Delivery }>();
  private readonly recent: BusinessEvent[] = [];
  private readonly recentDataEvents: RemoteExecutionContext[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private delivered = 0;
  private readonly abort = new AbortController();

  constructor(clock: SandboxClock, initiatingUserObjectId: string, seed: number) {
    this.clock = clock;
    this.initiatingUser = `{${initiatingUserObjectId.toUpperCase()}}`;
    this.controlRandom = seededRandom(seed ^ 0x5bd1e995);
    this.controlNumber = 5637144576 + this.controlRandom.int(0, 100000);
    this.dataverse = dataverseIdentity(seed);
  }

  /** Sets (or with undefined, clears) the endpoint; queued events then go to the new endpoint. */
  configure(config: BusinessEventsConfig | undefined): void {
    this.config = config;
    this.random = seededRandom(config?.seed ?? 1);
    this.kick();
  }

  get configuration(): BusinessEventsConfig | undefined {
    return this.config;
  }

  /** Turns a data change into business events or a data event (none when no endpoint is configured, as in F&O). */
  publish(change: Change): void {
    if (this.config?.shape === 'data-event') {
      if (!EVENT_IDS[change.entitySet]) return;
      const event = dataEventOf(change, this.dataverse, this.clock.now());
      if (!event) return;
      this.recentDataEvents.push(event);
      if (this.recentDataEvents.length > 1000) this.recentDataEvents.shift();
      this.queue.push({
        id: event.OperationId,
        name: `${event.MessageName} ${event.PrimaryEntityName}`,
        body: event,
        headers: dataverseHeaders(event, this.dataverse),
      });
      this.kick();
      return;
    }
    const events = this.eventsFor(change);
    for (const e of events) {
      this.recent.push(e);
      if (this.recent.length > 1000) this.recent.shift();
      if (this.config) this.queue.push(envelopeDelivery(e));
    }
    this.kick();
  }

  private envelope(businessEventId: string, company: string, fields: Record<string, unknown>): BusinessEvent {
    // ControlNumber: "an upwardly increasing number", not sequential.
    this.controlNumber += this.controlRandom.int(1, 4);
    const now = this.clock.now();
    return {
      BusinessEventId: businessEventId,
      BusinessEventLegalEntity: company.toUpperCase(),
      ContextRecordSubject: '',
      ControlNumber: this.controlNumber,
      EventId: randomUUID().toUpperCase(),
      EventTime: `/Date(${now})/`,
      EventTimeIso8601: new Date(now).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z'),
      InitiatingUserAADObjectId: this.initiatingUser,
      MajorVersion: 0,
      MinorVersion: 0,
      ParentContextRecordSubjects: [],
      LegalEntity: company.toUpperCase(),
      ...fields,
    };
  }

  private eventsFor(change: Change): BusinessEvent[] {
    const rec = change.rec;
    const company = String(rec.dataAreaId ?? '');
    const changeType = CHANGE_TYPE[change.kind];
    const id = EVENT_IDS[change.entitySet];
    if (!id) return [];
    switch (change.entitySet) {
      case 'CustomersV3':
        return [this.envelope(id, company, { CustomerAccount: rec.CustomerAccount, ChangeType: changeType })];
      case 'ReleasedProductsV2':
        return [this.envelope(id, company, { ItemNumber: rec.ItemNumber, ChangeType: changeType })];
      case 'SalesOrderHeadersV2': {
        const fields = {
          SalesOrderNumber: rec.SalesOrderNumber,
          OrderingCustomerAccountNumber: rec.OrderingCustomerAccountNumber,
          CustomersOrderReference: rec.CustomersOrderReference,
        };
        if (change.kind === 'created') {
          return [
            this.envelope('SalesOrderCreatedBusinessEvent', company, {
              ...fields,
              SalesId: rec.SalesOrderNumber,
            }),
          ];
        }
        return [this.envelope(id, company, { ...fields, ChangeType: changeType })];
      }
      case 'SalesOrderLines':
        return [
          this.envelope(id, company, { SalesOrderNumber: rec.SalesOrderNumber, ChangeType: 'Updated' }),
        ];
      default:
        return [];
    }
  }

  /**
   * Raises a business event of a posting (order confirmation, packing slip, invoice): F&O sends it
   * from the business logic, not from a table change. Business events only: the `data-event`
   * shape delivers data events, which these are not.
   */
  raise(businessEventId: string, company: string, fields: Record<string, unknown>): void {
    if (this.config?.shape === 'data-event') return;
    const event = this.envelope(businessEventId, company, fields);
    this.recent.push(event);
    if (this.recent.length > 1000) this.recent.shift();
    if (this.config) this.queue.push(envelopeDelivery(event));
    this.kick();
  }

  /** The last 1000 business events built (delivered or not), oldest first. */
  published(): BusinessEvent[] {
    return [...this.recent];
  }

  /** The last 1000 data events built in the `data-event` shape, oldest first. */
  publishedDataEvents(): RemoteExecutionContext[] {
    return [...this.recentDataEvents];
  }

  /** Events parked after failing all retries. */
  errors(): ParkedEvent[] {
    return [...this.parked.values()].map(({ delivery: _, ...parked }) => parked);
  }

  /** How many deliveries (including duplicates) the endpoint accepted. */
  get deliveredCount(): number {
    return this.delivered;
  }

  /** Moves a parked event back to the queue (F&O's Resend); false when no such parked event. */
  resend(eventId: string): boolean {
    const parked = this.parked.get(eventId);
    if (!parked) return false;
    this.parked.delete(eventId);
    this.queue.push(parked.delivery);
    this.kick();
    return true;
  }

  /** Resolves when the queue is empty and nothing is in flight (parked events do not count). */
  flush(): Promise<void> {
    if (!this.running && (this.queue.length === 0 || !this.config)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivering; pending timers are cleared. */
  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private kick(): void {
    if (this.running || this.closed) return;
    if (!this.config || this.queue.length === 0) {
      this.notifyIdle();
      return;
    }
    this.running = true;
    setImmediate(() => {
      this.drain()
        .catch(() => undefined)
        .finally(() => {
          this.running = false;
          this.kick();
        });
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.config && this.queue.length > 0) {
      const config = this.config;
      const window = Math.max(1, Math.min(config.reorderWindow ?? 1, this.queue.length));
      const index = window > 1 ? this.random.int(0, window - 1) : 0;
      const [event] = this.queue.splice(index, 1);
      if (!event) continue;
      const ok = await this.deliver(config, event);
      if (ok && this.random.next() < (config.duplicateProbability ?? 0)) {
        await this.attempt(config, event).catch(() => undefined);
      }
    }
  }

  /**
   * One delivery with its retries. F&O: `retries` more attempts after any failure. A Dataverse
   * webhook (`data-event`): one more attempt only after 502, 503 or 504, then the failed system
   * job (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/use-webhooks);
   * the sandbox parks it like F&O's error log so it can be inspected and resent.
   */
  private async deliver(config: BusinessEventsConfig, event: Delivery): Promise<boolean> {
    const dataverse = config.shape === 'data-event';
    const retries = dataverse ? 1 : (config.retries ?? 3);
    let lastError = '';
    let attempts = 0;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (this.closed) return false;
      if (attempt > 0) await this.sleep(config.retryDelayMs ?? 1000);
      attempts += 1;
      try {
        await this.attempt(config, event);
        return true;
      } catch (err) {
        const code = (err as { cause?: { code?: unknown } }).cause?.code;
        lastError = `${err instanceof Error ? err.message : String(err)}${typeof code === 'string' ? ` (${code})` : ''}`;
        const status = (err as { status?: unknown }).status;
        if (dataverse && !(status === 502 || status === 503 || status === 504)) break;
      }
    }
    this.parked.set(event.id, {
      eventId: event.id,
      businessEventId: event.name,
      event: event.body,
      delivery: event,
      attempts,
      lastError,
      parkedAt: new Date(this.clock.now()).toISOString(),
    });
    return false;
  }

  private async attempt(config: BusinessEventsConfig, event: Delivery): Promise<void> {
    // UNCONFIRMED: the Content-Type F&O's HTTPS endpoint sends; JSON is the body it documents.
    const response = await fetch(config.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...event.headers },
      body: JSON.stringify(event.body),
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(10_000)]),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (response.status < 200 || response.status > 299) {
      throw Object.assign(new Error(`The endpoint answered HTTP ${response.status}.`), {
        status: response.status,
      });
    }
    this.delivered += 1;
  }
}
