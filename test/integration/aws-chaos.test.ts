/**
 * The AWS shape on moto under the local chaos suite's faults, plus the AWS ones: 429s with
 * Retry-After, 503s, connection resets and token expiry on both APIs, dropped CDC streams,
 * business events delivered twice and out of order, duplicate SQS deliveries, the stream task
 * killed (SIGKILL) and restarted, a to-Dynamics worker dying mid-batch (after its first write to
 * Dynamics, its lease left behind and no answer to the event source mapping), and a record that
 * kills the worker every time until maxReceiveCount parks it in the DLQ. Afterwards: nothing lost,
 * nothing duplicated.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '#adapters/aws/contract.ts';
import type { EngineRuntime } from '#adapters/aws/engine.ts';
import {
  type AwsShape,
  type StreamChild,
  startAwsShape,
  streamDelivered,
  streamSubscribed,
} from '#test/support/aws-shape.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { until } from '#test/support/wait.ts';
import { crashingContext, SimulatedCrash } from './engine-to-dynamics-fixtures.ts';

const SECRET = 'aws-chaos-receiver-secret-27182818';
const CUSTOMERS = 150;
const PRODUCTS = 45;

/** The runtime as a worker that dies at its `at`-th write sees it: after that, every port call fails. */
function dyingRuntime(runtime: EngineRuntime, ctx: Awaited<ReturnType<EngineRuntime['engine']>>['ctx']) {
  const crash = crashingContext(ctx, { at: 1, when: 'after', kill: true });
  const dead = () => crash.writes.length >= 1;
  const queue = new Proxy(runtime.queue, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (dead()) throw new SimulatedCrash(`the worker is dead (queue.${String(prop)})`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const dying: EngineRuntime = {
    ...runtime,
    queue,
    async engine(options) {
      const engine = await runtime.engine(options);
      return { ...engine, ctx: { ...crash.ctx, ...(options?.signal ? { signal: options.signal } : {}) } };
    },
  };
  return { runtime: dying, dead };
}

describe('the AWS shape under faults on both sides and in AWS', () => {
  let h: EngineHarness;
  let shape: AwsShape;
  let stream: StreamChild;
  let createToDynamicsHandler: typeof import('#handlers/to-dynamics.ts').createToDynamicsHandler;
  const poison = {
    kind: 'salesforce-stub',
    sobject: 'Opportunity',
    id: '006POISON000000AAA',
    trigger: 'cdc',
  };
  const poisonDeliveries: number[] = [];
  let crashesLeft = 0;
  let crashed = 0;

  beforeAll(async () => {
    h = await startEngineHarness({
      sandboxes: { dynamics: { customers: CUSTOMERS, products: PRODUCTS, salesOrders: 0 } },
    });
    shape = await startAwsShape({ config: h.config, sandboxes: h.sandboxes.info, receiverSecret: SECRET });
    ({ createToDynamicsHandler } = await import('#handlers/to-dynamics.ts'));
    // The worker: a poison record kills it every time; an armed crash kills it mid-batch once.
    shape.interceptToDynamics(async (event: SQSEvent, context, runtime) => {
      const poisoned = event.Records.find((r) => r.body.includes(poison.id));
      if (poisoned) {
        poisonDeliveries.push(Number(poisoned.attributes.ApproximateReceiveCount));
        throw new SimulatedCrash('the worker ran out of memory on this record');
      }
      if (crashesLeft <= 0) return createToDynamicsHandler(runtime)(event, context);
      crashesLeft--; // claimed by this invocation (two run at once)
      const { ctx } = await runtime.engine();
      const dying = dyingRuntime(runtime, ctx);
      const response = await createToDynamicsHandler(dying.runtime)(event, context).catch(
        (error: unknown) => {
          if (!dying.dead()) throw error;
          return undefined;
        },
      );
      if (!dying.dead()) {
        crashesLeft++; // no write in this batch: the next one dies instead
        return response ?? { batchItemFailures: [] };
      }
      crashed++;
      throw new SimulatedCrash('the worker died mid-batch, before answering');
    });
    h.sandboxes.dynamics.control.configureBusinessEvents({
      url: `${shape.receiverUrl}?code=${SECRET}`,
      duplicateProbability: 0.4,
      reorderWindow: 5,
      retryDelayMs: 50,
      seed: 5,
    });
    stream = shape.startStream();
    await streamSubscribed(stream);
    h.sandboxes.dynamics.control.setFaultPlan({
      seed: 11,
      rules: [
        { kind: 'throttle', match: 'odata.read', probability: 0.2, retryAfterSeconds: 1, count: 5 },
        { kind: 'error', match: 'odata.*', status: 503, probability: 0.1, count: 6 },
        { kind: 'reset', match: 'odata.read', probability: 0.05, count: 3 },
        { kind: 'token-expiry', match: 'odata.*', probability: 0.05, count: 2 },
      ],
    });
    h.sandboxes.salesforce.control.setFaultPlan({
      seed: 12,
      rules: [
        { kind: 'throttle', match: 'rest.*', probability: 0.05, retryAfterSeconds: 1, count: 3 },
        { kind: 'error', match: 'rest.*', status: 503, probability: 0.1, count: 6 },
        { kind: 'reset', match: 'rest.query', probability: 0.05, count: 2 },
        { kind: 'token-expiry', match: 'rest.*', probability: 0.05, count: 2 },
        { kind: 'stream-drop', match: 'pubsub.subscribe', probability: 0.3, count: 6 },
      ],
    });
  }, 120_000);
  afterAll(async () => {
    if (stream && stream.process.exitCode === null) stream.process.kill('SIGKILL');
    await shape?.close();
    await h?.close();
  });

  it('parks a record that kills the worker on every delivery in the DLQ after the redrive policy’s maxReceiveCount', async () => {
    const env = shape.deployed.function('to-dynamics').environment;
    const queueUrl = env[ENV.toDynamicsQueueUrl] ?? '';
    const dlqUrl = env[ENV.toDynamicsDlqUrl] ?? '';
    const maxReceiveCount = shape.deployed.queueByUrl(queueUrl).maxReceiveCount ?? 0;
    expect(maxReceiveCount).toBeGreaterThan(0);
    await shape.send(queueUrl, { ...poison, observedAt: Date.now() });
    let parked: string | undefined;
    await until(
      'the poison record in the DLQ',
      async () => {
        const { Messages = [] } = await shape.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: dlqUrl, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
        );
        parked = Messages.find((m) => m.Body?.includes(poison.id))?.Body;
        return parked !== undefined;
      },
      90_000,
    );
    expect(poisonDeliveries).toEqual(Array.from({ length: maxReceiveCount }, (_, i) => i + 1));
    expect(JSON.parse(parked ?? '{}')).toMatchObject({ id: poison.id });
  });

  it('loses nothing and duplicates nothing', async () => {
    const sf = h.sandboxes.salesforce.control;
    const d365 = h.sandboxes.dynamics.control;
    await shape.runSchedule();
    await shape.idle(90_000);

    // Dynamics changes announced by business events (delivered twice, out of order).
    const changed = ['US-000002', 'US-000004', 'US-000006', 'US-000008', 'US-000010'];
    for (const account of changed) {
      d365.updateRecord(
        'CustomersV3',
        { dataAreaId: 'usmf', CustomerAccount: account },
        { PrimaryContactPhone: `+1 312 ${account.slice(-4)}` },
      );
    }
    // The first to-Dynamics batch that writes dies after its first write.
    crashesLeft = 1;
    const deliveredBefore = await streamDelivered(stream);
    const products = sf.query(
      "SELECT Id FROM Product2 WHERE D365_Item_Key__c LIKE 'usmf:%' ORDER BY ProductCode LIMIT 3",
    ).records;
    const accountOf = (key: string) =>
      String(sf.query(`SELECT Id FROM Account WHERE D365_Customer_Key__c = '${key}'`).records[0]?.Id);
    const win = (key: string, n: number) => {
      const { id } = sf.createOpportunity({
        accountId: accountOf(key),
        name: `Chaos deal ${n}`,
        lines: products.slice(0, (n % 3) + 1).map((p) => ({ product2Id: String(p.Id), quantity: 2 })),
      });
      sf.closeOpportunityWon(id);
      return { id, lines: (n % 3) + 1 };
    };
    const opportunities = ['usmf:US-000001', 'usmf:US-000003', 'usmf:US-000005'].map(win);
    const order = sf.createOrder({
      accountId: accountOf('usmf:US-000007'),
      lines: [{ product2Id: String(products[0]?.Id), quantity: 1 }],
    });
    sf.activateOrder(order.id);
    const newAccounts = [
      sf.createAccount({ Name: 'Chaos Pumpen GmbH', BillingCountryCode: 'DE' }),
      sf.createAccount({ Name: 'Chaos Valves Ltd', BillingCountryCode: 'GB' }),
    ];
    await d365.flushBusinessEvents();

    // The task is killed (no drain) once it has taken some of these changes, and restarted; a deal
    // is won while it is down.
    await until(
      'the stream task to take some of the new changes',
      async () => (await streamDelivered(stream)) > deliveredBefore,
      30_000,
    );
    stream.process.kill('SIGKILL');
    await stream.exited;
    opportunities.push(win('usmf:US-000009', 3));
    stream = shape.startStream();

    // SQS delivers at least once: every stub again, as a second producer would.
    const toDynamics = shape.deployed.function('to-dynamics').environment[ENV.toDynamicsQueueUrl] ?? '';
    for (const o of opportunities) {
      await shape.send(toDynamics, {
        kind: 'salesforce-stub',
        sobject: 'Opportunity',
        id: o.id,
        trigger: 'cdc',
        observedAt: Date.now(),
      });
    }

    const written = (sobject: string, id: string) => Boolean(sf.get(sobject, id)?.D365_Sales_Order__c);
    await until(
      'every sales order written back',
      () => opportunities.every((o) => written('Opportunity', o.id)) && written('Order', order.id),
      90_000,
    );
    await until(
      'both new accounts keyed',
      () => newAccounts.every((id) => Boolean(sf.get('Account', id)?.D365_Customer_Key__c)),
      90_000,
    );
    await until(
      'every business event applied',
      () =>
        changed.every((account) => {
          const [a] = sf.query(
            `SELECT Phone FROM Account WHERE D365_Customer_Key__c = 'usmf:${account}'`,
          ).records;
          return a?.Phone === `+1 312 ${account.slice(-4)}`;
        }),
      90_000,
    );
    // A last scheduled backfill catches anything a fault deferred; it must find nothing new to create.
    await shape.runSchedule();
    await shape.idle(90_000);

    // Every Dynamics record once in Salesforce.
    const keys = sf
      .query('SELECT D365_Customer_Key__c FROM Account WHERE D365_Customer_Key__c != null')
      .records.map((r) => r.D365_Customer_Key__c);
    expect(keys).toHaveLength(CUSTOMERS + newAccounts.length);
    expect(new Set(keys).size).toBe(keys.length);
    expect(
      sf.query('SELECT D365_Item_Key__c FROM Product2 WHERE D365_Item_Key__c != null').records,
    ).toHaveLength(PRODUCTS);
    expect(sf.query('SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true').totalSize).toBe(
      PRODUCTS,
    );

    // Every sale once in Dynamics, with exactly its lines.
    for (const o of [...opportunities, { id: order.id, lines: 1 }]) {
      const headers = d365.listRecords('SalesOrderHeadersV2', {
        filter: `CustomersOrderReference eq '${o.id}'`,
      });
      expect(headers).toHaveLength(1);
      const number = String(headers[0]?.SalesOrderNumber);
      expect(
        d365.listRecords('SalesOrderLines', { company: 'usmf', filter: `SalesOrderNumber eq '${number}'` }),
      ).toHaveLength(o.lines);
    }
    // Every new account once in Dynamics (found by the Account Id it carries; F&O numbered it).
    for (const id of newAccounts) {
      expect(d365.listRecords('CustomersV3', { filter: `IdentificationNumber eq '${id}'` })).toHaveLength(1);
    }

    // The faults really happened.
    expect(crashed).toBe(1);
    expect(shape.pollers['to-dynamics'].invocations.some((i) => i.failed)).toBe(true);
    expect(Object.values(d365.faultsFired()).reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
    expect(h.sandboxes.salesforce.faults.fired()).toMatchObject({ error: expect.any(Number) });
  }, 240_000);
});
