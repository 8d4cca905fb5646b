/**
 * The Pub/Sub stream task: one subscriber per CDC topic the enabled flows need, each resuming from
 * its replay id in the state table (written only after the stubs it covers were enqueued), a gap
 * beyond retention answered by a backfill. `stop()` lets each subscriber's batch in flight finish
 * and be acknowledged, then closes everything. Reports StreamHealthy every minute and CdcLagMs per
 * batch.
 */
import type { EngineRuntime } from '#adapters/aws/engine.ts';
import { createStateReplayStore } from '#core/engine/replay-store.ts';
import { cdcTopics } from '#core/engine/topics.ts';
import { createCdcConsumer, createReplayGapHandler } from '#core/triggers/cdc.ts';
import { toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import {
  type PubSubBatch,
  type PubSubSubscriber,
  type PubSubSubscriberOptions,
  startPubSubSubscriber,
} from '#salesforce/pubsub/subscriber.ts';
import { type HealthReport, type HealthServer, startHealthServer } from './health.ts';

export type SubscriberState = 'running' | 'stopped' | 'failed';

export interface StreamTaskOptions {
  readonly runtime: EngineRuntime;
  /** The health endpoint's port (0 = any). */
  readonly healthPort: number;
  readonly healthHost?: string;
  /** How often StreamHealthy is published, ms. Default 60 000. */
  readonly metricsIntervalMs?: number;
  /** Subscriber settings (back-off, batch size). */
  readonly subscriber?: Pick<PubSubSubscriberOptions, 'backoff' | 'batchSize' | 'initialReplay'>;
}

export interface StreamTask {
  readonly healthPort: number;
  report(): HealthReport;
  /** Drains and stops every subscriber, the health endpoint and the metrics timer. */
  stop(): Promise<void>;
}

/** Starts the task: the start-up check, the subscribers, the health endpoint. */
export async function startStreamTask(options: StreamTaskOptions): Promise<StreamTask> {
  const { runtime } = options;
  const { ctx, clients } = await runtime.engine();
  const replayStore = createStateReplayStore(runtime.state);
  const consume = createCdcConsumer(ctx, {
    integrationUserId: async () => (await clients.salesforce.tokenSource.getSession()).userId,
  });

  const handler = async (batch: PubSubBatch) => {
    await consume(batch);
    const newest = Math.max(0, ...batch.events.map((e) => Number(toChangeEvent(e).commitTimestamp)));
    if (newest > 0) runtime.metrics.add('CdcLagMs', ctx.now() - newest);
  };

  const subscribers = cdcTopics(ctx.config).map((topic) => {
    const entry: { topic: string; subscriber: PubSubSubscriber; state: SubscriberState; error?: string } = {
      topic,
      state: 'running',
      subscriber: startPubSubSubscriber({
        tokens: clients.salesforce.tokenSource,
        topic,
        replayStore,
        endpoint: ctx.config.salesforce.pubsubEndpoint,
        handler,
        onGap: createReplayGapHandler(ctx),
        logger: runtime.logger,
        ...options.subscriber,
      }),
    };
    entry.subscriber.done.then(
      () => {
        entry.state = 'stopped';
      },
      (error: unknown) => {
        entry.state = 'failed';
        entry.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        runtime.logger.error('stream.subscriber-failed', { topic, error: entry.error });
      },
    );
    return entry;
  });

  let stopping = false;
  const report = (): HealthReport => ({
    healthy: !stopping && subscribers.every((s) => s.state === 'running'),
    topics: subscribers.map((s) => ({
      topic: s.topic,
      state: s.state,
      ...(s.error ? { error: s.error } : {}),
      ...s.subscriber.stats(),
    })),
  });

  const publishHealth = () => {
    runtime.metrics.add('StreamHealthy', report().healthy ? 1 : 0);
    runtime.metrics.flush();
  };
  const timer = setInterval(publishHealth, options.metricsIntervalMs ?? 60_000);
  timer.unref();

  let health: HealthServer;
  try {
    health = await startHealthServer({
      port: options.healthPort,
      ...(options.healthHost ? { host: options.healthHost } : {}),
      report,
    });
  } catch (error) {
    clearInterval(timer);
    await Promise.allSettled(subscribers.map((s) => s.subscriber.stop()));
    throw error;
  }
  runtime.logger.info('stream.started', { topics: subscribers.map((s) => s.topic), healthPort: health.port });

  return {
    healthPort: health.port,
    report,
    async stop() {
      stopping = true;
      clearInterval(timer);
      await Promise.allSettled(subscribers.map((s) => s.subscriber.stop()));
      publishHealth();
      await health.close();
      runtime.logger.info('stream.stopped', { topics: subscribers.map((s) => s.topic) });
    },
  };
}
