/**
 * dynalite (an in-memory DynamoDB-compatible server) on loopback, with the state table created as
 * the stack creates it (contract.ts TABLE: pk/sk, the byRecord and byOutcome indexes).
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { TABLE } from '#adapters/aws/contract.ts';
import { documentClient } from '#adapters/aws/sdk-clients.ts';

export interface Dynalite {
  readonly endpoint: string;
  readonly raw: DynamoDBClient;
  readonly client: DynamoDBDocumentClient;
  /** Creates a fresh state table and returns its name. */
  createStateTable(name?: string): Promise<string>;
  close(): Promise<void>;
}

/** Region and dummy credentials for clients pointed at loopback stand-ins. */
export const LOCAL_AWS = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' },
} as const;

let tables = 0;

export async function startDynalite(): Promise<Dynalite> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  return {
    endpoint,
    raw,
    client: documentClient(raw),
    async createStateTable(name = `state-${process.pid}-${++tables}`) {
      const index = (i: typeof TABLE.byRecordIndex | typeof TABLE.byOutcomeIndex) => ({
        IndexName: i.name,
        KeySchema: [
          { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: 'ALL' as const },
      });
      await raw.send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [TABLE.partitionKey, TABLE.sortKey, 'recordKey', 'outcome', 'auditSort'].map(
            (AttributeName) => ({ AttributeName, AttributeType: 'S' as const }),
          ),
          KeySchema: [
            { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
            { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
          ],
          GlobalSecondaryIndexes: [index(TABLE.byRecordIndex), index(TABLE.byOutcomeIndex)],
        }),
      );
      return name;
    },
    async close() {
      raw.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
