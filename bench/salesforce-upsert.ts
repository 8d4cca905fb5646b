/**
 * Benchmark: upsert N Accounts (default 100,000) into the Salesforce sandbox via sObject
 * Collections and via Bulk API 2.0, each in its own child process so the client's peak RSS is
 * measured alone; the sandbox runs in a third process. Prints one JSON document.
 *
 *   scripts/node24 node bench/salesforce-upsert.ts [--records=100000] [--concurrency=4]
 */
import { fork } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchArgs, firstAnswer, messageFromParent } from './child.ts';

const self = fileURLToPath(import.meta.url);
const args = benchArgs();
const RECORDS = Number(args.get('records') ?? 100_000);
const CONCURRENCY = Number(args.get('concurrency') ?? 4);

interface SandboxInfo {
  myDomainUrl: string;
  clientId: string;
  clientSecret: string;
  caFile: string;
}

async function sandboxRole(): Promise<void> {
  const { startSalesforceSandbox } = await import('#sandbox/salesforce/index.ts');
  const sandbox = await startSalesforceSandbox({ dailyApiLimit: 10_000_000 });
  process.send?.(sandbox.info);
  process.on('message', async (m) => {
    if (m === 'stats') {
      process.send?.({ peakRssMb: process.resourceUsage().maxRSS / 1024, usage: sandbox.control.apiUsage() });
    } else if (m === 'close') {
      await sandbox.close();
      process.exit(0);
    }
  });
}

async function clientRole(mode: 'collections' | 'bulk', info: SandboxInfo): Promise<void> {
  const { createSalesforceClient } = await import('#salesforce/rest.ts');
  const { createApiBudget } = await import('#salesforce/budget.ts');
  const client = createSalesforceClient({
    myDomainUrl: info.myDomainUrl,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
    budget: createApiBudget({ reserveCalls: 0 }),
  });
  const records = Array.from({ length: RECORDS }, (_, i) => ({
    D365_Customer_Key__c: `BENCH-${mode}-${i}`,
    Name: `Bench customer ${i}`,
    AccountNumber: String(i),
    Phone: `+1 555 ${String(i % 10_000).padStart(4, '0')}`,
    BillingCity: i % 3 === 0 ? 'Seattle' : 'Zürich, "HQ"',
  }));
  const inputRssMb = Math.round(process.memoryUsage().rss / 1024 / 1024);
  const started = performance.now();
  let outcomes: { outcome: string }[];
  let jobs: number | undefined;
  if (mode === 'collections') {
    outcomes = await client.upsert('Account', 'D365_Customer_Key__c', records, { concurrency: CONCURRENCY });
  } else {
    const report = await client.bulkUpsert('Account', 'D365_Customer_Key__c', records, {
      pollIntervalMs: 250,
      maxPollIntervalMs: 2_000,
    });
    outcomes = [...report.results];
    jobs = report.jobs.length;
  }
  const wallMs = Math.round(performance.now() - started);
  const tally: Record<string, number> = {};
  for (const r of outcomes) tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
  const calls = client.counter.snapshot();
  await client.close();
  process.send?.({
    mode,
    records: RECORDS,
    ...(mode === 'collections' ? { concurrency: CONCURRENCY } : { jobs }),
    wallMs,
    recordsPerSecond: Math.round(RECORDS / (wallMs / 1000)),
    apiCalls: { total: calls.total, retries: calls.retries, byOperation: calls.byOperation },
    outcomes: tally,
    /** RSS once the input records exist, before the upsert: the share of the peak that is input. */
    inputRssMb,
    clientPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  });
}

async function main(): Promise<void> {
  const sandbox = fork(self, ['--role=sandbox'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const info = await firstAnswer<SandboxInfo>(sandbox);
  const results = [];
  for (const mode of ['collections', 'bulk'] as const) {
    const child = fork(
      self,
      [`--role=client`, `--mode=${mode}`, `--records=${RECORDS}`, `--concurrency=${CONCURRENCY}`],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        env: { ...process.env, NODE_EXTRA_CA_CERTS: info.caFile },
      },
    );
    child.send(info);
    results.push(await firstAnswer(child));
  }
  sandbox.send('stats');
  const sandboxStats = await firstAnswer<{ peakRssMb: number }>(sandbox);
  sandbox.send('close');
  console.log(
    JSON.stringify(
      {
        benchmark: 'salesforce-upsert',
        date: new Date().toISOString(),
        machine: {
          cpus: availableParallelism(),
          cpuModel: cpus()[0]?.model,
          totalMemGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
          node: process.version,
        },
        results,
        sandbox: { peakRssMb: Math.round(sandboxStats.peakRssMb) },
      },
      null,
      2,
    ),
  );
}

const role = args.get('role');
if (role === 'sandbox') await sandboxRole();
else if (role === 'client') {
  const info = await messageFromParent<SandboxInfo>();
  await clientRole(args.get('mode') as 'collections' | 'bulk', info);
  process.exit(0);
} else await main();
