/**
 * Reads a generated F&O-shaped `$metadata` document (default 50,000 entity types of 40 properties,
 * an entity set each) over loopback HTTP through the connector's HTTP layer and streaming CSDL
 * reader, keeping the connector's six entity sets. Prints the document size, wall time and peak
 * heap/RSS (sampled every 20 ms; the serving side streams with back-pressure in this process).
 *
 *   scripts/node24 node bench/metadata-read.ts [--types=50000] [--properties=40]
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CsdlPass, readCsdlPass } from '../functions/dynamics/metadata-csdl.ts';
import { CONNECTOR_ENTITY_SETS } from '../functions/dynamics/metadata-fetch.ts';
import { createHttpClient } from '../functions/http/client.ts';
import { generateCsdl } from '../test/support/csdl.ts';
import { benchArgs } from './child.ts';

const args = benchArgs();
const types = Number(args.get('types') ?? 50_000);
const properties = Number(args.get('properties') ?? 40);
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;

let served = 0;
const server = createServer(async (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/xml' });
  for await (const piece of generateCsdl(types, properties)) {
    served += Buffer.byteLength(piece);
    if (!res.write(piece)) await once(res, 'drain');
  }
  res.end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;

globalThis.gc?.();
const baseline = process.memoryUsage();
let peakHeap = baseline.heapUsed;
let peakRss = baseline.rss;
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
}, 20);

const http = createHttpClient({ timeoutMs: 600_000 });
const started = performance.now();
let pass: CsdlPass | undefined;
await http.send({
  method: 'GET',
  url: `http://127.0.0.1:${port}/data/$metadata`,
  operation: 'odata.metadata',
  readBody: async (body) => {
    pass = await readCsdlPass(body, { entitySets: CONNECTOR_ENTITY_SETS });
  },
});
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
await http.close();
server.close();

const result = {
  types,
  properties,
  documentMiB: mib(served),
  seconds: Math.round(seconds * 100) / 100,
  mibPerSecond: Math.round((mib(served) / seconds) * 10) / 10,
  keptEntitySets: Object.keys(pass?.model.entitySets ?? {}),
  baselineHeapMiB: mib(baseline.heapUsed),
  peakHeapMiB: mib(peakHeap),
  baselineRssMiB: mib(baseline.rss),
  peakRssMiB: mib(peakRss),
};
process.stderr.write(
  `$metadata ${result.documentMiB} MiB (${types} entity types): ${result.seconds} s, ` +
    `heap ${result.baselineHeapMiB} → peak ${result.peakHeapMiB} MiB, RSS peak ${result.peakRssMiB} MiB\n`,
);
process.stdout.write(`${JSON.stringify(result)}\n`);
