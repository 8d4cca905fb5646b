import { afterEach, describe, expect, it } from 'vitest';
import { type ConnectorClients, createClients } from '#adapters/clients.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';
import { useSalesOrderEngine } from '#test/support/sales-order-fixture.ts';
import {
  createSyncedAccount,
  createWonOpportunity,
  delivery,
  dynamicsOrdersFor,
} from './engine-to-dynamics-fixtures.ts';

const ITEMS = ['P000001', 'P000002'];

/**
 * A fake clock shared by the engine and its Dynamics client: a Retry-After wait moves the clock
 * at once, so storms of minutes run in milliseconds; `during(n, fn)` runs `fn` inside the n-th wait.
 */
function fakeTime() {
  let clock = Date.now();
  let waits = 0;
  const hooks = new Map<number, () => Promise<void>>();
  return {
    now: () => clock,
    async sleep(ms: number) {
      clock += ms;
      waits += 1;
      await hooks.get(waits)?.();
    },
    during(wait: number, fn: () => Promise<void>) {
      hooks.set(wait, fn);
    },
    waits: () => waits,
  };
}

describe('a sales order write never outlives its idempotency lease', () => {
  let h: EngineHarness;
  let clients: ConnectorClients | undefined;
  useSalesOrderEngine(ITEMS, (started) => {
    h = started;
  });
  afterEach(async () => {
    await clients?.close();
    clients = undefined;
  });

  /** The engine with a Dynamics client on the fake clock (a 5-minute retry budget, so long storms are waited out). */
  function onFakeTime(time: ReturnType<typeof fakeTime>): EngineContext {
    const { dynamics, salesforce } = h.sandboxes.info;
    clients = createClients(
      h.config,
      {
        dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
        salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
      },
      { dynamicsHttp: { sleep: time.sleep, now: time.now, retry: { budgetMs: 300_000, maxAttempts: 10 } } },
    );
    return { ...h.ctx, dynamics: clients.dynamics, now: time.now };
  }

  /** A won opportunity of ITEMS for a new usmf account `account`, and the engine on a fresh fake clock. */
  function wonOpportunityOnFakeTime(account: string) {
    const oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', account), ITEMS);
    const time = fakeTime();
    return { oppId, time, ctx: onFakeTime(time) };
  }

  /** The opportunity made exactly one sales order in F&O, with a line for each of ITEMS. */
  function expectOneOrderOfBothItems(oppId: string): void {
    const orders = dynamicsOrdersFor(h, oppId);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.lines).toHaveLength(2);
  }

  it('keeps the lease through a Retry-After storm longer than the lease, so a duplicate stub waits', async () => {
    const { oppId, time, ctx } = wonOpportunityOnFakeTime('US-000040');
    const leaseMs = ctx.config.salesOrders.leaseSeconds * 1000;
    // Three 429s of 50 s on the header create: 150 s of waiting, longer than the 120 s lease.
    h.sandboxes.dynamics.control.setFaultPlan({
      rules: [{ kind: 'throttle', match: 'odata.create', count: 3, retryAfterSeconds: 50 }],
    });
    expect(3 * 50_000).toBeGreaterThan(leaseMs);
    let second: unknown;
    // During the last wait, the poll's duplicate stub reaches a second worker.
    time.during(3, async () => {
      second = await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId));
    });

    expect(await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId))).toBe('done');
    expect(time.waits()).toBe(3);
    expect(second).toEqual({ retryAfterSeconds: expect.any(Number) });
    expectOneOrderOfBothItems(oppId);
  });

  it('stops a write before its re-send when a wait outlived the lease and another worker took it over', async () => {
    const { oppId, time, ctx } = wonOpportunityOnFakeTime('US-000041');
    // One 429 whose Retry-After (150 s) is longer than the lease (120 s).
    h.sandboxes.dynamics.control.setFaultPlan({
      rules: [{ kind: 'throttle', match: 'odata.create', count: 1, retryAfterSeconds: 150 }],
    });
    expect(150_000).toBeGreaterThan(ctx.config.salesOrders.leaseSeconds * 1000);
    let second: unknown;
    time.during(1, async () => {
      // The lease has run out: a second worker takes it, finds no header (the 429 was not processed), makes it.
      second = await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId));
    });

    const first = await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId));
    expect(second).toBe('done');
    expect(first).not.toBe('done');
    expect(dynamicsOrdersFor(h, oppId)).toHaveLength(1);

    // The first worker's redelivery finds the order made.
    expect(await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId, 2))).toBe('done');
    expectOneOrderOfBothItems(oppId);
  });

  it('leaves the lease to run out when the answer to a write was lost, then converges once it has', async () => {
    const { oppId, time, ctx } = wonOpportunityOnFakeTime('US-000042');
    // The connection drops on the lines' change set: F&O may or may not be applying it.
    h.sandboxes.dynamics.control.setFaultPlan({ rules: [{ kind: 'reset', match: 'odata.batch', count: 1 }] });
    expect(await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId))).toBe('retry');
    const held = await h.state.getIdempotent(`salesorder:Opportunity:${oppId}`);
    expect(held?.data.leaseOwner).toEqual(expect.any(String));
    // A redelivery within the lease writes nothing and is told when to come back.
    expect(await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId, 2))).toEqual({
      retryAfterSeconds: expect.any(Number),
    });
    await time.sleep(ctx.config.salesOrders.leaseSeconds * 1000 + 1000);
    expect(await createToDynamicsWorker(ctx).handle(delivery('Opportunity', oppId, 3))).toBe('done');
    expectOneOrderOfBothItems(oppId);
  });
});
