/**
 * A loopback stand-in for the two AWS JSON APIs the stream task calls besides DynamoDB: SQS
 * `SendMessageBatch` (captured, answered with the MD5 digests the SDK checks) and Secrets Manager
 * `GetSecretValue`. Child processes reach it through AWS_ENDPOINT_URL_SQS and
 * AWS_ENDPOINT_URL_SECRETS_MANAGER, the SDK's own endpoint settings.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  readonly queueUrl: string;
  readonly body: string;
}

export interface AwsStandIn {
  readonly endpoint: string;
  readonly sent: SentMessage[];
  close(): Promise<void>;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

export async function startAwsStandIn(secrets: Readonly<Record<string, unknown>>): Promise<AwsStandIn> {
  const sent: SentMessage[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const target = String(req.headers['x-amz-target'] ?? '');
    const answer = (status: number, body: unknown, type = 'application/x-amz-json-1.0') => {
      res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
    };
    if (target === 'AmazonSQS.SendMessageBatch') {
      const entries = input.Entries as { Id: string; MessageBody: string }[];
      for (const e of entries) sent.push({ queueUrl: String(input.QueueUrl), body: e.MessageBody });
      return answer(200, {
        Successful: entries.map((e) => ({
          Id: e.Id,
          MessageId: randomUUID(),
          MD5OfMessageBody: md5(e.MessageBody),
        })),
        Failed: [],
      });
    }
    if (target === 'secretsmanager.GetSecretValue') {
      const id = String(input.SecretId);
      if (!(id in secrets)) {
        return answer(
          400,
          { __type: 'ResourceNotFoundException', message: 'no such secret' },
          'application/x-amz-json-1.1',
        );
      }
      return answer(
        200,
        { ARN: id, Name: id, SecretString: JSON.stringify(secrets[id]) },
        'application/x-amz-json-1.1',
      );
    }
    return answer(400, { __type: 'UnknownOperationException', message: target });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
