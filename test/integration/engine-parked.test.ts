/**
 * Parked work retried by itself (core/engine/parked.ts): a won opportunity parked for a product
 * that is not released in its legal entity goes through once the products flow brings that
 * product, through the same pumps and workers as the local shape; `status`'s list of parked
 * records follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchAudit } from '#core/engine/audit-watch.ts';
import { listParked, retryingParked } from '#core/engine/parked.ts';
import { pumpOnce } from '#core/engine/pump.ts';
import { type DynamicsStub, QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

describe('parked work', () => {
  let h: EngineHarness;
  /** The local runner's pumps: each worker writes through its own audit watch. */
  let toDynamics: () => Promise<number>;
  let toSalesforce: () => Promise<number>;

  beforeAll(async () => {
    h = await startEngineHarness();
    createSalesforceProducts(h, ['P000001', 'PNEW11', 'PNEW12']);
    const dynamicsWatch = watchAudit(h.ctx.state);
    const dynamicsWorker = createToDynamicsWorker({ ...h.ctx, state: dynamicsWatch.state });
    toDynamics = () =>
      pumpOnce<SalesforceStub>(
        h.ctx,
        QUEUES.toDynamics,
        retryingParked(h.ctx, dynamicsWatch, (m) => dynamicsWorker.handleBatch(m)),
      );
    const salesforceWatch = watchAudit(h.ctx.state);
    const salesforceWorker = createToSalesforceWorker({ ...h.ctx, state: salesforceWatch.state });
    toSalesforce = () =>
      pumpOnce<DynamicsStub>(
        h.ctx,
        QUEUES.toSalesforce,
        retryingParked(h.ctx, salesforceWatch, (m) => salesforceWorker.handle(m)),
      );
  });
  afterAll(async () => {
    await h?.close();
  });

  const enqueueOpportunity = (id: string) =>
    h.ctx.queue.send(QUEUES.toDynamics, [
      {
        body: {
          kind: 'salesforce-stub',
          sobject: 'Opportunity',
          id,
          trigger: 'cdc',
          observedAt: h.ctx.now(),
        },
      },
    ]);
  const releaseProduct = async (item: string) => {
    h.sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: item,
      ProductSearchName: `NEW${item}`,
      SalesPrice: 250,
    });
    await h.ctx.queue.send(QUEUES.toSalesforce, [
      {
        body: {
          kind: 'dynamics-stub',
          entity: 'ReleasedProductsV2',
          key: { dataAreaId: 'usmf', ItemNumber: item },
          trigger: 'business-event',
          observedAt: h.ctx.now(),
        },
      },
    ]);
  };
  const latest = async (oppId: string) =>
    (await h.state.queryAudit({ recordKey: `salesforce:Opportunity:${oppId}`, limit: 1 }))[0];

  it('retries an order parked for a missing product by itself once the product arrives', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000005'), ['P000001', 'PNEW11']);
    await enqueueOpportunity(oppId);
    expect(await toDynamics()).toBe(1);
    const parked = await latest(oppId);
    expect(parked).toMatchObject({
      outcome: 'parked',
      waitsFor: ['dynamics:ReleasedProductsV2:usmf:PNEW11'],
    });
    expect(parked?.error).toMatch(/PNEW11 are not released products in legal entity usmf/);

    // The product is released in F&O: its business event brings it to Salesforce, and that
    // success puts the parked order back on the to-Dynamics queue.
    await releaseProduct('PNEW11');
    expect(await toSalesforce()).toBe(1);
    expect(await latest(oppId)).toMatchObject({ outcome: 'enqueued', trigger: 'replay' });
    expect(await toDynamics()).toBe(1);

    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines.map((l) => l.ItemNumber)).toEqual(['P000001', 'PNEW11']);
    expect(await latest(oppId)).toMatchObject({ outcome: 'succeeded' });
  });

  it('leaves parked work alone when what arrives is not what it waits for', async () => {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000006'), ['PNEW12']);
    await enqueueOpportunity(oppId);
    await toDynamics();
    expect(await latest(oppId)).toMatchObject({ outcome: 'parked' });

    await releaseProduct('PNEW13');
    expect(await toSalesforce()).toBe(1);
    expect(await latest(oppId)).toMatchObject({ outcome: 'parked' });
    expect(await h.ctx.queue.depth(QUEUES.toDynamics)).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('lists the records still parked with their reasons, not those done since', async () => {
    const parked = await listParked(h.state, { now: h.ctx.now() });
    const keys = parked.map((p) => p.recordKey);
    expect(parked).toContainEqual(
      expect.objectContaining({
        flow: 'won-opportunities',
        reason: expect.stringMatching(/PNEW12 are not released products/),
        waitsFor: ['dynamics:ReleasedProductsV2:usmf:PNEW12'],
      }),
    );
    const done = (await h.state.queryAudit({ outcome: 'succeeded', limit: 100 })).map((e) => e.recordKey);
    expect(keys.filter((k) => done.includes(k))).toEqual([]);
  });
});
