/**
 * The StateStore behaviours against SQLite and against DynamoDB on moto (test/support/moto.ts),
 * each DynamoDB run on a fresh table created from the synthesized AWS::DynamoDB::Table of the
 * stack's StateTable construct (keys, indexes, TTL), so a table that no longer fits the adapter
 * fails here. (The construct alone synthesizes in a fraction of the whole stack's time.)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { afterAll, beforeAll } from 'vitest';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { type CfnTemplate, createTable, stateTableProperties } from '#test/support/aws-template.ts';
import { type Moto, startMoto } from '#test/support/moto.ts';
import { StateTable } from '../../../lib/constructs/state-table.ts';
import { describeStateStoreBehaviour } from './state-store-behaviour.ts';

let moto: Moto;
let raw: DynamoDBClient;
let table: Record<string, unknown>;
let tables = 0;
beforeAll(async () => {
  moto = await startMoto();
  raw = new DynamoDBClient(moto.clientConfig);
  const app = new App();
  const stack = new Stack(app, 'StateTableOnly');
  new StateTable(stack, 'State', { key: new Key(stack, 'Key') });
  table = stateTableProperties(app.synth().getStackByName(stack.stackName).template as CfnTemplate);
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
