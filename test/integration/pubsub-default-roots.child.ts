/**
 * Child process of pubsub-default-roots.test.ts: subscribes with no `rootCerts`, trusting the
 * sandbox CA only the ordinary ways (NODE_EXTRA_CA_CERTS, or `trustCaFile` before the channel is
 * created), and exits 0 after one event.
 */
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import { startPubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
import { trustCaFile } from '#sandbox/shared/tls.ts';

const { PUBSUB_ENDPOINT = '', PUBSUB_TOKEN = '', PUBSUB_ORG = '', PUBSUB_TRUST_CA_FILE } = process.env;
if (PUBSUB_TRUST_CA_FILE) trustCaFile(PUBSUB_TRUST_CA_FILE);
const subscriber = startPubSubSubscriber({
  tokens: {
    getSession: async () => ({
      accessToken: PUBSUB_TOKEN,
      instanceUrl: 'https://sandbox.my.salesforce.com',
      orgId: PUBSUB_ORG,
      userId: '005000000000001AAA',
      issuedAt: Date.now(),
    }),
  },
  topic: '/data/AccountChangeEvent',
  replayStore: createMemoryReplayStore(),
  initialReplay: 'EARLIEST',
  endpoint: PUBSUB_ENDPOINT,
  backoff: { initialMs: 50, maxMs: 200 },
  handler: async (batch) => {
    process.stdout.write(`received ${batch.events.length}\n`);
    void subscriber.stop();
  },
});
const timer = setTimeout(() => process.exit(2), Number(process.env.PUBSUB_CHILD_TIMEOUT_MS ?? 10_000));
await subscriber.done;
clearTimeout(timer);
