import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReceiverServer, startReceiverServer } from '#adapters/local/receiver-server.ts';
import { createBusinessEventReceiver } from '#core/triggers/business-events.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

const SECRET = 'receiver-secret-4f9d0c7b2a7e4f5c9b1d';

describe('business events from the Dynamics sandbox through the local receiver', () => {
  let h: EngineHarness;
  let server: ReceiverServer;
  const outcomes: string[] = [];

  beforeAll(async () => {
    h = await startEngineHarness();
    const receive = createBusinessEventReceiver({
      config: h.config,
      state: h.state,
      queue: h.queue,
      logger: h.ctx.logger,
      secrets: async () => ({ current: SECRET }),
    });
    server = await startReceiverServer({
      receive: async (request) => {
        const answer = await receive(request);
        outcomes.push(...(answer.body.results?.map((r) => r.outcome) ?? [answer.body.status]));
        return answer;
      },
      maxBodyBytes: h.config.businessEvents.maxBodyBytes,
    });
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });

  async function stubs(): Promise<DynamicsStub[]> {
    const out: DynamicsStub[] = [];
    for (;;) {
      const got = await h.queue.receive<DynamicsStub>(QUEUES.toSalesforce);
      if (got.length === 0) return out;
      out.push(...got.map((m) => m.body));
      await h.queue.ack(
        QUEUES.toSalesforce,
        got.map((m) => m.receiptHandle),
      );
    }
  }

  it('enqueues one stub per change although F&O delivers duplicates out of order', async () => {
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=${SECRET}`,
      duplicateProbability: 0.5,
      reorderWindow: 4,
      retryDelayMs: 50,
      seed: 7,
    });
    const accounts = ['US-000001', 'US-000002', 'US-000003', 'US-000004', 'US-000005', 'US-000006'];
    for (const account of accounts) {
      h.sandboxes.dynamics.control.updateRecord(
        'CustomersV3',
        { dataAreaId: 'usmf', CustomerAccount: account },
        { PrimaryContactPhone: '+1 555 0100' },
      );
    }
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    const got = await stubs();
    expect(got.map((s) => s.key.CustomerAccount).sort()).toEqual(accounts);
    expect(got.every((s) => s.entity === 'CustomersV3' && s.key.dataAreaId === 'usmf')).toBe(true);
    // The seeded plan made F&O deliver some events twice; the receiver dropped those as duplicates.
    expect(outcomes.filter((o) => o === 'enqueued')).toHaveLength(accounts.length);
    expect(outcomes.filter((o) => o === 'duplicate').length).toBeGreaterThan(0);
  });

  it('refuses events sent with a wrong secret, so F&O parks them, and enqueues nothing', async () => {
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${server.url}?code=wrong`,
      retries: 1,
      retryDelayMs: 20,
    });
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'demf', CustomerAccount: 'DE-000001' },
      { PrimaryContactPhone: '+49 30 0000' },
    );
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    expect(await stubs()).toEqual([]);
    expect(h.sandboxes.dynamics.control.businessEventErrors().length).toBeGreaterThan(0);
  });
});
