/**
 * The engine under faults on both sides at once: throttling with Retry-After, 503s, connection
 * resets and token expiry on Dynamics and Salesforce, dropped CDC streams, and business events
 * delivered twice and out of order. Afterwards: nothing lost, nothing duplicated.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { LocalRunner } from '#adapters/local/runner.ts';
import {
  CHAOS_CUSTOMERS,
  CHAOS_PRODUCTS,
  configureChaosBusinessEvents,
  DYNAMICS_CHAOS_FAULTS,
  expectNothingLostOrDuplicated,
  SALESFORCE_CHAOS_RULES,
  salesActivity,
  untilActivityApplied,
} from '#test/support/chaos-scenario.ts';
import { type EngineHarness, startEngineHarness, startHarnessRunner } from '#test/support/engine-harness.ts';

const SECRET = 'chaos-receiver-secret-31415926';

describe('the engine under faults on both sides', () => {
  let h: EngineHarness;
  let runner: LocalRunner;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: CHAOS_CUSTOMERS, products: CHAOS_PRODUCTS, salesOrders: 0 } },
    });
    runner = await startHarnessRunner(h, { receiverSecret: SECRET });
    h.sandboxes.dynamics.control.setFaultPlan(DYNAMICS_CHAOS_FAULTS);
    h.sandboxes.salesforce.control.setFaultPlan({ seed: 12, rules: [...SALESFORCE_CHAOS_RULES] });
    configureChaosBusinessEvents(h, runner.receiverUrl ?? '', SECRET);
  });
  afterAll(async () => {
    await runner?.stop();
    await h?.close();
  });

  it('loses nothing and duplicates nothing', async () => {
    await runner.backfill();
    await runner.idle({ timeoutMs: 90_000 });

    // Business events (delivered twice, out of order) and sales activity seen through CDC (with
    // dropped streams) and the backfill.
    const activity = salesActivity(h);
    await h.sandboxes.dynamics.control.flushBusinessEvents();
    await untilActivityApplied(h, activity);
    // A last backfill catches anything a fault deferred; it must find nothing new to create.
    await runner.backfill();
    await runner.idle({ timeoutMs: 90_000 });

    expectNothingLostOrDuplicated(h, activity);
  }, 240_000);
});
