/**
 * SQS queues on moto (test/support/moto.ts) as the stack creates them: a queue with its own
 * dead-letter queue, related by a redrive policy.
 */
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** A queue and its dead-letter queue. */
export interface RedrivenQueue {
  readonly url: string;
  readonly dlqUrl: string;
}

/**
 * Creates `<prefix>-<random>` and `<prefix>-<random>-dlq`, the first redriving to the second after
 * `maxReceiveCount` receives, its messages invisible for `visibilityTimeoutSeconds` once received.
 */
export async function createRedrivenQueue(
  client: SQSClient,
  options: {
    readonly prefix: string;
    readonly maxReceiveCount: number;
    readonly visibilityTimeoutSeconds: number;
  },
): Promise<RedrivenQueue> {
  const name = `${options.prefix}-${randomUUID().slice(0, 8)}`;
  const dlqUrl = String((await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl);
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const created = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes?.QueueArn,
          maxReceiveCount: options.maxReceiveCount,
        }),
      },
    }),
  );
  return { url: String(created.QueueUrl), dlqUrl };
}
