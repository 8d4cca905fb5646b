/**
 * Benchmark: 1,000 Dynamics business events → Salesforce, through the local receiver, the
 * to-Salesforce queue and its batched worker, against both sandboxes with a fixed per-call latency.
 * After an initial sync (not measured), 1,000 customers change in Dynamics; the sandbox posts a
 * business event for each (with F&O's delivery); the pump drains the queue. Reports OData and
 * Salesforce calls for the 1,000 events and p50/p95 from event received to upsert done.
 *
 *   scripts/node24 node bench/engine-business-events.ts [--events=1000] [--latency=50] [--batch=200] [--max-url=2048] [--window=500]
 */
import { startReceiverServer } from '#adapters/local/receiver-server.ts';
import { pumpOnce } from '#core/engine/pump.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { ensureSandboxTls, trustCaFile } from '#sandbox/shared/tls.ts';
import { harnessReceiver, startEngineHarness } from '#test/support/engine-harness.ts';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const events = Number(arg('events', '1000'));
const latencyMs = Number(arg('latency', '50'));
const batchSize = Number(arg('batch', '200'));
const maxUrl = Number(arg('max-url', '2048'));
const windowMs = Number(arg('window', '500'));

trustCaFile((await ensureSandboxTls()).caFile);
const h = await startEngineHarness({
  sandboxes: {
    dynamics: { customers: Math.max(events, 3000), products: 10, salesOrders: 0, latencyMs },
    salesforce: { latencyMs },
  },
  config: { batches: { maxODataUrlLength: maxUrl } },
});
try {
  await runDynamicsBackfill(h.ctx, { entities: ['CustomersV3'] });

  const secret = 'bench-receiver-secret-0123456789';
  const receive = harnessReceiver(h, { secret });
  const server = await startReceiverServer({ receive, maxBodyBytes: h.config.businessEvents.maxBodyBytes });
  h.sandboxes.dynamics.control.configureBusinessEvents({
    url: `${server.url}?code=${secret}`,
    retryDelayMs: 50,
  });

  // The worker drains the queue while F&O delivers, as the runner does (poll every 100 ms when idle).
  h.clients.dynamics.counter.reset();
  h.clients.salesforce.counter.reset();
  const worker = createToSalesforceWorker(h.ctx);
  let delivering = true;
  let handled = 0;
  const started = performance.now();
  const pumping = (async () => {
    for (;;) {
      const n = await pumpOnce<DynamicsStub>(h.ctx, QUEUES.toSalesforce, (m) => worker.handle(m), {
        batchSize,
        batchWindowMs: windowMs,
      });
      handled += n;
      if (n === 0) {
        if (!delivering && (await h.queue.depth(QUEUES.toSalesforce)).visible === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  })();

  // 1,000 customers change in usmf; F&O posts one business event each.
  const accounts = Array.from({ length: events }, (_, i) => `US-${String(i + 1).padStart(6, '0')}`);
  for (const account of accounts) {
    h.sandboxes.dynamics.control.updateRecord(
      'CustomersV3',
      { dataAreaId: 'usmf', CustomerAccount: account },
      { PrimaryContactPhone: `+1 555 ${account.slice(-4)}` },
    );
  }
  await h.sandboxes.dynamics.control.flushBusinessEvents();
  delivering = false;
  await pumping;
  const wallMs = Math.round(performance.now() - started);
  await server.close();

  const latencies: number[] = [];
  for (const account of accounts) {
    const [entry] = await h.state.queryAudit({
      recordKey: `dynamics:CustomersV3:usmf:${account}`,
      outcome: 'succeeded',
      limit: 1,
    });
    const work = entry?.work as DynamicsStub | undefined;
    if (entry && work?.trigger === 'business-event') latencies.push(entry.at - work.observedAt);
  }
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  const dynamics = h.clients.dynamics.counter.snapshot();
  const salesforce = h.clients.salesforce.counter.snapshot();
  process.stdout.write(
    `${JSON.stringify({
      events,
      stubsHandled: handled,
      upsertsAudited: latencies.length,
      batchSize,
      latencyMsPerCall: latencyMs,
      odataCalls: dynamics.byOperation,
      salesforceCalls: salesforce.byOperation,
      wallMs,
      eventToUpsertMs: { p50: pct(50), p95: pct(95), max: latencies.at(-1) },
      maxODataUrlLength: h.config.batches.maxODataUrlLength,
      batchWindowMs: windowMs,
      node: process.version,
      date: new Date().toISOString(),
    })}\n`,
  );
} finally {
  await h.close();
}
