import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRunner } from '#adapters/local/runner.ts';
import { checkSystemIdentity } from '#core/engine/identity.ts';
import { writeBackAccount } from '#core/flows/account-write-back.ts';
import { staticSecrets } from '#core/ports/secrets.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { markReconciled, reconcileDue } from '#core/triggers/reconcile-schedule.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

type Row = Record<string, unknown>;
const total = (runs: readonly Row[], field: string) => runs.reduce((n, r) => n + Number(r[field] ?? 0), 0);

describe('drift repair and changed systems', () => {
  let h: EngineHarness;
  let accounts = 0;
  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 24, products: 6, salesOrders: 0 } } });
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(first.stopped).toBeUndefined();
    accounts = h.sandboxes.salesforce.control.query('SELECT Id FROM Account').records.length;
  });
  afterAll(() => h.close());

  const sf = () => h.sandboxes.salesforce.control;
  const account = (key: string) =>
    sf().query(`SELECT Id, Name, Phone FROM Account WHERE D365_Customer_Key__c = '${key}'`).records[0];

  it('recreates what was deleted in Salesforce and corrects what was edited there, which a plain sync skips', async () => {
    const [a, b] = sf().query('SELECT Id, Name, D365_Customer_Key__c FROM Account ORDER BY Id').records;
    const deletedKey = String(a?.D365_Customer_Key__c);
    const editedKey = String(b?.D365_Customer_Key__c);
    sf().delete('Account', String(a?.Id));
    sf().update('Account', String(b?.Id), { Name: 'Edited by a rep' });
    const [product] = sf().query('SELECT Id, Name, D365_Item_Key__c FROM Product2 ORDER BY Id').records;
    sf().update('Product2', String(product?.Id), { IsActive: false });

    const plain = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(total(plain.runs as unknown as Row[], 'upserted')).toBe(0);
    expect(account(deletedKey)).toBeUndefined();

    const before = h.ctx.salesforce.counter.snapshot();
    const repair = await runDynamicsBackfill(h.ctx, {
      entities: ['CustomersV3', 'ReleasedProductsV2'],
      reconcile: true,
    });
    expect(repair.stopped).toBeUndefined();
    const runs = repair.runs as unknown as Row[];
    expect(total(runs, 'created')).toBe(1);
    expect(total(runs, 'updated')).toBe(2);
    expect(account(deletedKey)).toBeDefined();
    expect(account(editedKey)?.Name).toBe(b?.Name);
    expect(
      sf().query(`SELECT IsActive FROM Product2 WHERE Id = '${String(product?.Id)}'`).records[0]?.IsActive,
    ).toBe(true);
    expect(sf().query('SELECT Id FROM Account').records).toHaveLength(accounts);
    // Cheap: the comparison is one SOQL per page of records (≤ 200 keys each), not one per record.
    const after = h.ctx.salesforce.counter.snapshot();
    const queries = (after.byOperation['rest.query'] ?? 0) - (before.byOperation['rest.query'] ?? 0);
    // Per legal entity and entity: one page, so one lookup, and one page of the keys Salesforce
    // holds (deletions in F&O); plus the price book read of the repaired product.
    expect(queries).toBeGreaterThanOrEqual(runs.length * 2);
    expect(queries).toBeLessThanOrEqual(runs.length * 2 + 2);

    // Repaired: the next reconcile finds nothing.
    const again = await runDynamicsBackfill(h.ctx, {
      entities: ['CustomersV3', 'ReleasedProductsV2'],
      reconcile: true,
    });
    expect(total(again.runs as unknown as Row[], 'upserted')).toBe(0);
  });

  it('resets the stored hashes when the Salesforce org changed under the same configuration, and says why', async () => {
    const session = await h.clients.salesforce.tokenSource.getSession();
    expect(await checkSystemIdentity(h.ctx, session.orgId)).toEqual([]);
    // A sandbox refresh: the same My Domain, a new org id.
    const reasons = await checkSystemIdentity(h.ctx, '00DRO000000REFRESH');
    expect(reasons).toEqual([
      expect.stringContaining(`the Salesforce org changed from ${session.orgId} to 00DRO000000REFRESH`),
    ]);
    expect(h.logs.some((l) => l.includes('identity.changed') && l.includes('sandbox refresh'))).toBe(true);

    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    const runs = report.runs as unknown as Row[];
    // Every customer compared and sent again (by External ID: no duplicates).
    expect(total(runs, 'skipped')).toBe(0);
    expect(total(runs, 'upserted')).toBe(total(runs, 'read'));
    expect(sf().query('SELECT Id FROM Account').records).toHaveLength(accounts);
    // Back to normal: the next sync skips what is unchanged.
    const next = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(total(next.runs as unknown as Row[], 'upserted')).toBe(0);
    expect(await checkSystemIdentity(h.ctx, '00DRO000000REFRESH')).toEqual([]);
  });

  it('resets the stored hashes when the F&O environment was refreshed (the connector-created customer is gone)', async () => {
    const accountId = sf().createAccount({ Name: 'Canary Ltd', BillingCountryCode: 'GB' });
    const result = await writeBackAccount(h.ctx, accountId, 'cdc');
    expect(result.outcome).toBe('succeeded');
    const orgId = '00DRO000000REFRESH';
    expect(await checkSystemIdentity(h.ctx, orgId)).toEqual([]);
    if (result.outcome !== 'succeeded') return;
    h.sandboxes.dynamics.control.deleteRecord('CustomersV3', {
      dataAreaId: result.dataAreaId,
      CustomerAccount: result.customerAccount,
    });
    const reasons = await checkSystemIdentity(h.ctx, orgId);
    expect(reasons).toEqual([expect.stringContaining("the F&O environment's data changed")]);
    // Reported once: the canary is dropped until the write-back creates the next one.
    expect(await checkSystemIdentity(h.ctx, orgId)).toEqual([]);
  });

  it('runs the scheduled repair in the local runner when due, weekly by default', async () => {
    expect(h.config.schedules.reconcileDays).toBe(7);
    const runner = await startLocalRunner({
      ctx: h.ctx,
      tokens: h.clients.salesforce.tokenSource,
      secrets: staticSecrets({
        dynamics: { clientId: 'unused', clientSecret: 'unused' },
        salesforce: { clientId: 'unused', clientSecret: 'unused' },
        businessEvents: { current: 'unused-receiver-secret' },
      }),
      receiver: false,
      cdc: false,
      backfillOnStart: false,
      pollIntervalMs: 100,
    });
    try {
      const deleteOne = () => {
        const [a] = sf().query(
          "SELECT Id, D365_Customer_Key__c FROM Account WHERE D365_Customer_Key__c LIKE 'usmf:%' ORDER BY Id",
        ).records;
        sf().delete('Account', String(a?.Id));
        return String(a?.D365_Customer_Key__c);
      };
      // Never reconciled: the scheduled backfill repairs, and remembers when.
      const first = deleteOne();
      await runner.backfill();
      expect(account(first)).toBeDefined();
      expect(await reconcileDue(h.ctx)).toBe(false);
      // Within the week the backfill trusts the hashes.
      const second = deleteOne();
      await runner.backfill();
      expect(account(second)).toBeUndefined();
      // A week later it is due again.
      expect(await reconcileDue({ ...h.ctx, now: () => Date.now() + 7 * 86_400_000 })).toBe(true);
      await markReconciled(h.ctx);
    } finally {
      await runner.stop();
    }
  });
});
