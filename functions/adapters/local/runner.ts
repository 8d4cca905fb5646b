/**
 * The local shape: one process runs every trigger and worker of the engine over the embedded
 * SQLite state and queue. The business-event receiver listens on HTTP, one Pub/Sub subscriber
 * per CDC channel feeds the to-Dynamics queue, the backfill runs at start and on its schedule, and
 * two pumps drain the queues through the workers. `stop()` aborts the work in hand (its messages
 * go back to the queue, or reappear after their visibility time-out; leases and idempotency make
 * the re-run safe) and resolves within a grace period: nothing is lost, and the next start resumes
 * from the checkpoints.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startCdcSubscribers } from '#adapters/cdc-subscribers.ts';
import { ConnectorError } from '#base/errors.ts';
import { watchAudit } from '#core/engine/audit-watch.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { retryArrivedSafely, retryingParked } from '#core/engine/parked.ts';
import { type BatchHandler, pumpOnce } from '#core/engine/pump.ts';
import { backfillEntities } from '#core/engine/wiring.ts';
import type { Secrets } from '#core/ports/secrets.ts';
import { createBusinessEventReceiver } from '#core/triggers/business-events.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { runOrderStatusPoll } from '#core/triggers/order-status-poll.ts';
import { markReconciled, reconcileDue } from '#core/triggers/reconcile-schedule.ts';
import { runSalesforceBackfill } from '#core/triggers/salesforce-backfill.ts';
import { type DynamicsStub, QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import type { PubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
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
  /** Settles when the backfill run at start has finished (at once when there is none). */
  readonly startBackfill: Promise<void>;
  /** Runs a backfill now (also what the schedule calls). */
  backfill(options?: { readonly full?: boolean }): Promise<void>;
  /** Polls the followed sales orders now (also what its schedule, `orderStatus.pollMinutes`, calls). */
  pollOrderStatus(): Promise<void>;
  /**
   * Resolves once no backfill runs and both queues have nothing visible or in flight; rejects on
   * its time-out or when `signal` aborts. Messages left in flight by a crashed process count until
   * their visibility time-out ends, so this is for tests and the demo, never for readiness.
   */
  idle(options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal }): Promise<void>;
  /**
   * Aborts the work in hand and stops every loop and subscriber. Resolves when all have stopped,
   * or after `graceMs` (default 5000) with `{ complete: false }`: what was still running is
   * abandoned like a crash would abandon it (unacknowledged messages reappear), never lost.
   */
  stop(options?: { readonly graceMs?: number }): Promise<{ readonly complete: boolean }>;
}

export async function startLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  // Aborted without a reason: the abort surfaces as an AbortError, which the workers treat as
  // transient (the message is retried, never dead-lettered).
  const stop = new AbortController();
  const ctx: EngineContext = {
    ...options.ctx,
    signal: options.ctx.signal ? AbortSignal.any([options.ctx.signal, stop.signal]) : stop.signal,
  };
  const poll = options.pollIntervalMs ?? 500;
  const emit = options.onEvent ?? (() => {});
  // Each worker writes through its own audit watch: after a batch, parked work waiting for a
  // record that succeeded in it is retried (core/engine/parked.ts).
  const toSalesforceWatch = watchAudit(ctx.state);
  const toDynamicsWatch = watchAudit(ctx.state);
  const toSalesforce = createToSalesforceWorker({ ...ctx, state: toSalesforceWatch.state });
  const toDynamics = createToDynamicsWorker({ ...ctx, state: toDynamicsWatch.state });
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
    pump<DynamicsStub>(
      QUEUES.toSalesforce,
      retryingParked(ctx, toSalesforceWatch, (m) => toSalesforce.handle(m)),
      options.batchWindowMs ?? 500,
    ),
  );
  loops.push(
    pump<SalesforceStub>(
      QUEUES.toDynamics,
      retryingParked(ctx, toDynamicsWatch, (m) => toDynamics.handleBatch(m)),
    ),
  );

  let backfillRunning: Promise<void> | undefined;
  const backfill = (opts: { full?: boolean } = {}): Promise<void> => {
    backfillRunning ??= (async () => {
      emit({ type: 'backfill-started' });
      try {
        const entities = backfillEntities(ctx.config);
        // The weekly drift repair rides on the backfill when due (schedules.reconcileDays).
        const reconcile = await reconcileDue(ctx);
        const dynamics = await runDynamicsBackfill(ctx, {
          entities,
          signal: stop.signal,
          ...opts,
          ...(reconcile ? { reconcile: true } : {}),
        });
        if (reconcile && !dynamics.stopped) await markReconciled(ctx);
        const salesforce = await runSalesforceBackfill(ctx, { signal: stop.signal, ...opts });
        // Parked work whose cause arrived since and was not retried at once (core/engine/parked.ts).
        await retryArrivedSafely(ctx);
        emit({ type: 'backfill-finished', dynamics, salesforce });
      } catch (error) {
        if (!stop.signal.aborted) report('backfill', error);
      } finally {
        backfillRunning = undefined;
      }
    })();
    return backfillRunning;
  };
  const startBackfill = options.backfillOnStart !== false ? backfill() : Promise.resolve();
  loops.push(
    (async () => {
      await startBackfill;
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
    for (const { topic, subscriber } of startCdcSubscribers({ ctx, tokens: options.tokens })) {
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
    startBackfill,
    backfill,
    pollOrderStatus,
    async idle({ timeoutMs = 60_000, signal }: { timeoutMs?: number; signal?: AbortSignal } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        signal?.throwIfAborted();
        const [a, b] = await Promise.all([
          ctx.queue.depth(QUEUES.toSalesforce),
          ctx.queue.depth(QUEUES.toDynamics),
        ]);
        if (!backfillRunning && !orderPollRunning && a.visible + a.inFlight + b.visible + b.inFlight === 0)
          return;
        if (Date.now() > deadline) {
          throw new ConnectorError(`the queues did not drain within ${timeoutMs} ms`, {
            code: 'DRAIN_TIMEOUT',
            failure: 'transient',
          });
        }
        await sleep(100, undefined, signal ? { signal } : {});
      }
    },
    async stop({ graceMs = 5000 }: { graceMs?: number } = {}) {
      stop.abort();
      const all = Promise.allSettled([receiver?.close(), ...subscribers.map((s) => s.stop()), ...loops]).then(
        () => true,
      );
      const grace = new AbortController();
      const complete = await Promise.race([
        all,
        sleep(graceMs, false, { signal: grace.signal }).catch(() => false),
      ]);
      grace.abort();
      if (!complete) ctx.logger.warn('runner.stop-incomplete', { graceMs });
      return { complete };
    },
  };
}
