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
import {
  CHAOS_CUSTOMERS,
  CHAOS_PRODUCTS,
  configureChaosBusinessEvents,
  DYNAMICS_CHAOS_FAULTS,
  expectNothingLostOrDuplicated,
  SALESFORCE_CHAOS_RULES,
  salesActivity,
  untilActivityApplied,
} from '#test/support/chaos-scenario.ts';
import { type EngineHarness, startEngineHarness } from '#test/support/engine-harness.ts';
import { until } from '#test/support/wait.ts';
import { crashingContext, SimulatedCrash } from './engine-to-dynamics-fixtures.ts';

const SECRET = 'aws-chaos-receiver-secret-27182818';

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
      sandboxes: { dynamics: { customers: CHAOS_CUSTOMERS, products: CHAOS_PRODUCTS, salesOrders: 0 } },
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
    configureChaosBusinessEvents(h, shape.receiverUrl, SECRET);
    stream = shape.startStream();
    await streamSubscribed(stream);
    h.sandboxes.dynamics.control.setFaultPlan(DYNAMICS_CHAOS_FAULTS);
    // On AWS, Salesforce throttles too (Retry-After).
    h.sandboxes.salesforce.control.setFaultPlan({
      seed: 12,
      rules: [
        { kind: 'throttle', match: 'rest.*', probability: 0.05, retryAfterSeconds: 1, count: 3 },
        ...SALESFORCE_CHAOS_RULES,
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
    await shape.runSchedule();
    await shape.idle(90_000);

    // The first to-Dynamics batch that writes dies after its first write.
    crashesLeft = 1;
    const deliveredBefore = await streamDelivered(stream);
    // Business events (delivered twice, out of order) and sales activity seen through CDC.
    const activity = salesActivity(h);
    await h.sandboxes.dynamics.control.flushBusinessEvents();

    // The task is killed (no drain) once it has taken some of these changes, and restarted; a deal
    // is won while it is down.
    await until(
      'the stream task to take some of the new changes',
      async () => (await streamDelivered(stream)) > deliveredBefore,
      30_000,
    );
    stream.process.kill('SIGKILL');
    await stream.exited;
    activity.opportunities.push(activity.win('usmf:US-000009', 3));
    stream = shape.startStream();

    // SQS delivers at least once: every stub again, as a second producer would.
    const toDynamics = shape.deployed.function('to-dynamics').environment[ENV.toDynamicsQueueUrl] ?? '';
    for (const o of activity.opportunities) {
      await shape.send(toDynamics, {
        kind: 'salesforce-stub',
        sobject: 'Opportunity',
        id: o.id,
        trigger: 'cdc',
        observedAt: Date.now(),
      });
    }

    await untilActivityApplied(h, activity);
    // A last scheduled backfill catches anything a fault deferred; it must find nothing new to create.
    await shape.runSchedule();
    await shape.idle(90_000);

    expectNothingLostOrDuplicated(h, activity);
    // The AWS faults really happened.
    expect(crashed).toBe(1);
    expect(shape.pollers['to-dynamics'].invocations.some((i) => i.failed)).toBe(true);
  }, 240_000);
});
