import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

describe('checkConfiguration with currencies.map', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 30, products: 10, salesOrders: 0 } },
      config: { currencies: { map: { GBP: 'GBX' } } },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs with a mapped legal-entity currency and keeps each accounting currency from Ledgers as Dynamics codes it', () => {
    expect(
      Object.fromEntries([...h.ctx.reference.legalEntities].map(([id, le]) => [id, le.currency])),
    ).toEqual({
      demf: 'EUR',
      gbsi: 'GBP',
      usmf: 'USD',
    });
    expect(h.ctx.reference.currencies.has('GBP')).toBe(true);
  });
});
