/**
 * Benchmark: N won opportunities with L lines each → Dynamics sales orders through the
 * to-Dynamics worker, against both sandboxes with a fixed per-call latency, so the wall time
 * reflects call counts. Reports OData and Salesforce calls per order (by operation) and the wall
 * time at the configured concurrency (`batches.toDynamicsConcurrency`) and at a higher one.
 *
 *   scripts/node24 node bench/engine-orders.ts [--orders=500] [--lines=5] [--latency=50] [--concurrency=4,16]
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import type { SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { ensureSandboxTls, trustCaFile } from '#sandbox/shared/tls.ts';
import { startEngineHarness } from '#test/support/engine-harness.ts';
import { createSalesforceProducts } from '#test/support/sales-order-fixture.ts';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const orders = Number(arg('orders', '500'));
const lines = Number(arg('lines', '5'));
const latencyMs = Number(arg('latency', '50'));
const levels = arg('concurrency', '4,16').split(',').map(Number);

trustCaFile((await ensureSandboxTls()).caFile);
const h = await startEngineHarness({
  sandboxes: { dynamics: { latencyMs }, salesforce: { latencyMs } },
});
const sf = h.sandboxes.salesforce.control;
const items = Array.from({ length: lines }, (_, i) => `P${String(i + 1).padStart(6, '0')}`);
createSalesforceProducts(h, items);
const accounts = Array.from({ length: 50 }, (_, i) =>
  sf.createAccount({
    Name: `Bench account ${i + 1}`,
    D365_Customer_Key__c: `usmf:US-${String(i + 1).padStart(6, '0')}`,
  }),
);

function wonOpportunities(n: number, tag: string): string[] {
  return Array.from({ length: n }, (_, i) => {
    const { id } = sf.createOpportunity({
      accountId: accounts[i % accounts.length] as string,
      name: `Bench ${tag} ${i + 1}`,
      lines: items.map((productCode, j) => ({ productCode, quantity: j + 1 })),
    });
    sf.closeOpportunityWon(id);
    return id;
  });
}

const deliveries = (ids: readonly string[]): ReceivedMessage<SalesforceStub>[] =>
  ids.map((id, i) => ({
    messageId: `m${i}`,
    receiptHandle: `r${id}`,
    receiveCount: 1,
    sentAt: Date.now(),
    body: {
      kind: 'salesforce-stub',
      sobject: 'Opportunity',
      id,
      trigger: 'backfill',
      observedAt: Date.now(),
    },
  }));

const perOrder = (ops: Readonly<Record<string, number>>) =>
  Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, Math.round((v / orders) * 100) / 100]));

const runs = [];
for (const concurrency of levels) {
  const ids = wonOpportunities(orders, `c${concurrency}`);
  const config: ConnectorConfig = {
    ...h.config,
    batches: { ...h.config.batches, toDynamicsConcurrency: concurrency },
  };
  const worker = createToDynamicsWorker({ ...h.ctx, config });
  h.clients.dynamics.counter.reset();
  h.clients.salesforce.counter.reset();
  const started = performance.now();
  const outcome = await worker.handleBatch(deliveries(ids));
  const wallMs = Math.round(performance.now() - started);
  const dynamics = h.clients.dynamics.counter.snapshot();
  const salesforce = h.clients.salesforce.counter.snapshot();
  const headers = h.sandboxes.dynamics.control.listRecords('SalesOrderHeadersV2', {
    filter: `SalesOrderName eq 'Bench c${concurrency} *'`,
  });
  runs.push({
    concurrency,
    done: outcome.done.length,
    retry: outcome.retry.length,
    deadLetter: outcome.deadLetter.length,
    salesOrdersCreated: headers.length,
    odataCallsPerOrder: Math.round((dynamics.total / orders) * 100) / 100,
    salesforceCallsPerOrder: Math.round((salesforce.total / orders) * 100) / 100,
    odataByOperationPerOrder: perOrder(dynamics.byOperation),
    salesforceByOperationPerOrder: perOrder(salesforce.byOperation),
    wallMs,
    ordersPerSecond: Math.round((orders / wallMs) * 1000 * 10) / 10,
    msPerOrder: Math.round((wallMs / orders) * 10) / 10,
  });
}
await h.close();
process.stdout.write(
  `${JSON.stringify({ orders, linesPerOrder: lines, latencyMs, node: process.version, date: new Date().toISOString(), runs }, null, 2)}\n`,
);
