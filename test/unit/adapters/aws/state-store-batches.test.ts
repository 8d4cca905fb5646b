/**
 * The DynamoDB state store's batch limits and retries of unprocessed items. These stay on
 * aws-sdk-client-mock: moto never answers BatchGetItem / BatchWriteItem with UnprocessedKeys or
 * UnprocessedItems, so only a mocked client can show the retries (the batch sizes against a real
 * table are in state-store.test.ts, on moto).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { UnprocessedItemsError } from '#adapters/aws/unprocessed.ts';

const TableName = 'state';
const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
const store = (maxBatchAttempts = 8) =>
  createDynamoStateStore({ client, tableName: TableName, maxBatchAttempts, batchRetryDelayMs: 1 });

afterEach(() => ddb.reset());

describe('createDynamoStateStore batches', () => {
  it('writes hashes in BatchWriteItem calls of at most 25 and retries the unprocessed items', async () => {
    let first = true;
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => {
      const items = input.RequestItems[TableName] ?? [];
      if (first) {
        first = false;
        return { UnprocessedItems: { [TableName]: items.slice(0, 3) } };
      }
      return {};
    });
    await store().putHashes(Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, hash: `h${i}` })));
    const sizes = ddb
      .commandCalls(BatchWriteCommand)
      .map((c) => c.args[0].input.RequestItems?.[TableName]?.length);
    expect(sizes).toEqual([25, 3, 25, 10]);
  });

  it('reads hashes in BatchGetItem calls of at most 100 and retries the unprocessed keys', async () => {
    ddb
      .on(BatchGetCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: Record<string, string>[] }> }) => {
        const keys = input.RequestItems[TableName]?.Keys ?? [];
        const [held, ...served] = keys;
        const item = (k: Record<string, string>) => ({ key: String(k.pk).slice(5), hash: 'h', updatedAt: 1 });
        return keys.length > 1
          ? {
              Responses: { [TableName]: served.map(item) },
              UnprocessedKeys: { [TableName]: { Keys: [held] } },
            }
          : { Responses: { [TableName]: keys.map(item) } };
      });
    const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
    const got = await store().getHashes(keys);
    expect(got.size).toBe(150);
    expect([...got.keys()]).toEqual(keys);
    const sizes = ddb
      .commandCalls(BatchGetCommand)
      .map((c) => c.args[0].input.RequestItems?.[TableName]?.Keys?.length);
    expect(sizes).toEqual([100, 1, 50, 1]);
  });

  it('gives up with UnprocessedItemsError when items stay unprocessed', async () => {
    ddb.on(BatchWriteCommand).callsFake((input: { RequestItems: Record<string, unknown[]> }) => ({
      UnprocessedItems: input.RequestItems,
    }));
    await expect(store(3).putHashes([{ key: 'k', hash: 'h' }])).rejects.toBeInstanceOf(UnprocessedItemsError);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(3);
  });
});
