/**
 * The WorkQueue contract (test/support/work-queue-contract.ts) against both adapters: SQLite, and
 * SQS on moto (test/support/moto.ts) with a fresh queue and dead-letter queue per behaviour,
 * related by a redrive policy as the stack creates them.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { createSqsWorkQueue } from '#adapters/aws/work-queue.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
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
  const name = `q-${randomUUID().slice(0, 8)}`;
  const dlqUrl = String((await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl);
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const created = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '300',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: CONTRACT_MAX_RECEIVE_COUNT,
        }),
      },
    }),
  );
  return createSqsWorkQueue({
    client,
    queues: { [CONTRACT_QUEUE]: { url: String(created.QueueUrl), dlqUrl } },
    retryDelayMs: 1,
    waitTimeSeconds: 0,
    peekVisibilitySeconds: 0,
  });
});
