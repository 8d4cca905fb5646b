/**
 * CDC throughput: publishes N Account changes into the sandbox Pub/Sub server, then measures how
 * fast the connector's subscriber receives, decodes (Avro + bitmaps) and acknowledges them,
 * catching up from EARLIEST with flow control. Not a test; prints one JSON line.
 *   scripts/node24 node bench/cdc-throughput.ts [events=50000] [batchSize=100]
 */
import { randomUUID } from 'node:crypto';
import { toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import { startPubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceSession } from '#salesforce/session.ts';
import { createChangeFeed } from '#sandbox/salesforce/change-feed.ts';
import { buildOrgSchema } from '#sandbox/salesforce/objects.ts';
import { startPubSubSandbox } from '#sandbox/salesforce/pubsub/index.ts';
import { createSandboxClock } from '#sandbox/shared/clock.ts';
import { ensureSandboxTls } from '#sandbox/shared/tls.ts';

const events = Number(process.argv[2] ?? 50_000);
const batchSize = Number(process.argv[3] ?? 100);
const topic = '/data/AccountChangeEvent';
const session: SalesforceSession = {
  accessToken: '00D000000000001AAA!bench',
  instanceUrl: 'https://bench.my.salesforce.com',
  orgId: '00D000000000001AAA',
  userId: '005000000000001AAA',
  issuedAt: Date.now(),
};

const tls = await ensureSandboxTls();
const feed = createChangeFeed();
const clock = createSandboxClock();
const server = await startPubSubSandbox({
  feed,
  schema: buildOrgSchema(),
  tls,
  clock,
  authenticate: (meta) => meta.accessToken === session.accessToken,
});

const publishStart = performance.now();
for (let i = 0; i < events; i += 1) {
  feed.publish({
    entityName: 'Account',
    changeType: 'UPDATE',
    recordIds: [`001${String(i).padStart(12, '0')}AAA`],
    changedFields: ['Name', 'Phone', 'BillingAddress.City', 'LastModifiedDate'],
    nulledFields: [],
    diffFields: [],
    values: {
      Name: `Account ${i}`,
      Phone: '+1 555 0100',
      BillingCity: 'Springfield',
      LastModifiedDate: clock.now(),
    },
    changeOrigin: 'com/salesforce/api/rest/63.0;client=bench',
    transactionKey: randomUUID(),
    sequenceNumber: 1,
    commitTimestamp: clock.now(),
    commitNumber: BigInt(i + 1),
    commitUser: session.userId,
  });
}
const publishSeconds = (performance.now() - publishStart) / 1000;

let received = 0;
let resolveDone: () => void = () => {};
const allReceived = new Promise<void>((resolve) => {
  resolveDone = resolve;
});
const start = performance.now();
const subscriber = startPubSubSubscriber({
  tokens: { getSession: async () => session },
  topic,
  replayStore: createMemoryReplayStore(),
  initialReplay: 'EARLIEST',
  batchSize,
  endpoint: server.endpoint,
  rootCerts: tls.ca,
  handler: async (batch) => {
    for (const event of batch.events) toChangeEvent(event);
    received += batch.events.length;
    if (received >= events) resolveDone();
  },
});
await allReceived;
const seconds = (performance.now() - start) / 1000;
await subscriber.stop();
await server.close();

console.log(
  JSON.stringify({
    events: received,
    batchSize,
    seconds: Number(seconds.toFixed(3)),
    eventsPerSecond: Math.round(received / seconds),
    publishSeconds: Number(publishSeconds.toFixed(3)),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    node: process.version,
  }),
);
