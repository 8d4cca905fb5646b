import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxConfig } from '#cli/demo-config.ts';
import { ConfigurationCheckError, checkConfiguration } from '#core/engine/check.ts';
import { migrateExternalIds } from '#core/engine/key-format.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';

describe('External IDs stable when a legal entity is added', () => {
  let h: EngineHarness;
  let accounts = 0;
  let products = 0;
  beforeAll(async () => {
    // An installation of an earlier version: one legal entity, keys without it.
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: 30, products: 8, salesOrders: 0 } },
      config: { legalEntities: ['usmf'], legalEntityRules: [], externalIds: { format: 'legacy' } },
    });
    const report = await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    accounts = h.sandboxes.salesforce.control.query('SELECT Id FROM Account').records.length;
    products = h.sandboxes.salesforce.control.query('SELECT Id FROM Product2').records.length;
  });
  afterAll(() => h.close());

  const sf = () => h.sandboxes.salesforce.control;
  const twoEntities = () =>
    sandboxConfig(h.sandboxes.info, {
      legalEntities: ['usmf', 'demf'],
      legalEntityRules: [{ billingCountry: { US: 'usmf', DE: 'demf' } }, { default: 'usmf' }],
    });

  it('writes keys without the legal entity in the legacy format with one legal entity', () => {
    const keys = sf()
      .query('SELECT D365_Customer_Key__c FROM Account')
      .records.map((r) => String(r.D365_Customer_Key__c));
    expect(keys.length).toBe(accounts);
    expect(keys.every((k) => !k.includes(':'))).toBe(true);
  });

  it('refuses to start with a second legal entity until the keys are migrated, naming the command', async () => {
    const error = await checkConfiguration(twoEntities(), h.clients.dynamics, h.clients.salesforce).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigurationCheckError);
    const problems = (error as ConfigurationCheckError).problems.filter(
      (p) => p.key === 'externalIds.format',
    );
    expect(problems.map((p) => p.problem)).toEqual([
      expect.stringContaining('Account.D365_Customer_Key__c holds values without a legal entity'),
      expect.stringContaining('Product2.D365_Item_Key__c holds values without a legal entity'),
    ]);
    expect(problems[0]?.fix).toContain('ml-connector migrate-keys');
  });

  it('migrates in place: a dry run writes nothing, a stopped run resumes, a duplicate is left and reported, a re-run changes nothing', async () => {
    const config = twoEntities();
    const deps = { config, salesforce: h.clients.salesforce, logger: h.ctx.logger };
    // Several legal entities: the old values' legal entity must be named.
    await expect(migrateExternalIds(deps)).rejects.toThrow(/--legal-entity/);

    const dry = await migrateExternalIds(deps, { legalEntity: 'usmf', dryRun: true });
    expect(dry.map((r) => [r.sobject, r.found, r.migrated])).toEqual([
      ['Account', accounts, 0],
      ['Product2', products, 0],
    ]);
    expect(dry[0]?.examples[0]?.to).toMatch(/^usmf:/);
    expect(
      sf().query("SELECT Id FROM Account WHERE D365_Customer_Key__c LIKE 'usmf:%'").records,
    ).toHaveLength(0);

    // A run stopped after its first records: two Accounts already carry the new form.
    const [first, second, third] = sf().query(
      'SELECT Id, D365_Customer_Key__c FROM Account ORDER BY Id',
    ).records;
    for (const r of [first, second])
      sf().update('Account', String(r?.Id), {
        D365_Customer_Key__c: `usmf:${String(r?.D365_Customer_Key__c)}`,
      });
    // A duplicate made by hand already holds the prefixed form of the third.
    const duplicate = sf().createAccount({
      Name: 'Hand-made duplicate',
      D365_Customer_Key__c: `usmf:${String(third?.D365_Customer_Key__c)}`,
    });

    const run = await migrateExternalIds(deps, { legalEntity: 'usmf' });
    expect(run.map((r) => [r.sobject, r.found, r.migrated])).toEqual([
      ['Account', accounts - 2, accounts - 3],
      ['Product2', products, products],
    ]);
    expect(run[0]?.conflicts).toEqual([
      { id: third?.Id, value: third?.D365_Customer_Key__c, heldBy: duplicate },
    ]);

    sf().delete('Account', duplicate);
    const rest = await migrateExternalIds(deps, { legalEntity: 'usmf' });
    expect(rest.map((r) => [r.found, r.migrated])).toEqual([
      [1, 1],
      [0, 0],
    ]);
    const again = await migrateExternalIds(deps, { legalEntity: 'usmf' });
    expect(again.map((r) => [r.found, r.migrated])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('then syncs the second legal entity without creating the first one again', async () => {
    const config = twoEntities();
    const reference = await checkConfiguration(config, h.clients.dynamics, h.clients.salesforce);
    const ctx = { ...h.ctx, config, reference };
    const report = await runDynamicsBackfill(ctx, { entities: ['CustomersV3', 'ReleasedProductsV2'] });
    expect(report.stopped).toBeUndefined();
    const usmf = report.runs.filter((r) => r.legalEntity === 'usmf');
    // Nothing of usmf is written again: the hashes leave the External ID out.
    expect(usmf.reduce((n, r) => n + r.created + r.updated, 0)).toBe(0);
    const demf = report.runs.filter((r) => r.legalEntity === 'demf');
    expect(demf.reduce((n, r) => n + r.created, 0)).toBeGreaterThan(0);
    expect(
      sf().query("SELECT Id FROM Account WHERE D365_Customer_Key__c LIKE 'usmf:%'").records,
    ).toHaveLength(accounts);
  });
});
