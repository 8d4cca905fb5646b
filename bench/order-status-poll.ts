/**
 * Benchmark: the order-status poll (triggers/order-status-poll.ts) over N sales orders the
 * connector follows, against both sandboxes with a fixed per-call latency. Reports the OData and
 * Salesforce calls (by operation) per 1,000 followed orders for three polls: the first (every
 * order written), a repeat with nothing changed (no Salesforce call), and one after 20% more were
 * invoiced (written, then no longer followed).
 *
 *   scripts/node24 node bench/order-status-poll.ts [--orders=1000] [--latency=20]
 */
import { trackedOrderKey } from '#core/ports/state-store.ts';
import { runOrderStatusPoll } from '#core/triggers/order-status-poll.ts';
import { ensureSandboxTls, trustCaFile } from '#sandbox/shared/tls.ts';
import { startEngineHarness } from '#test/support/engine-harness.ts';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const orders = Number(arg('orders', '1000'));
const latencyMs = Number(arg('latency', '20'));

trustCaFile((await ensureSandboxTls()).caFile);
const h = await startEngineHarness({
  sandboxes: { dynamics: { latencyMs }, salesforce: { latencyMs } },
});
const fo = h.sandboxes.dynamics.control;
const sf = h.sandboxes.salesforce.control;
const account = sf.createAccount({ Name: 'Bench account', D365_Customer_Key__c: 'usmf:US-000001' });

// N orders as the connector would have created them: an F&O sales order, its Opportunity, tracked.
const numbers: string[] = [];
for (let i = 0; i < orders; i++) {
  const { header } = fo.createSalesOrder(
    { dataAreaId: 'usmf', OrderingCustomerAccountNumber: `US-${String((i % 50) + 1).padStart(6, '0')}` },
    [{ ItemNumber: `P${String((i % 20) + 1).padStart(6, '0')}`, OrderedSalesQuantity: 1 + (i % 5) }],
  );
  const number = String(header.SalesOrderNumber);
  const { id } = sf.createOpportunity({ accountId: account, name: `Bench ${i + 1}` });
  await h.state.trackOrder({
    dataAreaId: 'usmf',
    salesOrderNumber: number,
    sobject: 'Opportunity',
    salesforceId: id,
    trackedAt: Date.now(),
  });
  numbers.push(number);
}
// Some life before the first poll: 10% delivered, 10% invoiced.
for (const [i, number] of numbers.entries()) {
  if (i % 10 === 1) fo.advanceSalesOrder('usmf', number, 'deliver');
  if (i % 10 === 2) fo.advanceSalesOrder('usmf', number, 'invoice');
}

const per1000 = (n: number, base: number) => Math.round((n / base) * 1000 * 10) / 10;
async function poll(label: string) {
  h.clients.dynamics.counter.reset();
  h.clients.salesforce.counter.reset();
  const started = performance.now();
  const report = await runOrderStatusPoll(h.ctx);
  const ms = Math.round(performance.now() - started);
  const dynamics = h.clients.dynamics.counter.snapshot();
  const salesforce = h.clients.salesforce.counter.snapshot();
  const result = {
    poll: label,
    orders: report.orders,
    outcomes: report.outcomes,
    untracked: report.untracked,
    dynamicsCalls: dynamics.byOperation,
    salesforceCalls: salesforce.byOperation,
    callsPer1000Orders: {
      dynamics: per1000(dynamics.total, report.orders),
      salesforce: per1000(salesforce.total, report.orders),
    },
    wallMs: ms,
  };
  process.stderr.write(`${JSON.stringify(result)}\n`);
  return result;
}

const runs = [await poll('first (all written)'), await poll('repeat (nothing changed)')];
for (const [i, number] of numbers.entries()) {
  if (i % 10 === 3 || i % 10 === 4) fo.advanceSalesOrder('usmf', number, 'invoice');
}
runs.push(await poll('after 20% more invoiced'));
const left = (await h.state.getTrackedOrders(numbers.map((n) => trackedOrderKey('usmf', n)))).size;
await h.close();
process.stdout.write(`${JSON.stringify({ orders, latencyMs, runs, stillFollowed: left }, null, 2)}\n`);
