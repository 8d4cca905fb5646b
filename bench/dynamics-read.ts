/**
 * Benchmark: read N customers cross-company through the Dynamics client, with a 10-field
 * `$select` at the server's default page size (10,000), and report calls, wall time and the
 * client's peak memory. The sandbox runs in a child process so the numbers are the client's own.
 *
 *   scripts/node24 node bench/dynamics-read.ts [N=100000]
 *
 * Prints one JSON object: n, records, pageSize, odataCalls (expected ceil(n / pageSize)),
 * tokenMints, wallMs, recordsPerSecond, peak RSS / heap used / external (MiB), baselines, node, date.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { createDynamicsClient } from '#dynamics/client.ts';
import type { DynamicsSandboxInfo } from '#sandbox/dynamics/index.ts';
import { ensureSandboxTls, trustCaFile } from '#sandbox/shared/tls.ts';

const PAGE_SIZE = 10_000;
const SELECT = [
  'dataAreaId',
  'CustomerAccount',
  'OrganizationName',
  'CustomerGroupId',
  'SalesCurrencyCode',
  'PaymentTerms',
  'AddressCity',
  'AddressCountryRegionId',
  'PrimaryContactEmail',
  'PrimaryContactPhone',
] as const;

/** Child mode: start the sandbox, print its info as one JSON line, stay up until stdin closes. */
async function serveSandbox(customers: number): Promise<void> {
  const { startDynamicsSandbox } = await import('#sandbox/dynamics/index.ts');
  const sandbox = await startDynamicsSandbox({ customers, products: 0, salesOrders: 0, pageSize: PAGE_SIZE });
  process.stdout.write(`${JSON.stringify(sandbox.info)}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await sandbox.close();
}

async function startChild(customers: number): Promise<{ child: ChildProcess; info: DynamicsSandboxInfo }> {
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--serve-sandbox', String(customers)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    lines.close();
    return { child, info: JSON.parse(line) as DynamicsSandboxInfo };
  }
  throw new Error('the sandbox child exited before printing its info');
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new RangeError(`N must be a positive integer, got ${process.argv[2]}`);
  const tls = await ensureSandboxTls();
  trustCaFile(tls.caFile);
  const { child, info } = await startChild(n);
  const client = createDynamicsClient({
    environment: info.environmentUrl,
    authorityHost: info.authorityHost,
    tenantId: info.tenantId,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
  });
  try {
    globalThis.gc?.();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    let peakHeap = baseline.heapUsed;
    let peakExternal = baseline.external;
    const sample = () => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakExternal = Math.max(peakExternal, m.external);
    };
    const timer = setInterval(sample, 25);
    const started = performance.now();
    let records = 0;
    // The sandbox returns key order, so strictly increasing keys prove every record came once
    // without holding them (which would distort the memory figures).
    let last = '';
    let ordered = true;
    for await (const page of client.readPages(CustomersV3, {
      company: { crossCompany: true },
      select: [...SELECT],
    })) {
      for (const c of page.records) {
        records += 1;
        const key = `${c.dataAreaId}\u0000${c.CustomerAccount}`;
        if (key <= last) ordered = false;
        last = key;
      }
      sample();
    }
    const wallMs = Math.round(performance.now() - started);
    clearInterval(timer);
    const calls = client.counter.snapshot();
    process.stdout.write(
      `${JSON.stringify(
        {
          n,
          records,
          eachRecordOnce: ordered && records === n,
          pageSize: PAGE_SIZE,
          selectFields: SELECT.length,
          odataCalls: calls.byOperation['odata.read'] ?? 0,
          expectedCalls: Math.ceil(n / PAGE_SIZE),
          retries: calls.retries,
          tokenMints: calls.byOperation.token ?? 0,
          wallMs,
          recordsPerSecond: Math.round(records / (wallMs / 1000)),
          baselineRssMiB: mib(baseline.rss),
          baselineHeapUsedMiB: mib(baseline.heapUsed),
          peakRssMiB: mib(peakRss),
          peakHeapUsedMiB: mib(peakHeap),
          peakExternalMiB: mib(peakExternal),
          node: process.version,
          date: new Date().toISOString(),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await client.close();
    child.stdin?.end();
    await once(child, 'exit');
  }
}

if (process.argv[2] === '--serve-sandbox') {
  await serveSandbox(Number(process.argv[3]));
} else {
  await main();
}
