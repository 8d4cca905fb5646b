/**
 * `npm run bench`: runs every benchmark, one after another so they do not compete for the two
 * cores, and prints their JSON results with the machine and the date. Results go to stdout and to
 * bench/results/<date>.json; docs/BENCHMARKS.md records the figures we publish.
 *
 *   scripts/node24 npm run bench            # the full set (1M-record read included)
 *   scripts/node24 npm run bench -- --quick # smaller sizes, for a smoke run
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

const suites: { name: string; script: string; args: string[] }[] = [
  { name: 'dynamics-read-100k', script: 'dynamics-read.ts', args: [quick ? '20000' : '100000'] },
  ...(quick ? [] : [{ name: 'dynamics-read-1m', script: 'dynamics-read.ts', args: ['1000000'] }]),
  {
    name: 'salesforce-upsert',
    script: 'salesforce-upsert.ts',
    args: [`--records=${quick ? 10_000 : 100_000}`],
  },
  { name: 'cdc-throughput', script: 'cdc-throughput.ts', args: [quick ? '5000' : '50000'] },
  {
    name: 'engine-initial-load',
    script: 'engine-initial-load.ts',
    args: quick ? ['--customers=5000', '--products=5000', '--sample=200'] : ['--sample=500'],
  },
  ...(quick
    ? []
    : [
        {
          name: 'engine-initial-load-1m',
          script: 'engine-initial-load.ts',
          args: ['--customers=1000000', '--products=1000000', '--sample=0', '--rerun=0'],
        },
      ]),
  {
    name: 'engine-business-events',
    script: 'engine-business-events.ts',
    args: quick ? ['--events=200'] : [],
  },
  { name: 'engine-orders', script: 'engine-orders.ts', args: quick ? ['--orders=50'] : [] },
  {
    name: 'mapping-change',
    script: 'mapping-change.ts',
    args: [`--customers=${quick ? 2000 : 10000}`],
  },
  { name: 'order-status-poll', script: 'order-status-poll.ts', args: quick ? ['--orders=200'] : [] },
];

function run(script: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here(script), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim()));
      } catch {
        resolve({ raw: out.trim() });
      }
    });
  });
}

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};
const results: Record<string, unknown> = {};
for (const suite of suites) {
  process.stderr.write(`bench: ${suite.name}\n`);
  results[suite.name] = await run(suite.script, suite.args);
}
const report = { machine, quick, results };
const dir = here('results');
mkdirSync(dir, { recursive: true });
writeFileSync(
  `${dir}/${machine.date.slice(0, 10)}${quick ? '-quick' : ''}.json`,
  `${JSON.stringify(report, null, 2)}\n`,
);
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
