import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { silentLogger } from '#base/logger.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import {
  createBusinessEventReceiver,
  type IgnoredEvent,
  type ReceiverRequest,
  secretMatches,
} from '#core/triggers/business-events.ts';
import { QUEUES } from '#core/work/items.ts';
import { testConfig } from '#test/support/config.ts';

const SECRET = 'be-secret-0123456789abcdef0123456789abcdef';
const config = testConfig({
  legalEntities: ['usmf', 'demf'],
  businessEvents: {
    maxBodyBytes: 4096,
    events: {
      MLCustomerChangedBusinessEvent: {
        entity: 'CustomersV3',
        keyFields: { CustomerAccount: 'CustomerAccount' },
      },
    },
  },
});

/** A factory for business-event envelopes as F&O sends them. */
function businessEvent(overrides: Record<string, unknown> = {}) {
  return {
    BusinessEventId: 'MLCustomerChangedBusinessEvent',
    BusinessEventLegalEntity: 'USMF',
    ContextRecordSubject: '',
    ControlNumber: 5637144576,
    EventId: randomUUID().toUpperCase(),
    EventTime: '/Date(1764158400000)/',
    EventTimeIso8601: '2026-11-26T12:00:00Z',
    InitiatingUserAADObjectId: randomUUID(),
    MajorVersion: 0,
    MinorVersion: 0,
    ParentContextRecordSubjects: [],
    CustomerAccount: 'US-001',
    ...overrides,
  };
}

/** A POST as F&O's HTTPS endpoint makes it: the secret as `?code=` in the URL, no headers of its own. */
function post(
  body: unknown,
  secret: string | null = SECRET,
  headers: Record<string, string> = {},
): ReceiverRequest {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    query: secret ? { code: secret } : {},
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

type Attributes = Record<string, unknown>;

/** A factory for data events as Dataverse's webhooks send them (RemoteExecutionContext JSON). */
function dataEvent(
  options: {
    table?: string;
    message?: string;
    target?: Attributes | null;
    preImage?: Attributes;
    operationId?: string;
  } = {},
) {
  const table = options.table ?? 'mserp_custcustomerv3entity';
  const id = randomUUID();
  const entity = (attributes: Attributes) => ({
    __type: 'Entity:http://schemas.microsoft.com/xrm/2011/Contracts',
    Attributes: Object.entries(attributes).map(([key, value]) => ({ key, value })),
    EntityState: null,
    FormattedValues: [],
    Id: id,
    KeyAttributes: [],
    LogicalName: table,
    RelatedEntities: [],
    RowVersion: null,
  });
  const target =
    options.target === undefined
      ? { mserp_dataareaid: 'usmf', mserp_customeraccount: 'US-001', mserp_organizationname: 'Contoso' }
      : options.target;
  const inputs = [
    ...(target ? [{ key: 'Target', value: entity(target) }] : []),
    ...(options.preImage ? [{ key: 'PreImage', value: entity(options.preImage) }] : []),
  ];
  return {
    BusinessUnitId: randomUUID(),
    CorrelationId: randomUUID(),
    Depth: 1,
    InitiatingUserId: randomUUID(),
    InputParameters: inputs,
    IsExecutingOffline: false,
    IsInTransaction: false,
    IsOfflinePlayback: false,
    IsolationMode: 1,
    MessageName: options.message ?? 'OnExternalUpdated',
    Mode: 1,
    OperationCreatedOn: '/Date(1764158400000)/',
    OperationId: options.operationId ?? randomUUID(),
    OrganizationId: randomUUID(),
    OrganizationName: 'contoso',
    OutputParameters: [],
    ParentContext: null,
    PostEntityImages: [],
    PreEntityImages: [],
    PrimaryEntityId: id,
    PrimaryEntityName: table,
    RequestId: null,
    SecondaryEntityName: 'none',
    SharedVariables: [],
    Stage: 40,
    UserId: randomUUID(),
  };
}

/** A receiver over in-memory state and queue, recording what it ignores. */
function receiverOnMemory(secrets: { readonly current: string; readonly previous?: string }) {
  const state = createSqliteStateStore({ database: ':memory:' });
  const queue = createSqliteWorkQueue({ database: ':memory:' });
  const ignored: IgnoredEvent[] = [];
  const receive = createBusinessEventReceiver({
    config,
    state,
    queue,
    logger: silentLogger,
    secrets: async () => secrets,
    onIgnored: (event) => ignored.push(event),
  });
  return { state, queue, receive, ignored };
}

describe('createBusinessEventReceiver', () => {
  let state: StateStore;
  let queue: WorkQueue;
  let receive: ReturnType<typeof createBusinessEventReceiver>;
  let ignored: IgnoredEvent[];
  beforeEach(() => {
    ({ state, queue, receive, ignored } = receiverOnMemory({
      current: SECRET,
      previous: 'old-secret-still-valid-during-rotation',
    }));
  });
  const queued = async () => (await queue.depth(QUEUES.toSalesforce)).visible;

  it('enqueues a stub with the full key for a mapped event', async () => {
    const res = await receive(post(businessEvent({ CustomerAccount: "O'Neil & Sons" })));
    expect(res.status).toBe(202);
    const [message] = await queue.receive(QUEUES.toSalesforce);
    expect(message?.body).toMatchObject({
      kind: 'dynamics-stub',
      entity: 'CustomersV3',
      key: { dataAreaId: 'usmf', CustomerAccount: "O'Neil & Sons" },
      trigger: 'business-event',
    });
  });

  it('drops a duplicate delivery of the same ControlNumber in the same legal entity', async () => {
    const event = businessEvent();
    await receive(post(event));
    const again = await receive(post({ ...event, EventId: randomUUID() }));
    expect(again.body.results).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);
    expect(await queued()).toBe(1);
    await receive(post(businessEvent({ BusinessEventLegalEntity: 'demf' })));
    expect(await queued()).toBe(2);
  });

  it('keeps ControlNumber digits beyond 2^53 distinct', async () => {
    const body = (n: string) =>
      JSON.stringify(businessEvent()).replace(/"ControlNumber":\d+/, `"ControlNumber":${n}`);
    await receive(post(body('9007199254740993')));
    await receive(post(body('9007199254740992')));
    expect(await queued()).toBe(2);
  });

  it('accepts the previous secret during a rotation', async () => {
    expect((await receive(post(businessEvent(), 'old-secret-still-valid-during-rotation'))).status).toBe(202);
  });

  it('accepts the secret in the X-ML-Connector-Secret header from senders that can set one', async () => {
    const viaHeader = post(businessEvent(), null, { 'x-ml-connector-secret': SECRET });
    expect((await receive(viaHeader)).status).toBe(202);
  });

  it('reads a JSON body whatever JSON-like content type it comes with, and refuses a form', async () => {
    const { 'content-type': _, ...noType } = post(businessEvent()).headers;
    expect((await receive({ ...post(businessEvent()), headers: noType })).status).toBe(202);
    const plain = post(businessEvent(), SECRET, { 'content-type': 'text/plain; charset=utf-8' });
    expect((await receive(plain)).status).toBe(202);
    const form = post(businessEvent(), SECRET, { 'content-type': 'application/x-www-form-urlencoded' });
    expect((await receive(form)).status).toBe(415);
  });

  it('answers 401 to a wrong or missing secret and enqueues nothing', async () => {
    expect((await receive(post(businessEvent(), 'wrong'))).status).toBe(401);
    expect((await receive(post(businessEvent(), null))).status).toBe(401);
    expect(await queued()).toBe(0);
  });

  it('answers 202 with an audit note for an unknown event and enqueues nothing', async () => {
    const res = await receive(post(businessEvent({ BusinessEventId: 'VendorInvoicePostedBusinessEvent' })));
    expect(res.status).toBe(202);
    expect(res.body.results?.[0]).toMatchObject({ outcome: 'ignored' });
    expect(await queued()).toBe(0);
    expect(await state.queryAudit({ outcome: 'ignored' })).toHaveLength(1);
    expect(ignored).toEqual([
      { shape: 'envelope', reason: 'no mapping for BusinessEventId VendorInvoicePostedBusinessEvent' },
    ]);
  });

  it('enqueues an order-status stub for an invoice-posted event, keyed by its SalesOrderId', async () => {
    const invoice = businessEvent({
      BusinessEventId: 'SalesInvoicePostedBusinessEvent',
      CustomerAccount: undefined,
      InvoiceAccount: 'US-001',
      InvoiceId: 'CIV-000042',
      SalesOrderId: 'SO-000123',
      InvoiceAmountInAccountingCurrency: 1250.5,
      LegalEntity: 'USMF',
    });
    expect((await receive(post(invoice))).status).toBe(202);
    const [message] = await queue.receive(QUEUES.toSalesforce);
    expect(message?.body).toMatchObject({
      kind: 'order-status',
      dataAreaId: 'usmf',
      salesOrderNumber: 'SO-000123',
      trigger: 'business-event',
      source: invoice.EventId,
    });
    const [entry] = await state.queryAudit({ recordKey: 'dynamics:SalesOrderHeadersV2:usmf:SO-000123' });
    expect(entry).toMatchObject({ flow: 'order-status', outcome: 'enqueued' });
  });

  it('ignores with a 202 an order event whose payload lacks the sales order number, or whose company is not synced', async () => {
    const noNumber = businessEvent({ BusinessEventId: 'SalesOrderPackingSlipPostedBusinessEvent' });
    const elsewhere = businessEvent({
      BusinessEventId: 'SalesInvoicePostedBusinessEvent',
      BusinessEventLegalEntity: 'GBSI',
      SalesOrderId: 'SO-000001',
    });
    for (const event of [noNumber, elsewhere]) {
      const res = await receive(post(event));
      expect(res.status).toBe(202);
      expect(res.body.results?.[0]).toMatchObject({ outcome: 'ignored' });
    }
    expect(ignored.map((i) => i.reason)).toEqual([
      'SalesOrderPackingSlipPostedBusinessEvent: no sales order number in SalesOrderId',
      'legal entity gbsi is not synced',
    ]);
    expect(await queued()).toBe(0);
  });

  it('treats a BusinessEventId named like an object property as unmapped', async () => {
    for (const id of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const res = await receive(
        post(businessEvent({ BusinessEventId: id, ControlNumber: 5637144600 + id.length })),
      );
      expect(res).toMatchObject({ status: 202, body: { results: [{ outcome: 'ignored' }] } });
    }
    expect(await queued()).toBe(0);
  });

  it('answers 413 to an oversized body', async () => {
    const res = await receive(post(businessEvent({ CustomerAccount: 'x'.repeat(5000) })));
    expect(res.status).toBe(413);
  });

  it('rejects a batch with one bad event without enqueuing the good ones', async () => {
    const res = await receive(post([businessEvent(), businessEvent({ CustomerAccount: 42 })]));
    expect(res).toMatchObject({
      status: 400,
      body: { reason: expect.stringContaining('event 1: CustomerAccount') },
    });
    expect(await queued()).toBe(0);
  });

  it('answers 4xx to fuzzed bodies without crashing or enqueuing', async () => {
    const arbitraryValue = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom(
        "'; DROP TABLE x; --",
        "' or 1 eq 1 or '",
        "\\' OR Name LIKE '%",
        '\u0000',
        '%27%20or%20',
      ),
    );
    const badEvent = fc.oneof(
      fc.string().map((s) => s),
      fc
        .record({ BusinessEventId: arbitraryValue, ControlNumber: arbitraryValue, EventId: arbitraryValue })
        .map(JSON.stringify),
      fc.constantFrom(
        '{',
        '[]',
        'null',
        '"x"',
        '[1,2]',
        '{"BusinessEventId":"MLCustomerChangedBusinessEvent"}',
      ),
      arbitraryValue.map((v) =>
        JSON.stringify(
          businessEvent({ ControlNumber: typeof v === 'number' && v >= 0 && Number.isInteger(v) ? -1 : v }),
        ),
      ),
    );
    await fc.assert(
      fc.asyncProperty(badEvent, async (body) => {
        const res = await receive(post(body));
        return res.status >= 400 && res.status < 500;
      }),
      { numRuns: 300 },
    );
    expect(await queued()).toBe(0);
  });

  it('keeps metacharacters in key values as data, not syntax', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[^\p{Cc}]{1,40}$/u), async (account) => {
        const res = await receive(
          post(businessEvent({ CustomerAccount: account, ControlNumber: Math.floor(Math.random() * 1e12) })),
        );
        return res.status === 202;
      }),
      { numRuns: 100 },
    );
    const messages = await queue.receive<{ key: { CustomerAccount: string } }>(QUEUES.toSalesforce);
    for (const m of messages) expect(typeof m.body.key.CustomerAccount).toBe('string');
  });
});

describe('createBusinessEventReceiver with Dataverse RemoteExecutionContext bodies', () => {
  let state: StateStore;
  let queue: WorkQueue;
  let receive: ReturnType<typeof createBusinessEventReceiver>;
  let ignored: IgnoredEvent[];
  beforeEach(() => {
    ({ state, queue, receive, ignored } = receiverOnMemory({ current: SECRET }));
  });
  const stubs = async () => (await queue.receive(QUEUES.toSalesforce, { max: 10 })).map((m) => m.body);

  it('maps a CustomersV3 data event to a stub keyed from its Target', async () => {
    const event = dataEvent();
    const res = await receive(post(event));
    expect(res).toMatchObject({
      status: 202,
      body: { results: [{ outcome: 'enqueued', eventId: event.OperationId }] },
    });
    expect(await stubs()).toEqual([
      expect.objectContaining({
        kind: 'dynamics-stub',
        entity: 'CustomersV3',
        key: { dataAreaId: 'usmf', CustomerAccount: 'US-001' },
        trigger: 'business-event',
        source: event.OperationId,
      }),
    ]);
  });

  it('maps a ReleasedProductsV2 data event by the default mapping', async () => {
    const event = dataEvent({
      table: 'mserp_ecoresreleasedproductv2entity',
      message: 'OnExternalCreated',
      target: { mserp_dataareaid: 'demf', mserp_itemnumber: 'P000042' },
    });
    expect((await receive(post(event))).status).toBe(202);
    expect(await stubs()).toEqual([
      expect.objectContaining({
        entity: 'ReleasedProductsV2',
        key: { dataAreaId: 'demf', ItemNumber: 'P000042' },
      }),
    ]);
  });

  it('takes the keys from the PreImage when the Target carries only changed columns', async () => {
    const event = dataEvent({
      target: { mserp_organizationname: 'Renamed' },
      preImage: { mserp_dataareaid: 'USMF', mserp_customeraccount: 'US-002' },
    });
    expect((await receive(post(event))).status).toBe(202);
    expect(await stubs()).toEqual([
      expect.objectContaining({ key: { dataAreaId: 'usmf', CustomerAccount: 'US-002' } }),
    ]);
  });

  it('drops a second delivery of the same OperationId', async () => {
    const event = dataEvent();
    await receive(post(event));
    const again = await receive(post({ ...event, CorrelationId: randomUUID() }));
    expect(again.body.results).toEqual([expect.objectContaining({ outcome: 'duplicate' })]);
    expect(await stubs()).toHaveLength(1);
  });

  it('answers 202 and ignores, with an audit note and the ignored hook, what it cannot map', async () => {
    const cases = [
      dataEvent({ table: 'mserp_salesorderheaderv2entity', target: { mserp_salesordernumber: 'SO-1' } }),
      dataEvent({ target: null }), // InputParameters dropped (Dataverse does so above 256 KB)
      dataEvent({ target: { mserp_dataareaid: 'usmf', mserp_customeraccount: { Value: 3 } } }),
      dataEvent({ target: { mserp_dataareaid: 'gbsi', mserp_customeraccount: 'GB-001' } }),
      { ...dataEvent(), PrimaryEntityName: 'contact', InputParameters: 'not a list' },
      { ...dataEvent(), PrimaryEntityName: 'constructor' },
      { ...dataEvent(), PrimaryEntityName: '__proto__' },
    ];
    for (const event of cases) {
      const res = await receive(post(event));
      expect(res.status).toBe(202);
      expect(res.body.results?.[0]?.outcome).toBe('ignored');
    }
    expect(await stubs()).toEqual([]);
    const notes = await state.queryAudit({ outcome: 'ignored' });
    expect(notes).toHaveLength(cases.length);
    expect(notes.map((n) => n.error)).toEqual(
      expect.arrayContaining([
        'no data event mapping for mserp_salesorderheaderv2entity',
        'mserp_custcustomerv3entity: no mserp_dataareaid in Target or the images',
        'mserp_custcustomerv3entity: no mserp_customeraccount in Target or the images',
        'legal entity gbsi is not synced',
        'no data event mapping for contact',
        'no data event mapping for constructor',
      ]),
    );
    expect(ignored.map((i) => i.shape)).toEqual(cases.map(() => 'remote-execution-context'));
  });

  it('never answers 4xx or 5xx to a fuzzed RemoteExecutionContext, and enqueues only mapped keys', async () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('usmf', 'US-001', 'mserp_dataareaid', "' or 1 eq 1 or '", '\u0000'),
      fc.dictionary(fc.string(), fc.string()),
    );
    const attributes = fc.dictionary(
      fc.constantFrom('mserp_dataareaid', 'mserp_customeraccount', 'mserp_itemnumber', 'Name', ''),
      value,
    );
    const body = fc.record({
      MessageName: fc.string(),
      PrimaryEntityName: fc.oneof(
        fc.constantFrom('mserp_custcustomerv3entity', 'mserp_ecoresreleasedproductv2entity', 'MSERP_X'),
        fc.string(),
        value,
      ),
      OperationId: fc.oneof(fc.uuid(), fc.string(), value),
      InputParameters: fc.oneof(
        value,
        fc.array(
          fc.record({
            key: fc.constantFrom('Target', 'PreImage', 'x'),
            value: fc.oneof(
              value,
              attributes.map((a) => ({
                Attributes: Object.entries(a).map(([key, v]) => ({ key, value: v })),
              })),
            ),
          }),
        ),
      ),
      PreEntityImages: fc.oneof(value, fc.array(fc.record({ key: fc.string(), value }))),
    });
    await fc.assert(
      fc.asyncProperty(body, async (event) => {
        const res = await receive(post(event));
        return res.status === 202;
      }),
      { numRuns: 300 },
    );
    for (const stub of await stubs()) {
      const { key } = stub as { key: Record<string, unknown> };
      expect(['usmf', 'demf']).toContain(key.dataAreaId);
      for (const v of Object.values(key)) expect(typeof v).toBe('string');
    }
  });
});

describe('secretMatches', () => {
  it('matches the current or previous secret only', () => {
    expect(secretMatches('a', { current: 'a' })).toBe(true);
    expect(secretMatches('b', { current: 'a', previous: 'b' })).toBe(true);
    expect(secretMatches('c', { current: 'a', previous: 'b' })).toBe(false);
    expect(secretMatches('', { current: 'a' })).toBe(false);
  });
});
