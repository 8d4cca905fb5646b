/**
 * `status --stack` reads a deployed stack's state table: checkpoints, the records still parked with
 * their reasons, the latest failures, as the local `status` prints them. The table (as the stack's
 * StateTable construct synthesizes it), the queues and the alarms are on moto
 * (test/support/moto.ts); the stack's outputs come from a CloudFormation stand-in
 * (aws-sdk-client-mock: moto's CloudFormation cannot deploy the connector's template). The record
 * is parked by the real to-Dynamics worker against the sandboxes, writing to the moto table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '#adapters/aws/sdk-clients.ts';
import { createDynamoStateStore } from '#adapters/aws/state-store.ts';
import type { CliIo } from '#cli/command.ts';
import { openLocalState } from '#cli/local-engine.ts';
import { main } from '#cli/main.ts';
import type { AuditEntry, StateStore } from '#core/ports/state-store.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { describedStack, saveEnv, stackOutputs } from '#test/support/aws-environment.ts';
import { createTable, synthesizeStateTable } from '#test/support/aws-template.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { MOTO_ACCOUNT, type Moto, startMoto } from '#test/support/moto.ts';
import {
  createSalesforceProducts,
  createSyncedAccount,
  createWonOpportunity,
  delivery,
} from './engine-to-dynamics-fixtures.ts';

const ENV_KEYS = ['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL'] as const;

function fakeIo(): CliIo & { out: () => string } {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return {
    stdout,
    stderr: new PassThrough(),
    env: {},
    stopSignal: new AbortController().signal,
    out: () => out,
  };
}

interface StatusJson {
  readonly stack: string;
  readonly stateTable: string;
  readonly checkpoints: Record<string, unknown>[];
  readonly parked: Record<string, unknown>[];
  readonly failures: Record<string, unknown>[];
  readonly queues: unknown[];
}

describe('status --stack', () => {
  const cfn = mockClient(CloudFormationClient);
  const restoreEnv = saveEnv(ENV_KEYS);
  const dir = mkdtempSync(join(tmpdir(), 'mlc-status-stack-'));
  let moto: Moto;
  let h: EngineHarness;
  let db: DynamoDBClient;
  let state: StateStore;
  let parked: AuditEntry;
  let oppId: string;

  beforeAll(async () => {
    const started = Promise.all([startMoto(), startEngineHarness()]);
    // The synth runs here while moto boots in its own process.
    const properties = synthesizeStateTable();
    [moto, h] = await started;
    db = new DynamoDBClient(moto.clientConfig);
    const sqs = new SQSClient(moto.clientConfig);
    const urls: Record<string, string> = {};
    for (const name of ['sf', 'sf-dlq', 'd', 'd-dlq', 'bf-dlq']) {
      urls[name] = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl ?? '';
    }
    sqs.destroy();
    for (const [stack, table] of [
      ['Prod', 'Prod-StateTable-1'],
      ['Empty', 'Empty-StateTable-1'],
    ] as const) {
      await createTable(db, table, properties);
      const outputs = stackOutputs({
        stack,
        config: h.config,
        stateTable: table,
        urls,
        account: MOTO_ACCOUNT,
        region: moto.env.AWS_REGION,
      });
      cfn.on(DescribeStacksCommand, { StackName: stack }).resolves(describedStack(stack, outputs));
    }

    // The to-Dynamics worker, writing its state to the deployed table, parks a won opportunity
    // whose product is not released in its legal entity.
    state = createDynamoStateStore({ client: documentClient(db), tableName: 'Prod-StateTable-1' });
    createSalesforceProducts(h, ['P000001', 'PNEW31']);
    oppId = createWonOpportunity(h, createSyncedAccount(h, 'usmf', 'US-000007'), ['P000001', 'PNEW31']);
    const worker = createToDynamicsWorker({ ...h.ctx, state });
    await worker.handleBatch([delivery('Opportunity', oppId)]);
    const [latest] = await state.queryAudit({ recordKey: `salesforce:Opportunity:${oppId}`, limit: 1 });
    if (latest?.outcome !== 'parked')
      throw new Error(`expected a parked entry, got ${JSON.stringify(latest)}`);
    parked = latest;
    // A record parked and done since is no longer listed; a checkpoint the backfill would keep.
    const base = { flow: 'won-opportunities', trigger: 'cdc', attempt: 1 } as const;
    await state.appendAudit({
      ...base,
      recordKey: 'salesforce:Opportunity:006DONE',
      outcome: 'parked',
      error: 'x',
    });
    await state.appendAudit({ ...base, recordKey: 'salesforce:Opportunity:006DONE', outcome: 'succeeded' });
    await state.putCheckpoint('watermark:salesforce:Opportunity', '2026-12-03T20:00:00.000Z');

    // The CLI builds its SDK clients from the usual chain: point them at moto.
    Object.assign(process.env, moto.env);
  }, 120_000);

  afterAll(async () => {
    restoreEnv();
    cfn.restore();
    db?.destroy();
    await Promise.allSettled([moto?.close(), h?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the records still parked on the deployed table with their reasons, and the checkpoints and latest failures', async () => {
    const io = fakeIo();
    expect(await main(['status', '--stack', 'Prod'], io)).toBe(0);
    const out = io.out();
    const recordKey = `salesforce:Opportunity:${oppId}`;
    expect(parked.error).toMatch(/PNEW31 are not released products in legal entity usmf/);
    expect(out).toContain(
      `Parked (1):\n  ${new Date(parked.at).toISOString()} ${recordKey} (audit ${parked.auditId}): ${parked.error}; retried when dynamics:ReleasedProductsV2:usmf:PNEW31 arrives\n` +
        '  Fix the cause, then `ml-connector replay --stack Prod <audit id>` (or `replay --stack Prod --failed`).\n',
    );
    expect(out).not.toMatch(/Parked[\s\S]*006DONE[\s\S]*Latest failures/);
    expect(out).toMatch(
      /Checkpoints:\n {2}watermark:salesforce:Opportunity\s+2026-12-03T20:00:00.000Z\s+\d+s ago\n/,
    );
    expect(out).toMatch(
      /Latest failures:\n(.*\n)?.* parked salesforce:Opportunity:006DONE \(audit \w+\): x\n/,
    );
    expect(out).toContain(
      `  ${new Date(parked.at).toISOString()} parked ${recordKey} (audit ${parked.auditId}): ${parked.error}\n\nNo dead letters.`,
    );
    expect(out).toMatch(/to-dynamics DLQ\s+visible 0/);
  });

  it('prints the same JSON shapes as the local status for checkpoints, parked records and failures', async () => {
    const io = fakeIo();
    expect(await main(['status', '--stack', 'Prod', '--json'], io)).toBe(0);
    const deployed = JSON.parse(io.out()) as StatusJson;
    expect(deployed).toMatchObject({ stack: 'Prod', stateTable: 'Prod-StateTable-1' });
    expect(deployed.queues).toHaveLength(5);
    expect(deployed.parked).toEqual([
      {
        recordKey: `salesforce:Opportunity:${oppId}`,
        flow: 'won-opportunities',
        auditId: parked.auditId,
        at: parked.at,
        reason: parked.error,
        waitsFor: ['dynamics:ReleasedProductsV2:usmf:PNEW31'],
      },
    ]);

    // The same entries in a local state: a script reads both with the same keys.
    const file = join(dir, 'state.db');
    const local = openLocalState(file);
    const { auditId: _id, at: _at, expiresAt: _expires, ...entry } = parked;
    await local.state.appendAudit(entry);
    await local.state.putCheckpoint('watermark:salesforce:Opportunity', '2026-12-03T20:00:00.000Z');
    local.close();
    const localIo = fakeIo();
    expect(await main(['status', '--state', file, '--json'], localIo)).toBe(0);
    const localStatus = JSON.parse(localIo.out()) as StatusJson;
    const keys = (items: Record<string, unknown>[]) => Object.keys(items[0] ?? {}).sort();
    expect(keys(deployed.parked)).toEqual(keys(localStatus.parked));
    expect(keys(deployed.checkpoints)).toEqual(keys(localStatus.checkpoints));
    const failure = deployed.failures.find((f) => f.auditId === parked.auditId);
    expect(failure).toMatchObject({ outcome: 'parked', error: parked.error });
    expect(keys([failure ?? {}])).toEqual(keys(localStatus.failures));
  });

  it('says so when a stack has no parked records', async () => {
    const text = fakeIo();
    expect(await main(['status', '--stack', 'Empty'], text)).toBe(0);
    expect(text.out()).toContain('Checkpoints:\n  none yet\n');
    expect(text.out()).toContain('Parked (0):\n  none\n');
    expect(text.out()).toContain('Latest failures:\n  none\n');

    const json = fakeIo();
    expect(await main(['status', '--stack', 'Empty', '--json'], json)).toBe(0);
    expect(JSON.parse(json.out())).toMatchObject({
      stateTable: 'Empty-StateTable-1',
      parked: [],
      failures: [],
    });
  });
});
