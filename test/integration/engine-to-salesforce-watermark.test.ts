import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxConfig } from '#cli/demo-config.ts';
import { runDynamicsBackfill, watermarkName } from '#core/triggers/dynamics-backfill.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

const FIELD = 'MLModifiedDateTime';

describe('Dynamics backfill on a modified-timestamp watermark', () => {
  let h: EngineHarness;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 300, products: 30, salesOrders: 0, modifiedField: FIELD } },
      config: { modifiedFields: { CustomersV3: FIELD } },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('reads only records modified since the watermark and advances it after the work is done', async () => {
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(first.runs.reduce((n, r) => n + r.created, 0)).toBe(300);
    const mark = await h.state.getCheckpoint(watermarkName('CustomersV3', 'demf'));
    expect(mark?.value).toMatch(/^\d{4}-\d\d-\d\dT/);

    h.sandboxes.dynamics.control.advanceClock(5 * 60_000);
    const changed = h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'demf', CustomerAccount: 'DE-000007' },
      { OrganizationName: 'Rheinland Armaturen GmbH' },
    );
    h.sandboxes.dynamics.control.resetCounters();
    h.sandboxes.salesforce.control.resetCounters();
    const second = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    const demf = second.runs.find((r) => r.legalEntity === 'demf');
    expect(demf).toMatchObject({ updated: 1, failed: 0 });
    // The overlap window re-reads at most a few records; the hashes skip them.
    expect(second.runs.reduce((n, r) => n + r.read, 0)).toBeLessThan(20);
    expect(h.sandboxes.dynamics.control.counters()['odata.read']).toBe(3);
    expect(h.sandboxes.salesforce.control.counters()['rest.composite']).toBe(1);
    expect((await h.state.getCheckpoint(watermarkName('CustomersV3', 'demf')))?.value).toBe(
      new Date(Date.parse(String(changed[FIELD]))).toISOString(),
    );
    const [account] = h.sandboxes.salesforce.control.query(
      "SELECT Name FROM Account WHERE D365_Customer_Key__c = 'demf:DE-000007'",
    ).records as Record<string, unknown>[];
    expect(account?.Name).toBe('Rheinland Armaturen GmbH');

    // full: ignores the watermark and scans everything (hashes still skip the unchanged).
    const full = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'], full: true });
    expect(full.runs.reduce((n, r) => n + r.skipped, 0)).toBe(300);
  });

  it('reads everything once after the mapping changed, then only modified records again', async () => {
    await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    const config = sandboxConfig(h.sandboxes.info, {
      modifiedFields: { CustomersV3: FIELD },
      mappings: { customers: { AccountNumber: { template: 'C-{CustomerAccount}' } } },
    });
    const ctx = { ...h.ctx, config };
    const changed = await runDynamicsBackfill(ctx, { entities: ['CustomersV3'] });
    expect(changed.runs.reduce((n, r) => n + r.read, 0)).toBe(300);
    expect(changed.runs.reduce((n, r) => n + r.updated, 0)).toBe(300);
    const [account] = h.sandboxes.salesforce.control.query(
      "SELECT AccountNumber FROM Account WHERE D365_Customer_Key__c = 'demf:DE-000007'",
    ).records as Record<string, unknown>[];
    expect(account?.AccountNumber).toBe('C-DE-000007');
    const after = await runDynamicsBackfill(ctx, { entities: ['CustomersV3'] });
    expect(after.runs.reduce((n, r) => n + r.read, 0)).toBeLessThan(20);
    expect(after.runs.reduce((n, r) => n + r.updated, 0)).toBe(0);
  });
});
