/**
 * The sandbox's control surface, programmatic (`DynamicsControl`) and over HTTP (`/_sandbox/...`
 * on the environment port, bearer `controlToken`, JSON in and out). Writes go through the same
 * validation as OData writes and raise the same business events.
 */
import { timingSafeEqual } from 'node:crypto';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { type FaultInjector, type FaultPlan, validateFaultPlan } from '#sandbox/shared/faults.ts';
import {
  type BusinessEvent,
  type BusinessEventPublisher,
  type BusinessEventsConfig,
  type ParkedEvent,
  validateBusinessEventsConfig,
} from './business-events.ts';
import type { Rec } from './data.ts';
import { type Database, type EntitySetDef, entitySet, linesOf } from './entities.ts';
import {
  type NumberSequenceSettings,
  type NumberSequenceState,
  SEQUENCE_KINDS,
  type SequenceKind,
  validateSequenceSettings,
} from './number-sequences.ts';
import { advanceOrder, ORDER_ACTIONS, type OrderAction } from './order-lifecycle.ts';
import { etagOf, parseReadQuery, QueryError, type ReadEngine, shape } from './query.ts';
import {
  checkBody,
  createRecord,
  deleteRecord,
  ODataError,
  updateRecord,
  type WriteContext,
} from './writes.ts';

/** An entity as the control surface returns it: fields plus `@odata.etag`. */
export type EntityRecord = Record<string, unknown>;

/** A key as field → value, e.g. `{ dataAreaId: 'usmf', CustomerAccount: 'US-000001' }`. */
export type EntityKey = Readonly<Record<string, string>>;

export interface ListOptions {
  /** An OData `$filter` expression (decoded text). */
  readonly filter?: string;
  /** Restrict to one company; default all companies. */
  readonly company?: string;
  readonly top?: number;
  readonly skip?: number;
}

/** Per-operation and per-entity-set call counts, e.g. `token`, `odata.read`, `odata.read:CustomersV3`. */
export class CallCounters {
  private counts = new Map<string, number>();

  record(operation: string, entitySetName?: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
    if (entitySetName) {
      const k = `${operation}:${entitySetName}`;
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  reset(): void {
    this.counts = new Map();
  }
}

/** Operating the sandbox from tests, benchmarks and the demo. */
export interface DynamicsControl {
  /** Creates a record as a user would (F&O validation applies); returns it with its ETag. */
  createRecord(entitySetName: string, record: Record<string, unknown>): EntityRecord;
  /** Updates fields of the record at `key`; returns the new state. */
  updateRecord(entitySetName: string, key: EntityKey, patch: Record<string, unknown>): EntityRecord;
  deleteRecord(entitySetName: string, key: EntityKey): void;
  /** The record at `key`, or undefined. */
  getRecord(entitySetName: string, key: EntityKey): EntityRecord | undefined;
  /** Records in key order across all companies (or `company`), filtered by an OData `$filter`. */
  listRecords(entitySetName: string, options?: ListOptions): EntityRecord[];
  /** Creates a sales order header (number from the sequence unless given) and its lines. */
  createSalesOrder(
    header: Record<string, unknown>,
    lines: readonly Record<string, unknown>[],
  ): { header: EntityRecord; lines: EntityRecord[] };
  /** The lines of one sales order. */
  salesOrderLines(company: string, salesOrderNumber: string): EntityRecord[];
  /**
   * Posts on a sales order as F&O does (order-lifecycle.ts): `confirm`, `deliver` (packing slip),
   * `invoice` (SalesInvoiceHeadersV2 + SalesInvoiceLines) or `cancel`; raises the posting's
   * business event. Returns the order and the document number; throws WriteError when F&O refuses.
   */
  advanceSalesOrder(
    company: string,
    salesOrderNumber: string,
    action: OrderAction,
  ): { header: EntityRecord; documentNumber?: string };
  counters(): Record<string, number>;
  resetCounters(): void;
  getFaultPlan(): FaultPlan;
  /** Replaces the fault plan (validated; throws TypeError on bad input). */
  setFaultPlan(plan: FaultPlan): void;
  /** How many times each fault kind fired since the plan was set. */
  faultsFired(): Readonly<Record<string, number>>;
  /** Moves the sandbox clock forward (token expiry, event times). */
  advanceClock(ms: number): void;
  /** The sandbox clock, epoch ms. */
  now(): number;
  /** Sets the business-event endpoint, or with `undefined` stops publishing. */
  configureBusinessEvents(config: BusinessEventsConfig | undefined): void;
  /** Resolves when every queued business event was delivered or parked. */
  flushBusinessEvents(): Promise<void>;
  /** Events parked after their retries failed (F&O's business event error log). */
  businessEventErrors(): ParkedEvent[];
  /** Requeues a parked event; throws RangeError when it is not in the error log. */
  resendBusinessEvent(eventId: string): void;
  /** The last 1000 business events raised, delivered or not. */
  businessEvents(): BusinessEvent[];
  /** Every company's customer account and sales order number sequence, with its Next. */
  numberSequences(): NumberSequenceState[];
  /** Changes a sequence's settings (Manual, To a lower/higher number, Continuous, format, range) for one company or all. */
  configureNumberSequence(kind: SequenceKind, settings: NumberSequenceSettings, company?: string): void;
  /** Whether new lines get LineNumber from LineCreationSequenceNumber (the default) or keep the caller's. */
  setLineNumberFromCreationSequence(enabled: boolean): void;
}

export interface ControlDeps {
  readonly db: Database;
  readonly engine: ReadEngine;
  readonly write: WriteContext;
  readonly counters: CallCounters;
  readonly faults: FaultInjector;
  readonly clock: SandboxClock;
  readonly events: BusinessEventPublisher;
}

function defOf(name: string, db: Database): EntitySetDef {
  const def = entitySet(name, db.defs);
  if (!def) throw new RangeError(`unknown entity set '${name}'`);
  return def;
}

function keyValues(def: EntitySetDef, key: EntityKey): string[] {
  if (typeof key !== 'object' || key === null) throw new TypeError('key must be an object');
  return def.keys.map((k) => {
    const v = key[k];
    if (typeof v !== 'string' || v === '') throw new TypeError(`key.${k} is required for ${def.name}`);
    return v;
  });
}

/** Builds the programmatic control surface. */
export function createControl(deps: ControlDeps): DynamicsControl {
  const { db, write } = deps;
  const storeOf = (def: EntitySetDef) => {
    const store = db.stores[def.name];
    if (!store) throw new RangeError(`unknown entity set '${def.name}'`);
    return store;
  };
  const control: DynamicsControl = {
    createRecord(name, record) {
      const def = defOf(name, db);
      return shape(createRecord(write, def, checkBody(def, record)), undefined);
    },
    updateRecord(name, key, patch) {
      const def = defOf(name, db);
      return shape(
        updateRecord(write, def, keyValues(def, key), checkBody(def, patch), undefined, etagOf),
        undefined,
      );
    },
    deleteRecord(name, key) {
      const def = defOf(name, db);
      deleteRecord(write, def, keyValues(def, key));
    },
    getRecord(name, key) {
      const def = defOf(name, db);
      const stored = storeOf(def).get(keyValues(def, key));
      return stored ? shape(stored, undefined) : undefined;
    },
    listRecords(name, options = {}) {
      const def = defOf(name, db);
      const pairs: [string, string][] = [['cross-company', 'true']];
      const clauses: string[] = [];
      if (options.company) clauses.push(`dataAreaId eq '${options.company.replace(/'/g, "''")}'`);
      if (options.filter) clauses.push(`(${options.filter})`);
      if (clauses.length > 0) pairs.push(['$filter', clauses.join(' and ')]);
      if (options.skip !== undefined) pairs.push(['$skip', String(options.skip)]);
      const query = parseReadQuery(pairs, def);
      const top = options.top ?? Number.MAX_SAFE_INTEGER;
      const page = deps.engine.read(def, storeOf(def), { ...query, top }, '', Math.min(top, 1_000_000));
      return page.records.map((s) => shape(s, undefined));
    },
    createSalesOrder(header, lines) {
      const headerDef = defOf('SalesOrderHeadersV2', db);
      const lineDef = defOf('SalesOrderLines', db);
      const checkedHeader = checkBody(headerDef, header);
      const checkedLines = lines.map((l) => checkBody(lineDef, l));
      const created = createRecord(write, headerDef, checkedHeader);
      const out: EntityRecord[] = [];
      for (const line of checkedLines) {
        const rec: Rec = {
          ...line,
          dataAreaId: created.rec.dataAreaId ?? '',
          SalesOrderNumber: created.rec.SalesOrderNumber ?? '',
        };
        out.push(shape(createRecord(write, lineDef, rec), undefined));
      }
      return { header: shape(created, undefined), lines: out };
    },
    salesOrderLines(company, salesOrderNumber) {
      return linesOf(db, company.toLowerCase(), salesOrderNumber).map((l) => {
        const s = db.stores.SalesOrderLines?.get([String(l.dataAreaId), String(l.InventoryLotId)]);
        return s ? shape(s, undefined) : { ...l };
      });
    },
    advanceSalesOrder(company, salesOrderNumber, action) {
      if (typeof company !== 'string' || typeof salesOrderNumber !== 'string')
        throw new TypeError('company and salesOrderNumber must be strings');
      const result = advanceOrder(
        {
          db,
          now: write.now,
          onChange: write.onChange,
          raise: (id, le, fields) => deps.events.raise(id, le, fields),
        },
        company,
        salesOrderNumber,
        action,
      );
      const stored = db.stores.SalesOrderHeadersV2?.get([
        String(result.header.dataAreaId),
        String(result.header.SalesOrderNumber),
      ]);
      return {
        header: stored ? shape(stored, undefined) : { ...result.header },
        ...(result.documentNumber ? { documentNumber: result.documentNumber } : {}),
      };
    },
    counters: () => deps.counters.snapshot(),
    resetCounters: () => deps.counters.reset(),
    getFaultPlan: () => deps.faults.plan,
    setFaultPlan: (plan) => deps.faults.setPlan(validateFaultPlan(plan)),
    faultsFired: () => deps.faults.fired(),
    advanceClock: (ms) => deps.clock.advance(ms),
    now: () => deps.clock.now(),
    configureBusinessEvents(config) {
      deps.events.configure(config === undefined ? undefined : validateBusinessEventsConfig(config));
    },
    flushBusinessEvents: () => deps.events.flush(),
    businessEventErrors: () => deps.events.errors(),
    resendBusinessEvent(eventId) {
      if (!deps.events.resend(eventId))
        throw new RangeError(`no parked business event with EventId '${eventId}'`);
    },
    businessEvents: () => deps.events.published(),
    numberSequences: () => write.sequences.list(),
    configureNumberSequence(kind, settings, company) {
      if (!SEQUENCE_KINDS.includes(kind))
        throw new RangeError(`unknown number sequence '${String(kind)}' (${SEQUENCE_KINDS.join(', ')})`);
      write.sequences.configure(kind, company, validateSequenceSettings(settings));
    },
    setLineNumberFromCreationSequence(enabled) {
      if (typeof enabled !== 'boolean') throw new TypeError('fromCreationSequence must be a boolean');
      write.lineNumbers.fromCreationSequence = enabled;
    },
  };
  return control;
}

export interface ControlHttpResponse {
  readonly status: number;
  readonly body?: unknown;
}

const bad = (message: string): ControlHttpResponse => ({ status: 400, body: { error: message } });

function messageOf(err: unknown): ControlHttpResponse {
  if (err instanceof ODataError) return { status: err.status, body: err.body };
  if (err instanceof QueryError) return bad(err.message);
  if (err instanceof TypeError || err instanceof RangeError || err instanceof SyntaxError)
    return bad(err.message);
  throw err;
}

/** Constant-time check of the control bearer token. */
export function controlAuthorized(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Routes `/_sandbox/<path>`:
 * - `GET records/{set}?filter=&company=&top=&skip=` list; `GET record/{set}?<key fields>` one record
 * - `POST records/{set}` create; `PATCH records/{set}` `{key, patch}`; `DELETE records/{set}` `{key}`
 * - `POST sales-orders` `{header, lines}`; `GET sales-orders/lines?company=&salesOrderNumber=`;
 *   `POST sales-orders/advance` `{company, salesOrderNumber, action: confirm|deliver|invoice|cancel}`
 * - `GET|DELETE counters`; `GET|PUT faults`; `GET clock`, `POST clock/advance` `{ms}`
 * - `PUT business-events/config` (null body clears), `POST business-events/flush`,
 *   `GET business-events/errors`, `POST business-events/resend` `{eventId}`, `GET business-events`
 * - `GET number-sequences`; `PUT number-sequences/{customerAccounts|salesOrders}` `{company?, ...settings}`;
 *   `PUT sales-order-lines/line-numbers` `{fromCreationSequence}`
 */
export async function handleControlHttp(
  control: DynamicsControl,
  method: string,
  path: string,
  query: URLSearchParams,
  rawBody: string,
): Promise<ControlHttpResponse> {
  let body: unknown;
  if (rawBody.trim()) {
    try {
      body = JSON.parse(rawBody);
    } catch {
      return bad('the request body is not valid JSON');
    }
  }
  const obj = (): Record<string, unknown> => {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new TypeError('the request body must be a JSON object');
    return body as Record<string, unknown>;
  };
  const num = (name: string): number | undefined => {
    const v = query.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v)) throw new TypeError(`${name} must be a non-negative integer`);
    return Number(v);
  };
  const segments = path.split('/').filter(Boolean);
  const [head, second] = segments;
  try {
    switch (
      `${method} ${head ?? ''}${second && head !== 'records' && head !== 'record' ? `/${second}` : ''}`
    ) {
      case 'GET records': {
        const options: { -readonly [K in keyof ListOptions]: ListOptions[K] } = {};
        const filter = query.get('filter');
        const company = query.get('company');
        if (filter) options.filter = filter;
        if (company) options.company = company;
        const top = num('top');
        const skip = num('skip');
        if (top !== undefined) options.top = top;
        if (skip !== undefined) options.skip = skip;
        return { status: 200, body: { value: control.listRecords(second ?? '', options) } };
      }
      case 'GET record': {
        const record = control.getRecord(second ?? '', Object.fromEntries(query));
        return record ? { status: 200, body: record } : { status: 404, body: { error: 'no such record' } };
      }
      case 'POST records':
        return { status: 201, body: control.createRecord(second ?? '', obj()) };
      case 'PATCH records': {
        const { key, patch } = obj();
        if (typeof patch !== 'object' || patch === null) throw new TypeError('patch must be an object');
        return {
          status: 200,
          body: control.updateRecord(second ?? '', key as EntityKey, patch as Record<string, unknown>),
        };
      }
      case 'DELETE records':
        control.deleteRecord(second ?? '', obj().key as EntityKey);
        return { status: 204 };
      case 'POST sales-orders': {
        const { header, lines } = obj();
        if (typeof header !== 'object' || header === null) throw new TypeError('header must be an object');
        if (lines !== undefined && !Array.isArray(lines)) throw new TypeError('lines must be an array');
        return {
          status: 201,
          body: control.createSalesOrder(
            header as Record<string, unknown>,
            (lines ?? []) as Record<string, unknown>[],
          ),
        };
      }
      case 'POST sales-orders/advance': {
        const { company, salesOrderNumber, action } = obj();
        if (typeof company !== 'string' || typeof salesOrderNumber !== 'string')
          throw new TypeError('company and salesOrderNumber are required strings');
        if (typeof action !== 'string' || !(ORDER_ACTIONS as readonly string[]).includes(action))
          throw new TypeError(`action must be one of ${ORDER_ACTIONS.join(', ')}`);
        return {
          status: 200,
          body: control.advanceSalesOrder(company, salesOrderNumber, action as OrderAction),
        };
      }
      case 'GET sales-orders/lines': {
        const company = query.get('company');
        const order = query.get('salesOrderNumber');
        if (!company || !order) throw new TypeError('company and salesOrderNumber are required');
        return { status: 200, body: { value: control.salesOrderLines(company, order) } };
      }
      case 'GET counters':
        return { status: 200, body: control.counters() };
      case 'DELETE counters':
        control.resetCounters();
        return { status: 204 };
      case 'GET faults':
        return { status: 200, body: { plan: control.getFaultPlan(), fired: control.faultsFired() } };
      case 'PUT faults':
        control.setFaultPlan(obj() as unknown as FaultPlan);
        return { status: 200, body: { plan: control.getFaultPlan() } };
      case 'GET clock':
        return { status: 200, body: { now: control.now(), iso: new Date(control.now()).toISOString() } };
      case 'POST clock/advance': {
        const { ms } = obj();
        if (typeof ms !== 'number') throw new TypeError('ms must be a number');
        control.advanceClock(ms);
        return { status: 200, body: { now: control.now() } };
      }
      case 'PUT business-events/config':
        control.configureBusinessEvents(
          body === null || body === undefined ? undefined : (obj() as unknown as BusinessEventsConfig),
        );
        return { status: 204 };
      case 'POST business-events/flush':
        await control.flushBusinessEvents();
        return { status: 204 };
      case 'GET business-events/errors':
        return { status: 200, body: { value: control.businessEventErrors() } };
      case 'POST business-events/resend': {
        const { eventId } = obj();
        if (typeof eventId !== 'string') throw new TypeError('eventId must be a string');
        control.resendBusinessEvent(eventId);
        return { status: 202 };
      }
      case 'GET business-events':
        return { status: 200, body: { value: control.businessEvents() } };
      case 'GET number-sequences':
        return { status: 200, body: { value: control.numberSequences() } };
      case `PUT number-sequences/${second}`: {
        const { company, ...settings } = obj();
        if (company !== undefined && typeof company !== 'string')
          throw new TypeError('company must be a string');
        control.configureNumberSequence(second as SequenceKind, settings, company);
        return { status: 200, body: { value: control.numberSequences().filter((q) => q.kind === second) } };
      }
      case 'PUT sales-order-lines/line-numbers': {
        const { fromCreationSequence } = obj();
        control.setLineNumberFromCreationSequence(fromCreationSequence as boolean);
        return { status: 204 };
      }
      default:
        return { status: 404, body: { error: `no control operation ${method} /_sandbox/${path}` } };
    }
  } catch (err) {
    return messageOf(err);
  }
}
