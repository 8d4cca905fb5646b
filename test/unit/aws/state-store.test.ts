import { afterAll, beforeAll } from 'vitest';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { type Dynalite, startDynalite } from './dynalite.ts';
import { describeStateStoreBehaviour } from './state-store-behaviour.ts';

let dynamo: Dynalite;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo.close();
});

describeStateStoreBehaviour('createSqliteStateStore', async (now) =>
  createSqliteStateStore({ database: ':memory:', now }),
);

describeStateStoreBehaviour('createDynamoStateStore', async (now) =>
  createDynamoStateStore({ client: dynamo.client, tableName: await dynamo.createStateTable(), now }),
);
