import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sandboxes } from '#sandbox/index.ts';
import { CLI, useCliWorkspace, writeSandboxConfig } from '#test/support/cli.ts';
import { until } from '#test/support/wait.ts';

describe('ml-connector start with a configuration', () => {
  let sandboxes: Sandboxes;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcessWithoutNullStreams[] = [];

  useCliWorkspace('mlc-start-real-', { dynamics: { customers: 45, products: 12, salesOrders: 0 } }, (w) => {
    ({ sandboxes, dir, env } = w);
    writeSandboxConfig(dir, sandboxes);
  });
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  /** Runs `start` until it is up, then SIGTERM; resolves with its output and exit code. */
  async function runOnce(
    whileUp: () => Promise<void> = async () => {},
  ): Promise<{ out: string; code: number | null }> {
    const child = spawn(process.execPath, [CLI, 'start'], { cwd: dir, env });
    children.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // Ready comes first (it never waits for the queues); the initial sync's summary after it.
        if (out.includes('Ctrl-C to stop') && out.includes('Initial sync done')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    await whileUp();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    return { out, code };
  }

  it('syncs, stops cleanly on SIGTERM, and resumes from its state without writing again', async () => {
    const first = await runOnce();
    expect(first.code).toBe(0);
    expect(first.out).not.toMatch(/demo/);
    expect(first.out).toMatch(/rest\.collections\.upsert/);
    expect(
      sandboxes.salesforce.control.query('SELECT COUNT() FROM Account WHERE D365_Customer_Key__c != null')
        .totalSize,
    ).toBe(45);

    // While it is down, a rep wins an opportunity; the next start finds it and writes nothing else.
    const sf = sandboxes.salesforce.control;
    const [account] = sf.query(
      "SELECT Id FROM Account WHERE D365_Customer_Key__c = 'usmf:US-000001'",
    ).records;
    const [product] = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' LIMIT 1",
    ).records;
    const opportunity = sf.createOpportunity({
      accountId: String(account?.Id),
      name: 'While down',
      lines: [{ product2Id: String(product?.Id), quantity: 1 }],
    });
    sf.closeOpportunityWon(opportunity.id);

    const second = await runOnce(async () => {
      await until(
        'the opportunity won while the connector was down to be synced',
        () => sf.get('Opportunity', opportunity.id)?.D365_Sales_Order__c,
      );
    });
    expect(second.code).toBe(0);
    // The customers and products are unchanged: the second start upserted none of them.
    expect(second.out).not.toMatch(/rest\.collections\.upsert/);
    expect(
      sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${opportunity.id}'`,
      }),
    ).toHaveLength(1);
  }, 120_000);
});
