import { describe, expect, it } from 'vitest';
import { writeBackAccount } from '#core/flows/account-write-back.ts';
import { LEASE_SECONDS } from '#core/flows/exactly-once.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';
import { useSalesOrderEngine } from '#test/support/sales-order-fixture.ts';
import {
  type CrashPlan,
  crashingContext,
  createSyncedAccount,
  createWonOpportunity,
  delivery,
  dynamicsCustomersNamed,
  dynamicsOrdersFor,
  SimulatedCrash,
} from './engine-to-dynamics-fixtures.ts';

const ITEMS = ['P000001', 'P000002', 'P000003'];

/** The writes of one opportunity with three lines for a synced Account, in order. */
const ORDER_STEPS: readonly [string, CrashPlan][] = [
  ['before the header create', { at: 1, when: 'before' }],
  ['after the header create', { at: 1, when: 'after' }],
  ['before the lines change set', { at: 2, when: 'before' }],
  ['after the lines change set, before the write-back', { at: 2, when: 'after' }],
  ['after the write-back, before completing the record', { at: 3, when: 'after' }],
  ['while completing the idempotency record', { at: 4, when: 'before' }],
];

describe('to-Dynamics exactly once under crashes and faults', () => {
  let h: EngineHarness;
  useSalesOrderEngine(ITEMS, (started) => {
    h = started;
  });

  const cases = ORDER_STEPS.flatMap(([step, plan]) => [
    [`fails ${step}`, plan] as const,
    [`is killed ${step}`, { ...plan, kill: true }] as const,
  ]);

  it.each(cases)('converges to one order with three lines when the worker %s', async (_, plan) => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000010');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const crashing = crashingContext(h.ctx, plan);

    const first = await createToDynamicsWorker(crashing.ctx).handle(delivery('Opportunity', oppId));
    expect(first).toBe('retry');
    expect(crashing.writes.length).toBeGreaterThanOrEqual(plan.at);

    // A killed worker released nothing: its successor runs once the lease has run out.
    const successor = plan.kill ? { ...h.ctx, now: () => Date.now() + (LEASE_SECONDS + 1) * 1000 } : h.ctx;
    const second = await createToDynamicsWorker(successor).handle(delivery('Opportunity', oppId, 2));
    expect(second).toBe('done');
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines.map((l) => l.LineNumber)).toEqual([1, 2, 3]);
    expect(h.sandboxes.salesforce.control.get('Opportunity', oppId)?.D365_Sales_Order__c).toBe(
      orders[0]?.header.SalesOrderNumber,
    );
    expect((await h.state.getIdempotent(`salesorder:Opportunity:${oppId}`))?.status).toBe('completed');
  });

  it('waits out the lease of a killed worker, then converges', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000014');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const killed = crashingContext(h.ctx, { at: 1, when: 'after', kill: true });
    expect(await createToDynamicsWorker(killed.ctx).handle(delivery('Opportunity', oppId))).toBe('retry');
    const held = await h.state.getIdempotent(`salesorder:Opportunity:${oppId}`);
    expect(held?.data.leaseOwner).toEqual(expect.any(String));

    // Within the lease another worker is told to retry when the lease ends, and writes nothing.
    expect(await createToDynamicsWorker(h.ctx).handle(delivery('Opportunity', oppId, 2))).toEqual({
      retryAfterSeconds: expect.any(Number),
    });
    expect(dynamicsOrdersFor(h, oppId)[0]?.lines).toHaveLength(0);

    const later = { ...h.ctx, now: () => Date.now() + (LEASE_SECONDS + 1) * 1000 };
    expect(await createToDynamicsWorker(later).handle(delivery('Opportunity', oppId, 3))).toBe('done');
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines.map((l) => l.LineNumber)).toEqual([1, 2, 3]);
  });

  it('never duplicates a line when F&O numbers lines differently from Salesforce and the worker dies before the lines', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000015');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const killed = crashingContext(h.ctx, { at: 1, when: 'after', kill: true });
    expect(await createToDynamicsWorker(killed.ctx).handle(delivery('Opportunity', oppId))).toBe('retry');
    const [half] = dynamicsOrdersFor(h, oppId);
    expect(half?.lines).toHaveLength(0);

    // Meanwhile someone adds a line in F&O: it takes LineNumber 1, the first Salesforce line's position.
    h.sandboxes.dynamics.control.createRecord('SalesOrderLines', {
      dataAreaId: 'usmf',
      SalesOrderNumber: String(half?.header.SalesOrderNumber),
      ItemNumber: ITEMS[1],
      LineNumber: 1,
    });

    const later = { ...h.ctx, now: () => Date.now() + (LEASE_SECONDS + 1) * 1000 };
    expect(await createToDynamicsWorker(later).handle(delivery('Opportunity', oppId, 2))).toBe('done');
    const [order] = dynamicsOrdersFor(h, oppId);
    const rows = (order?.lines ?? []).map((l) => [
      l.LineNumber,
      l.LineCreationSequenceNumber,
      l.ItemNumber,
      l.OrderLineReference === '' ? 'F&O' : 'Salesforce',
    ]);
    expect(rows).toEqual([
      [1, 1, 'P000002', 'F&O'],
      [2, 2, 'P000001', 'Salesforce'],
      [3, 3, 'P000002', 'Salesforce'],
      [4, 4, 'P000003', 'Salesforce'],
    ]);
    const references = (order?.lines ?? []).map((l) => l.OrderLineReference).filter((r) => r !== '');
    expect(new Set(references).size).toBe(3);
  });

  it('lists the order writes the crash plans count on', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000011');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const watching = crashingContext(h.ctx, { at: 0, when: 'after' });
    expect(await createToDynamicsWorker(watching.ctx).handle(delivery('Opportunity', oppId))).toBe('done');
    expect(watching.writes).toEqual([
      'dynamics.create:SalesOrderHeadersV2',
      'dynamics.changeSet',
      'salesforce.update',
      'state.completeIdempotent',
    ]);
  });

  it.each([
    ['after the customer create', { at: 1, when: 'after' }],
    ['after the key write-back', { at: 2, when: 'after' }],
    ['while completing the record', { at: 3, when: 'before' }],
  ] as const)('creates exactly one customer when write-back dies %s', async (label, plan) => {
    const sf = h.sandboxes.salesforce.control;
    const name = `Crash Test ${label}`;
    const accountId = sf.createAccount({ Name: name, BillingCountryCode: 'GB' });
    const crashing = crashingContext(h.ctx, plan);
    await expect(writeBackAccount(crashing.ctx, accountId, 'cdc')).rejects.toBeInstanceOf(SimulatedCrash);

    const again = await writeBackAccount(h.ctx, accountId, 'cdc');
    expect(['succeeded', 'exists']).toContain(again.outcome);
    const customers = dynamicsCustomersNamed(h, name);
    expect(customers).toHaveLength(1);
    expect(customers[0]).toMatchObject({ dataAreaId: 'gbsi', SalesCurrencyCode: 'GBP' });
    expect(sf.get('Account', accountId)?.D365_Customer_Key__c).toBe(
      `gbsi:${String(customers[0]?.CustomerAccount)}`,
    );
  });

  it('creates exactly one order under Dynamics 429/503 on reads and writes and a Salesforce token expiry', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000012');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    h.sandboxes.dynamics.control.setFaultPlan({
      rules: [
        { kind: 'throttle', match: 'odata.read', count: 1, retryAfterSeconds: 1 },
        { kind: 'error', match: 'odata.read', status: 503, count: 2 },
        { kind: 'error', match: 'odata.create', status: 503, count: 1 },
      ],
    });
    h.sandboxes.salesforce.control.setFaultPlan({
      rules: [{ kind: 'token-expiry', match: 'rest.*', count: 1 }],
    });

    const worker = createToDynamicsWorker(h.ctx);
    const outcomes: string[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const outcome = await worker.handle(delivery('Opportunity', oppId, attempt));
      outcomes.push(typeof outcome === 'string' ? outcome : 'dead-letter');
      if (outcome === 'done') break;
    }
    expect(outcomes.at(-1)).toBe('done');
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(3);
    expect(h.sandboxes.dynamics.control.faultsFired()).toMatchObject({ throttle: 1, error: 3 });
    expect(h.sandboxes.salesforce.faults.fired()).toMatchObject({ 'token-expiry': 1 });
  });

  it('creates one order for duplicate stubs processed concurrently, in a batch and by two workers', async () => {
    const accountId = createSyncedAccount(h, 'usmf', 'US-000013');
    const oppId = createWonOpportunity(h, accountId, ITEMS);
    const a = createToDynamicsWorker(h.ctx);
    const b = createToDynamicsWorker(h.ctx);

    const [batch, single] = await Promise.all([
      a.handleBatch([
        delivery('Opportunity', oppId),
        delivery('Opportunity', oppId),
        delivery('Opportunity', oppId),
      ]),
      b.handle(delivery('Opportunity', oppId)),
    ]);
    // The loser of the lease is told to retry; its retry finds the order done.
    const retries = batch.retry.length + (single === 'retry' ? 1 : 0);
    if (retries > 0) expect(await b.handle(delivery('Opportunity', oppId, 2))).toBe('done');
    expect(batch.deadLetter).toEqual([]);
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(3);
  });
});
