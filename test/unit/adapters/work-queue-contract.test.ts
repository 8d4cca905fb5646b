/**
 * The WorkQueue contract (test/support/work-queue-contract.ts) against both adapters: SQLite, and
 * SQS on moto (test/support/moto.ts) with a fresh queue and dead-letter queue per behaviour,
 * related by a redrive policy as the stack creates them.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { createSqsWorkQueue } from '#adapters/aws/work-queue.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { createRedrivenQueue } from '#test/support/sqs-queues.ts';
import {
  CONTRACT_MAX_RECEIVE_COUNT,
  CONTRACT_QUEUE,
  describeWorkQueueContract,
} from '#test/support/work-queue-contract.ts';

let moto: Moto;
let client: SQSClient;
beforeAll(async () => {
  moto = await startMoto();
  client = new SQSClient(moto.clientConfig);
}, 60_000);
afterAll(async () => {
  client?.destroy();
  await moto?.close();
});

describeWorkQueueContract('createSqliteWorkQueue', async () =>
  createSqliteWorkQueue({ database: ':memory:', maxReceiveCount: CONTRACT_MAX_RECEIVE_COUNT }),
);

describeWorkQueueContract('createSqsWorkQueue', async () => {
  const { url, dlqUrl } = await createRedrivenQueue(client, {
    prefix: 'q',
    maxReceiveCount: CONTRACT_MAX_RECEIVE_COUNT,
    visibilityTimeoutSeconds: 300,
  });
  return createSqsWorkQueue({
    client,
    queues: { [CONTRACT_QUEUE]: { url, dlqUrl } },
    retryDelayMs: 1,
    waitTimeSeconds: 0,
    peekVisibilitySeconds: 0,
  });
});
