import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { validateConfig } from '#core/config/validate.ts';
import { silentLogger } from '#core/logger.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';
import {
  createBusinessEventReceiver,
  type ReceiverRequest,
  secretMatches,
} from '#core/triggers/business-events.ts';
import { QUEUES } from '#core/work/items.ts';

const SECRET = 'be-secret-0123456789abcdef0123456789abcdef';
const config = validateConfig({
  dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
  salesforce: { myDomain: 'https://acme.my.salesforce.com' },
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

function post(
  body: unknown,
  secret: string | null = SECRET,
  headers: Record<string, string> = {},
): ReceiverRequest {
  return {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(secret ? { 'x-ml-connector-secret': secret } : {}),
      ...headers,
    },
    query: {},
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

describe('createBusinessEventReceiver', () => {
  let state: StateStore;
  let queue: WorkQueue;
  let receive: ReturnType<typeof createBusinessEventReceiver>;
  beforeEach(() => {
    state = createSqliteStateStore({ database: ':memory:' });
    queue = createSqliteWorkQueue({ database: ':memory:' });
    receive = createBusinessEventReceiver({
      config,
      state,
      queue,
      logger: silentLogger,
      secrets: async () => ({ current: SECRET, previous: 'old-secret-still-valid-during-rotation' }),
    });
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

  it('accepts the previous secret during a rotation and the secret as ?code=', async () => {
    expect((await receive(post(businessEvent(), 'old-secret-still-valid-during-rotation'))).status).toBe(202);
    const viaQuery = { ...post(businessEvent(), null), query: { code: SECRET } };
    expect((await receive(viaQuery)).status).toBe(202);
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

describe('secretMatches', () => {
  it('matches the current or previous secret only', () => {
    expect(secretMatches('a', { current: 'a' })).toBe(true);
    expect(secretMatches('b', { current: 'a', previous: 'b' })).toBe(true);
    expect(secretMatches('c', { current: 'a', previous: 'b' })).toBe(false);
    expect(secretMatches('', { current: 'a' })).toBe(false);
  });
});
