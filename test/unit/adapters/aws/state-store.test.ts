/**
 * The StateStore behaviours against SQLite and against DynamoDB on moto (test/support/moto.ts),
 * each DynamoDB run on a fresh table created from the synthesized AWS::DynamoDB::Table of the
 * stack's StateTable construct (keys, indexes, TTL), so a table that no longer fits the adapter
 * fails here. (The construct alone synthesizes in a fraction of the whole stack's time.)
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createTable, synthesizeStateTable } from '#test/support/aws-template.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { describeStateStoreBehaviour } from '#test/support/state-store-behaviour.ts';

let moto: Moto;
let raw: DynamoDBClient;
let table: Record<string, unknown>;
let tables = 0;
beforeAll(async () => {
  moto = await startMoto();
  raw = new DynamoDBClient(moto.clientConfig);
  table = synthesizeStateTable();
  // The first SDK call pays for loading the client's modules: not inside a behaviour's time limit.
  await raw.send(new ListTablesCommand({}));
}, 60_000);
afterAll(async () => {
  raw?.destroy();
  await moto?.close();
});

describeStateStoreBehaviour('createSqliteStateStore', async (now) =>
  createSqliteStateStore({ database: ':memory:', now }),
);

describeStateStoreBehaviour('createDynamoStateStore', async (now) => {
  const tableName = `state-${++tables}`;
  await createTable(raw, tableName, table);
  return createDynamoStateStore({ client: documentClient(raw), tableName, now });
});
