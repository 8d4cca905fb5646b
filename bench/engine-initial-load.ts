/**
 * Benchmark: the engine's initial load of N customers and N products (default 100,000 each) from
 * the Dynamics sandbox into the Salesforce sandbox (multi-currency), both with a fixed per-call
 * latency (default 50 ms) so the figures reflect call counts; then an unchanged re-run; then the
 * naive way (one OData read by key and one single-record upsert per record, plus one price book
 * entry create per product, sequentially, as a hand-written script would) on a sample, with its
 * figures extrapolated to N. The sandboxes run in a child process, the engine in another, so the
 * engine's peak RSS is measured alone. Prints one JSON document; progress goes to stderr.
 *
 *   scripts/node24 node bench/engine-initial-load.ts [--customers=100000] [--products=100000]
 *     [--latency=50] [--sample=2000] [--bulk-threshold=5000] [--semi-space=8] [--max-old-space=0]
 *     [--rerun=1] [--sandbox-heap=12288] [--engine-flags=--flag,--flag]
 *
 * Above `--bulk-threshold` changed records in a page, the load streams every later page of an
 * object into one Bulk API 2.0 job (a new one past `batches.bulkJobMaxBytes`), price book
 * entries included; `engine.initial.salesforceCalls` shows the jobs' calls.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineContext } from '#core/engine/context.ts';
import type { SandboxesInfo } from '#sandbox/index.ts';
import { benchArgs, firstAnswer, messageFromParent } from './child.ts';

const self = fileURLToPath(import.meta.url);
const args = benchArgs();
const CUSTOMERS = Number(args.get('customers') ?? 100_000);
const PRODUCTS = Number(args.get('products') ?? 100_000);
const LATENCY = Number(args.get('latency') ?? 50);
const SAMPLE = Number(args.get('sample') ?? 2_000);
const BULK_THRESHOLD = Number(args.get('bulk-threshold') ?? 5_000);
/** V8 old-space cap of the engine process in MB (0 = Node's default); a deployment sizes memory too. */
const MAX_OLD_SPACE = Number(args.get('max-old-space') ?? 0);
/** V8 semi-space cap of the engine process in MB, as `npm start` runs it (0 = Node's default). */
const SEMI_SPACE = Number(args.get('semi-space') ?? 8);
/** Run the unchanged re-run phase (1) or not (0): at 1M records it doubles the run's length. */
const RERUN = Number(args.get('rerun') ?? 1);
/**
 * V8 old-space cap of the sandbox process in MB: both stand-ins hold every record and every Bulk
 * job's rows, which at 1M + 1M passes Node's default heap (about 4 GB). The sandbox is not what
 * is measured; only the engine's memory is.
 */
const SANDBOX_HEAP = Number(args.get('sandbox-heap') ?? 12_288);
/**
 * More V8 flags for the engine process, comma-separated; by default `--heap-growing-percent=20`,
 * as `npm start` and the `ml-connector` command run (`--engine-flags=` for none).
 */
const ENGINE_FLAGS = (args.get('engine-flags') ?? '--heap-growing-percent=20')
  .split(',')
  .filter((f) => f.length > 0);

const log = (message: string) => process.stderr.write(`engine-initial-load: ${message}\n`);
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

async function sandboxRole(): Promise<void> {
  const { startSandboxes } = await import('#sandbox/index.ts');
  const sandboxes = await startSandboxes({
    dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0, latencyMs: LATENCY },
    salesforce: { multiCurrency: true, latencyMs: LATENCY, dailyApiLimit: 10_000_000 },
  });
  process.send?.(sandboxes.info);
  process.on('message', async (m) => {
    if (m === 'stats') {
      process.send?.({
        peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        salesforce: sandboxes.salesforce.control.counters(),
        dynamics: sandboxes.dynamics.control.counters(),
      });
    } else if (m === 'reset') {
      sandboxes.salesforce.control.resetCounters();
      sandboxes.dynamics.control.resetCounters();
      process.send?.('ok');
    } else if (m === 'close') {
      await sandboxes.close();
      process.exit(0);
    }
  });
}

interface Phase {
  wallMs: number;
  records: Record<string, number>;
  dynamicsCalls: Record<string, number>;
  salesforceCalls: Record<string, number>;
  salesforceWrites: number;
}

async function engineRole(info: SandboxesInfo): Promise<void> {
  const { validateConfig } = await import('#core/config/validate.ts');
  const { createClients } = await import('#adapters/clients.ts');
  const { createSqliteStateStore } = await import('#adapters/local/sqlite-state-store.ts');
  const { createSqliteWorkQueue } = await import('#adapters/local/sqlite-work-queue.ts');
  const { checkConfiguration } = await import('#core/engine/check.ts');
  const { runDynamicsBackfill } = await import('#core/triggers/dynamics-backfill.ts');
  const { silentLogger } = await import('#base/logger.ts');

  const config = validateConfig({
    dynamics: {
      environment: info.dynamics.environmentUrl,
      tenantId: info.dynamics.tenantId,
      authorityHost: info.dynamics.authorityHost,
    },
    salesforce: { myDomain: info.salesforce.myDomainUrl, apiReserve: 100 },
    legalEntities: ['usmf', 'demf', 'gbsi'],
    batches: { bulkThreshold: BULK_THRESHOLD },
  });
  const clients = createClients(config, {
    dynamics: { clientId: info.dynamics.clientId, clientSecret: info.dynamics.clientSecret },
    salesforce: { clientId: info.salesforce.clientId, clientSecret: info.salesforce.clientSecret },
  });
  const dir = mkdtempSync(join(tmpdir(), 'ml-bench-'));
  const state = createSqliteStateStore({ database: join(dir, 'state.db') });
  const queue = createSqliteWorkQueue({ database: join(dir, 'queue.db') });
  const reference = await checkConfiguration(config, clients.dynamics, clients.salesforce);
  const ctx: EngineContext = {
    config,
    dynamics: clients.dynamics,
    salesforce: clients.salesforce,
    state,
    queue,
    logger: silentLogger,
    reference,
    now: Date.now,
  };

  async function phase(name: string, run: () => Promise<Record<string, number>>): Promise<Phase> {
    clients.dynamics.counter.reset();
    clients.salesforce.counter.reset();
    log(`${name}…`);
    const started = performance.now();
    const records = await run();
    const wallMs = Math.round(performance.now() - started);
    const sf = clients.salesforce.counter.snapshot().byOperation;
    const writes = Object.entries(sf)
      .filter(([op]) => /collections|sobject\.(create|update)|bulk/.test(op))
      .reduce((n, [, c]) => n + c, 0);
    log(`${name}: ${wallMs} ms`);
    return {
      wallMs,
      records,
      dynamicsCalls: clients.dynamics.counter.snapshot().byOperation,
      salesforceCalls: sf,
      salesforceWrites: writes,
    };
  }

  const backfill = async () => {
    let last = 0;
    const report = await runDynamicsBackfill(ctx, {
      entities: ['CustomersV3', 'ReleasedProductsV2'],
      onProgress: (p) => {
        if (p.done || performance.now() - last > 5000) {
          last = performance.now();
          log(`  ${p.entity} ${p.legalEntity}: read ${p.read}, upserted ${p.upserted}, skipped ${p.skipped}`);
        }
      },
    });
    const totals: Record<string, number> = {};
    for (const r of report.runs) {
      for (const k of ['read', 'created', 'updated', 'skipped', 'failed', 'deferred'] as const)
        totals[k] = (totals[k] ?? 0) + r[k];
    }
    if (report.stopped) totals.stopped = 1;
    return totals;
  };

  const baselineRssMb = mb(process.memoryUsage().rss);
  const memory = sampleMemory();
  const initial = await phase('initial load', backfill);
  const initialPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const memoryAfterLoadMb = Object.fromEntries(
    Object.entries(process.memoryUsage()).map(([k, v]) => [k, mb(v)]),
  );
  const initialMemoryPeaksMb = memory.peaks();
  const rerun = RERUN ? await phase('unchanged re-run', backfill) : undefined;
  const naive = SAMPLE > 0 ? await phase('naive sample', () => naiveLoad(ctx, SAMPLE)) : undefined;
  await clients.close();
  await Promise.allSettled([state.close(), queue.close()]);
  rmSync(dir, { recursive: true, force: true });
  process.send?.({
    initial,
    /** RSS after start-up and the configuration check, before the load. */
    baselineRssMb,
    initialPeakRssMb,
    initialMemoryPeaksMb,
    memoryAfterLoadMb,
    rerun,
    naive,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    rssNowMb: mb(process.memoryUsage().rss),
  });
}

/**
 * Samples `process.memoryUsage()` every 250 ms: the peak of each part (RSS, V8 heap used and
 * total, external, array buffers), logged every 15 s, so a peak can be told apart into V8 heap
 * and memory outside it (SQLite, sockets, buffers).
 */
function sampleMemory(): { peaks: () => Record<string, number> } {
  const peak: Record<string, number> = {};
  let lastLog = performance.now();
  const timer = setInterval(() => {
    for (const [k, v] of Object.entries(process.memoryUsage())) peak[k] = Math.max(peak[k] ?? 0, v);
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      const now = process.memoryUsage();
      log(
        `  memory: rss ${mb(now.rss)} MB (peak ${mb(peak.rss ?? 0)}), heap used ${mb(now.heapUsed)} ` +
          `of ${mb(now.heapTotal)}, external ${mb(now.external)}, array buffers ${mb(now.arrayBuffers)}`,
      );
    }
  }, 250);
  timer.unref();
  return { peaks: () => Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mb(v)])) };
}

/**
 * The naive way, sequentially: per customer one OData read by key and one single-record upsert;
 * per product the same plus one price book entry create. External IDs get a `naive:` prefix so the
 * sample creates new records as a first load would. Returns the record tally.
 */
async function naiveLoad(ctx: EngineContext, sample: number): Promise<Record<string, number>> {
  const { CustomersV3, ReleasedProductsV2 } = await import('#core/ports/dynamics/entities.ts');
  const { customersFlow } = await import('#core/flows/customers.ts');
  const { mapProductToProduct2, unitPriceOf } = await import('#core/mapping/products.ts');
  const { config, dynamics, salesforce, reference } = ctx;
  const companies = [
    { id: 'usmf', prefix: 'US', currency: 'USD' },
    { id: 'demf', prefix: 'DE', currency: 'EUR' },
    { id: 'gbsi', prefix: 'GB', currency: 'GBP' },
  ];
  const tally = { customers: 0, products: 0, failed: 0 };
  // Customers mapped as the engine maps them (a script must fit countries and states to the org's
  // address picklists too, or Salesforce refuses the Account).
  const mapCustomer = await customersFlow.prepare(ctx);
  const half = Math.floor(sample / 2);
  for (let i = 0; i < half; i++) {
    const le = companies[i % 3] as (typeof companies)[number];
    const n = String(Math.floor(i / 3) + 1).padStart(6, '0');
    const customer = await dynamics.get(CustomersV3, {
      dataAreaId: le.id,
      CustomerAccount: `${le.prefix}-${n}`,
    });
    if (!customer) continue;
    const account = { ...mapCustomer(customer).fields };
    const key = config.externalIds.account;
    account[key] = `naive:${String(account[key])}`;
    const [r] = await salesforce.upsert('Account', key, [account]);
    if (r?.outcome === 'failed') {
      if (tally.failed++ === 0) log(`naive: customer ${account[key]} failed: ${JSON.stringify(r.errors)}`);
    } else tally.customers++;
  }
  for (let i = 0; i < sample - half; i++) {
    const le = companies[i % 3] as (typeof companies)[number];
    const item = `P${String(Math.floor(i / 3) + 1).padStart(6, '0')}`;
    const product = await dynamics.get(ReleasedProductsV2, { dataAreaId: le.id, ItemNumber: item });
    if (!product) continue;
    const fields = mapProductToProduct2(product, config);
    const key = config.externalIds.product;
    fields[key] = `naive:${String(fields[key])}`;
    const [r] = await salesforce.upsert('Product2', key, [fields]);
    if (!r?.id || r.outcome === 'failed') {
      tally.failed++;
      continue;
    }
    await salesforce.create('PricebookEntry', {
      Pricebook2Id: reference.standardPricebookId,
      Product2Id: r.id,
      UnitPrice: unitPriceOf(product),
      IsActive: true,
      ...(reference.multiCurrency ? { CurrencyIsoCode: le.currency } : {}),
    });
    tally.products++;
  }
  return tally;
}

function total(calls: Record<string, number>): number {
  return Object.entries(calls)
    .filter(([op]) => op !== 'token' && op !== 'oauth.token')
    .reduce((n, [, c]) => n + c, 0);
}

async function main(): Promise<void> {
  const sandbox = fork(self, ['--role=sandbox', ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv, ...(SANDBOX_HEAP > 0 ? [`--max-old-space-size=${SANDBOX_HEAP}`] : [])],
  });
  const info = await firstAnswer<SandboxesInfo>(sandbox);
  const engine = fork(self, ['--role=engine', ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_EXTRA_CA_CERTS: info.caFile },
    execArgv: [
      ...process.execArgv,
      ...(MAX_OLD_SPACE > 0 ? [`--max-old-space-size=${MAX_OLD_SPACE}`] : []),
      ...(SEMI_SPACE > 0 ? [`--max-semi-space-size=${SEMI_SPACE}`] : []),
      ...ENGINE_FLAGS,
    ],
  });
  engine.send(info);
  const result = await firstAnswer<{ initial: Phase; rerun: Phase; naive?: Phase } & Record<string, unknown>>(
    engine,
  );
  sandbox.send('stats');
  const sandboxStats = await firstAnswer<{ peakRssMb: number }>(sandbox);
  sandbox.send('close');

  const n = CUSTOMERS + PRODUCTS;
  const engineCalls = total(result.initial.dynamicsCalls) + total(result.initial.salesforceCalls);
  const { naive } = result;
  const naiveCalls = naive ? total(naive.dynamicsCalls) + total(naive.salesforceCalls) : 0;
  const scale = n / SAMPLE;
  console.log(
    JSON.stringify(
      {
        benchmark: 'engine-initial-load',
        date: new Date().toISOString(),
        machine: {
          cpus: availableParallelism(),
          cpuModel: cpus()[0]?.model,
          totalMemGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
          node: process.version,
        },
        parameters: {
          customers: CUSTOMERS,
          products: PRODUCTS,
          latencyMs: LATENCY,
          sample: SAMPLE,
          bulkThreshold: BULK_THRESHOLD,
          rerun: RERUN === 1,
          maxOldSpaceMb: MAX_OLD_SPACE || 'default',
          maxSemiSpaceMb: SEMI_SPACE || 'default',
          sandboxHeapMb: SANDBOX_HEAP || 'default',
          engineFlags: ENGINE_FLAGS,
        },
        targets: {
          collectionsPerObject: Math.ceil(CUSTOMERS / 200),
          odataPagesPerEntity: Math.ceil(CUSTOMERS / 10_000),
        },
        engine: result,
        sandboxes: sandboxStats,
        ...(naive
          ? {
              naiveExtrapolated: {
                note: `measured on ${SAMPLE} records (half customers, half products), scaled ×${scale} to ${n}`,
                calls: Math.round(naiveCalls * scale),
                wallMs: Math.round(naive.wallMs * scale),
              },
              ratios: {
                calls: Math.round(((naiveCalls * scale) / engineCalls) * 10) / 10,
                wallTime: Math.round(((naive.wallMs * scale) / result.initial.wallMs) * 10) / 10,
              },
            }
          : {}),
      },
      null,
      2,
    ),
  );
}

const role = args.get('role');
if (role === 'sandbox') await sandboxRole();
else if (role === 'engine') {
  const info = await messageFromParent<SandboxesInfo>();
  await engineRole(info);
  process.exit(0);
} else await main();
