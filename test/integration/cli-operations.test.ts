import { describe, expect, it } from 'vitest';
import { VERSION } from '#base/version.ts';
import type { Sandboxes } from '#sandbox/index.ts';
import { type CliWorkspace, runCli, useCliWorkspace, writeSandboxConfig } from '#test/support/cli.ts';

describe('ml-connector sync, status, audit, replay and dlq against the sandboxes', () => {
  let workspace: CliWorkspace;
  let sandboxes: Sandboxes;
  useCliWorkspace('mlc-ops-', { dynamics: { customers: 60, products: 15, salesOrders: 0 } }, (w) => {
    workspace = w;
    sandboxes = w.sandboxes;
    writeSandboxConfig(w.dir, w.sandboxes);
  });

  const run = (...args: string[]) => runCli(workspace, args);

  it('syncs every flow once, then writes nothing to Salesforce on an unchanged system', async () => {
    const first = await run('sync', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).dynamicsToSalesforce).toMatchObject({
      read: 75,
      upserted: 75,
      failed: 0,
    });
    const again = await run('sync', '--json');
    const summary = JSON.parse(again.stdout);
    expect(summary.dynamicsToSalesforce).toMatchObject({ read: 75, upserted: 0, skipped: 75 });
    const writes = Object.entries(summary.apiCalls.salesforce.byOperation as Record<string, number>).filter(
      ([op]) => /upsert|create|update|bulk/.test(op),
    );
    expect(writes).toEqual([]);
  });

  it('replays a parked sales order once its cause is fixed, and audit tells the story', async () => {
    const rep = sandboxes.salesforce.control;
    const [account] = rep.query("SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000001'")
      .records as { Id: string }[];
    const product = rep.insert('Product2', {
      Name: 'Not yet in Dynamics',
      ProductCode: 'NEW-1',
      IsActive: true,
      D365_Item_Key__c: 'usmf:NEW-1',
    });
    const [book] = rep.query('SELECT Id FROM Pricebook2 WHERE IsStandard = true').records as { Id: string }[];
    rep.insert('PricebookEntry', {
      Pricebook2Id: book?.Id,
      Product2Id: product,
      UnitPrice: 10,
      IsActive: true,
    });
    const opportunity = rep.createOpportunity({
      accountId: account?.Id ?? '',
      name: 'Parked',
      lines: [{ product2Id: product, quantity: 1 }],
    });
    rep.closeOpportunityWon(opportunity.id);

    const parked = await run('sync', '--flow', 'wonOpportunities');
    expect(parked.code).toBe(0);
    const history = await run('audit', opportunity.id, '--json');
    const entries = JSON.parse(history.stdout) as { outcome: string; error?: string }[];
    expect(entries.at(-1)).toMatchObject({ outcome: 'parked', error: expect.stringMatching(/NEW-1/) });

    const stillBroken = await run('replay', '--failed', '--since', '1h');
    expect(stillBroken.code).toBe(1);

    sandboxes.dynamics.control.createRecord('ReleasedProductsV2', {
      dataAreaId: 'usmf',
      ItemNumber: 'NEW-1',
      ProductNumber: 'NEW-1',
      SearchName: 'New item',
      ProductType: 'Item',
      SalesPrice: 10,
      SalesUnitSymbol: 'ea',
      InventoryUnitSymbol: 'ea',
    });
    const fixed = await run('replay', '--failed', '--since', '1h');
    expect(fixed.code, fixed.stdout).toBe(0);
    const orders = sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
      filter: `CustomersOrderReference eq '${opportunity.id}'`,
    });
    expect(orders).toHaveLength(1);
    const after = JSON.parse((await run('audit', opportunity.id, '--json')).stdout) as { outcome: string }[];
    expect(after.at(-1)?.outcome).toBe('succeeded');
  });

  it('shows checkpoints and queue depths in status', async () => {
    const { code, stdout } = await run('status');
    expect(code).toBe(0);
    expect(stdout).toMatch(/Checkpoints:[\s\S]*watermark:salesforce:Opportunity/);
    expect(stdout.split('\n')[0]).toBe(`ml-connector ${VERSION}`);
    expect(stdout).toMatch(/to-salesforce\s+visible 0/);
  });

  it('lists empty dead-letter queues', async () => {
    const { code, stdout } = await run('dlq', 'list');
    expect(code).toBe(0);
    expect(stdout).toMatch(/to-salesforce: 0 dead letter/);
  });

  it('answers bad arguments with usage errors and exit code 2', async () => {
    for (const args of [
      ['sync', '--flow', 'invoices'],
      ['replay'],
      ['audit'],
      ['dlq', 'frob'],
      ['replay', '--failed', '--since', 'yesterday'],
      ['status', '--bogus'],
    ]) {
      const { code, stderr } = await run(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/Usage: ml-connector/);
    }
  });
});
