/**
 * The account write-back against the customers backfill: the customer exists in F&O (carrying the
 * Account Id) a moment before its key is written back to the Account. A backfill in that moment
 * must update that Account, not create a second one by External ID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBackAccount } from '#core/flows/account-write-back.ts';
import type { SalesforceApi } from '#core/ports/apis.ts';
import { CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

/** A Salesforce client that runs `before` once, right before the first update of Account `accountId`. */
function pausingBeforeKeyWrite(
  salesforce: SalesforceApi,
  accountId: string,
  before: () => Promise<void>,
): SalesforceApi {
  let ran = false;
  return new Proxy(salesforce, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'update' || typeof value !== 'function') return value;
      return async (...args: Parameters<SalesforceApi['update']>) => {
        if (!ran && args[0] === 'Account' && args[1] === accountId) {
          ran = true;
          await before();
        }
        return value.apply(target, args);
      };
    },
  });
}

/**
 * A new GB Account `name` in the harness's Salesforce, and the harness's engine on a client that
 * runs `before` once, right before that Account's key is written back.
 */
function accountPausedBeforeKeyWrite(
  h: EngineHarness,
  name: string,
  before: (accountId: string) => Promise<void>,
) {
  const accountId = h.sandboxes.salesforce.control.createAccount({ Name: name, BillingCountryCode: 'GB' });
  const salesforce = pausingBeforeKeyWrite(h.ctx.salesforce, accountId, () => before(accountId));
  return { accountId, ctx: { ...h.ctx, salesforce } };
}

describe('account write-back racing the customers backfill', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness({ sandboxes: { dynamics: { customers: 6, products: 2, salesOrders: 0 } } });
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(first.stopped).toBeUndefined();
  });
  afterAll(() => h.close());

  const accountsKeyed = (key: string) =>
    h.sandboxes.salesforce.control.query(`SELECT Id, Name FROM Account WHERE D365_Customer_Key__c = '${key}'`)
      .records;
  const accountsNamed = (name: string) =>
    h.sandboxes.salesforce.control.query(`SELECT Id FROM Account WHERE Name = '${name}'`).records;

  it('keeps one Account when the backfill runs between the customer create and the key write-back', async () => {
    const name = 'Race Between Writes Ltd';
    let backfillUpdated = -1;
    const { accountId, ctx } = accountPausedBeforeKeyWrite(h, name, async () => {
      const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
      expect(report.stopped).toBeUndefined();
      backfillUpdated = report.runs.reduce((n, r) => n + r.updated + r.created, 0);
    });

    const result = await writeBackAccount(ctx, accountId, 'cdc');
    expect(result.outcome).toBe('succeeded');
    expect(backfillUpdated).toBe(1);
    if (result.outcome !== 'succeeded') return;
    const keyed = accountsKeyed(result.key);
    expect(keyed.map((a) => a.Id)).toEqual([accountId]);
    expect(accountsNamed(name)).toHaveLength(1);

    // The next backfill sees nothing new and still one Account.
    const again = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(again.runs.reduce((n, r) => n + r.created, 0)).toBe(0);
    expect(accountsNamed(name)).toHaveLength(1);
  });

  it('keeps one Account when the backfill runs after the key write-back', async () => {
    const sf = h.sandboxes.salesforce.control;
    const name = 'Race After Writes Ltd';
    const accountId = sf.createAccount({ Name: name, BillingCountryCode: 'GB' });
    const result = await writeBackAccount(h.ctx, accountId, 'cdc');
    expect(result.outcome).toBe('succeeded');
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(0);
    expect(accountsNamed(name).map((a) => a.Id)).toEqual([accountId]);
  });

  it('creates the Account again by External ID when the Account the customer came from was deleted', async () => {
    const name = 'Deleted Origin Ltd';
    const { accountId, ctx } = accountPausedBeforeKeyWrite(h, name, async (id) => {
      h.sandboxes.salesforce.control.delete('Account', id);
    });
    // The key write-back finds the Account gone (ENTITY_IS_DELETED) and fails; a retry skips it.
    await expect(writeBackAccount(ctx, accountId, 'cdc')).rejects.toThrow(/ENTITY_IS_DELETED/);
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(report.runs.reduce((n, r) => n + r.created, 0)).toBe(1);
    expect(accountsNamed(name)).toHaveLength(1);
  });
});

describe('account write-back racing a customers backfill that streams into a Bulk job', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 6, products: 2, salesOrders: 0 } },
      // A page with more than one changed record opens a Bulk job; later pages stream into it.
      config: { batches: { bulkThreshold: 1 } as never },
    });
    const first = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
    expect(first.stopped).toBeUndefined();
  });
  afterAll(() => h.close());

  it('updates the Account the customer came from by Id instead of upserting a second one', async () => {
    const sf = h.sandboxes.salesforce.control;
    const name = 'Race Into Bulk Ltd';
    const { accountId, ctx } = accountPausedBeforeKeyWrite(h, name, async () => {
      // Two customers of the first legal entity change, so its page opens the job the new
      // customer's page (gbsi) then streams into.
      const usmf = [];
      for await (const c of h.ctx.dynamics.read(CustomersV3, {
        company: 'usmf',
        select: ['CustomerAccount'],
      }))
        usmf.push(String(c.CustomerAccount));
      expect(usmf.length).toBeGreaterThanOrEqual(2);
      for (const id of usmf.slice(0, 2))
        h.sandboxes.dynamics.control.updateRecord(
          'CustomersV3',
          { dataAreaId: 'usmf', CustomerAccount: id },
          { OrganizationName: `Renamed ${id}` },
        );
      h.clients.salesforce.counter.reset();
      const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });
      expect(report.stopped).toBeUndefined();
      expect(h.clients.salesforce.counter.snapshot().byOperation['bulk.create']).toBe(1);
    });
    const result = await writeBackAccount(ctx, accountId, 'cdc');
    expect(result.outcome).toBe('succeeded');
    if (result.outcome === 'succeeded') expect(result.key.startsWith('gbsi:')).toBe(true);
    const accounts = sf.query(`SELECT Id FROM Account WHERE Name = '${name}'`).records;
    expect(accounts.map((a) => a.Id)).toEqual([accountId]);
  });
});
