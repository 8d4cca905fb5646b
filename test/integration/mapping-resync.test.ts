import { afterAll, describe, expect, it } from 'vitest';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { MAPPING_ORG_FIELDS } from '#test/support/mapping-org.ts';
import { measureMappingChange } from '../../bench/mapping-change.ts';

describe('a changed mapping', () => {
  let h: EngineHarness | undefined;
  afterAll(async () => {
    await h?.close();
  });

  it('re-syncs only the records whose mapped fields it changes, once', async () => {
    h = await startEngineHarness({
      sandboxes: {
        dynamics: { customers: 60, products: 4, salesOrders: 0 },
        salesforce: { customFields: MAPPING_ORG_FIELDS },
      },
    });
    const all = h.sandboxes.dynamics.control.listRecords('CustomersV3');
    const cod = all.filter((c) => c.PaymentTerms === 'COD');
    expect(cod.length).toBeGreaterThan(0);
    const [initial, unchanged, valueMap, added] = await measureMappingChange(h);
    expect(initial).toMatchObject({ read: all.length, upserted: all.length });
    expect(unchanged).toMatchObject({ read: all.length, upserted: 0, skipped: all.length });
    expect(valueMap).toMatchObject({
      read: all.length,
      upserted: cod.length,
      skipped: all.length - cod.length,
    });
    expect(added).toMatchObject({ upserted: all.length });
    const accounts = h.sandboxes.salesforce.control.query(
      "SELECT Id FROM Account WHERE Payment_Terms__c = 'Cash'",
    ).records;
    expect(accounts).toHaveLength(cod.length);
  });
});
