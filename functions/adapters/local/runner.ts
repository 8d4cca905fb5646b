/**
 * The local shape: one process runs every trigger and worker of the engine over the embedded
 * SQLite state and queue. The business-event receiver listens on HTTP, one Pub/Sub subscriber
 * per CDC channel feeds the to-Dynamics queue, the backfill runs at start and on its schedule, and
 * two pumps drain the queues through the workers. `stop()` lets work in hand finish and returns
 * the rest to the queue: nothing is lost, and the next start resumes from the checkpoints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineContext } from '#core/engine/context.ts';
import { type BatchHandler, pumpOnce } from '#core/engine/pump.ts';
import { createStateReplayStore } from '#core/engine/replay-store.ts';
import { cdcTopics } from '#core/engine/topics.ts';
import type { Secrets } from '#core/ports/secrets.ts';
import { createBusinessEventReceiver } from '#core/triggers/business-events.ts';
import { createCdcConsumer, createReplayGapHandler } from '#core/triggers/cdc.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { runOrderStatusPoll } from '#core/triggers/order-status-poll.ts';
import { runSalesforceBackfill } from '#core/triggers/salesforce-backfill.ts';
import { type DynamicsStub, QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { type PubSubSubscriber, startPubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceTokenSource } from '#salesforce/session.ts';
import { type ReceiverServer, startReceiverServer } from './receiver-server.ts';

export interface LocalRunnerOptions {
  readonly ctx: EngineContext;
  /** The Salesforce session source (shared with the REST client) for the Pub/Sub channel. */
  readonly tokens: SalesforceTokenSource;
  readonly secrets: Secrets;
  /** Where the business-event receiver listens; `false` to run without it. Default 127.0.0.1, any port. */
  readonly receiver?: { readonly host?: string; readonly port?: number } | false;
  /** Subscribe to CDC. Default true. */
  readonly cdc?: boolean;
  /** Run the backfill at start. Default true. */
  readonly backfillOnStart?: boolean;
  /** How long an idle pump waits before looking again, ms. Default 500. */
  readonly pollIntervalMs?: number;
  /** How long the to-Salesforce pump gathers a batch once work arrives, ms. Default 500. */
  readonly batchWindowMs?: number;
  /** Progress and milestones, for the CLI. */
  readonly onEvent?: (event: RunnerEvent) => void;
}

export type RunnerEvent =
  | { readonly type: 'backfill-started' }
  | { readonly type: 'backfill-finished'; readonly dynamics: unknown; readonly salesforce: unknown }
  | { readonly type: 'order-status-polled'; readonly report: unknown }
  | { readonly type: 'batch'; readonly queue: string; readonly messages: number }
  | { readonly type: 'error'; readonly where: string; readonly message: string };

export interface LocalRunner {
  /** The business-event endpoint, when the receiver runs. */
  readonly receiverUrl: string | undefined;
  /** Runs a backfill now (also what the schedule calls). */
  backfill(options?: { readonly full?: boolean }): Promise<void>;
  /** Polls the followed sales orders now (also what its schedule, `orderStatus.pollMinutes`, calls). */
  pollOrderStatus(): Promise<void>;
  /** Resolves once both queues have nothing visible or in flight. */
  idle(options?: { readonly timeoutMs?: number }): Promise<void>;
  /** Finishes the work in hand, stops every loop and subscriber; resolves when all have stopped. */
  stop(): Promise<void>;
}

export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const { ctx } = options;
  const stop = new AbortController();
  const poll = options.pollIntervalMs ?? 500;
  const emit = options.onEvent ?? (() => {});
  const toSalesforce = createToSalesforceWorker(ctx);
  const toDynamics = createToDynamicsWorker(ctx);
  const loops: Promise<void>[] = [];

  const report = (where: string, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    ctx.logger.error('runner.error', { where, message });
    emit({ type: 'error', where, message });
  };

  const pump = async <T>(queue: string, handler: BatchHandler<T>, batchWindowMs = 0) => {
    while (!stop.signal.aborted) {
      let handled = 0;
      try {
        handled = await pumpOnce<T>(ctx, queue, handler, { batchWindowMs });
        if (handled > 0) emit({ type: 'batch', queue, messages: handled });
      } catch (error) {
        report(`pump ${queue}`, error);
      }
      if (handled === 0) await sleep(poll, undefined, { signal: stop.signal }).catch(() => {});
    }
  };
  // Gather business-event stubs for up to half a second: fuller key-set reads and upserts.
  loops.push(
    pump<DynamicsStub>(QUEUES.toSalesforce, (m) => toSalesforce.handle(m), options.batchWindowMs ?? 500),
  );
  loops.push(pump<SalesforceStub>(QUEUES.toDynamics, (m) => toDynamics.handleBatch(m)));

  let backfillRunning: Promise<void> | undefined;
  const backfill = (opts: { full?: boolean } = {}): Promise<void> => {
    backfillRunning ??= (async () => {
      emit({ type: 'backfill-started' });
      try {
        const entities = [
          ...(ctx.config.flows.customers.enabled ? (['CustomersV3'] as const) : []),
          ...(ctx.config.flows.products.enabled ? (['ReleasedProductsV2'] as const) : []),
        ];
        const dynamics = await runDynamicsBackfill(ctx, { entities, signal: stop.signal, ...opts });
        const salesforce = await runSalesforceBackfill(ctx, { signal: stop.signal, ...opts });
        emit({ type: 'backfill-finished', dynamics, salesforce });
      } catch (error) {
        if (!stop.signal.aborted) report('backfill', error);
      } finally {
        backfillRunning = undefined;
      }
    })();
    return backfillRunning;
  };
  loops.push(
    (async () => {
      if (options.backfillOnStart !== false) await backfill();
      const every = ctx.config.schedules.backfillMinutes * 60_000;
      while (!stop.signal.aborted) {
        await sleep(every, undefined, { signal: stop.signal }).catch(() => {});
        if (!stop.signal.aborted) await backfill();
      }
    })(),
  );

  let orderPollRunning: Promise<void> | undefined;
  const pollOrderStatus = (): Promise<void> => {
    orderPollRunning ??= (async () => {
      try {
        emit({
          type: 'order-status-polled',
          report: await runOrderStatusPoll({ ...ctx, signal: stop.signal }),
        });
      } catch (error) {
        if (!stop.signal.aborted) report('order-status poll', error);
      } finally {
        orderPollRunning = undefined;
      }
    })();
    return orderPollRunning;
  };
  if (ctx.config.orderStatus.enabled) {
    loops.push(
      (async () => {
        const every = ctx.config.orderStatus.pollMinutes * 60_000;
        while (!stop.signal.aborted) {
          await sleep(every, undefined, { signal: stop.signal }).catch(() => {});
          if (!stop.signal.aborted) await pollOrderStatus();
        }
      })(),
    );
  }

  const subscribers: PubSubSubscriber[] = [];
  if (options.cdc !== false) {
    const replayStore = createStateReplayStore(ctx.state);
    for (const topic of cdcTopics(ctx.config)) {
      const subscriber = startPubSubSubscriber({
        tokens: options.tokens,
        topic,
        replayStore,
        endpoint: ctx.config.salesforce.pubsubEndpoint,
        handler: createCdcConsumer(ctx, {
          integrationUserId: async () => (await options.tokens.getSession()).userId,
        }),
        onGap: createReplayGapHandler(ctx),
        logger: ctx.logger,
      });
      subscriber.done.catch((error: unknown) => report(`cdc ${topic}`, error));
      subscribers.push(subscriber);
    }
  }

  let receiver: ReceiverServer | undefined;
  if (options.receiver !== false) {
    const receive = createBusinessEventReceiver({
      config: ctx.config,
      state: ctx.state,
      queue: ctx.queue,
      logger: ctx.logger,
      secrets: () => options.secrets.receiver(),
    });
    receiver = await startReceiverServer({
      receive,
      maxBodyBytes: ctx.config.businessEvents.maxBodyBytes,
      ...(options.receiver?.host ? { host: options.receiver.host } : {}),
      ...(options.receiver?.port !== undefined ? { port: options.receiver.port } : {}),
    });
  }

  return {
    receiverUrl: receiver?.url,
    backfill,
    pollOrderStatus,
    async idle({ timeoutMs = 60_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [a, b] = await Promise.all([
          ctx.queue.depth(QUEUES.toSalesforce),
          ctx.queue.depth(QUEUES.toDynamics),
        ]);
        if (!backfillRunning && !orderPollRunning && a.visible + a.inFlight + b.visible + b.inFlight === 0)
          return;
        if (Date.now() > deadline) throw new Error(`the queues did not drain within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    async stop() {
      stop.abort();
      await receiver?.close();
      await Promise.allSettled(subscribers.map((s) => s.stop()));
      await Promise.allSettled(loops);
    },
  };
}
