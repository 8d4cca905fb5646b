/**
 * The CDC subscribers both shapes run, set up once: one Pub/Sub subscriber per change-event
 * channel the enabled flows need (wiring.ts), each resuming from its replay id in the state store,
 * its batches turned into to-Dynamics stubs by the CDC consumer, a gap beyond retention answered
 * by a backfill. The local runner and the Fargate stream task differ only in what they add around
 * it (the task's lag metric, its health report).
 */

import type { Logger } from '#base/logger.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { createStateReplayStore } from '#core/engine/replay-store.ts';
import { cdcTopics } from '#core/engine/wiring.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import { createCdcConsumer, createReplayGapHandler } from '#core/triggers/cdc.ts';
import { toChangeBatch } from '#salesforce/pubsub/cdc.ts';
import {
  type PubSubBatch,
  type PubSubSubscriber,
  type PubSubSubscriberOptions,
  startPubSubSubscriber,
} from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceTokenSource } from '#salesforce/session.ts';

export interface CdcSubscribersOptions {
  readonly ctx: EngineContext;
  /** The Salesforce session source (shared with the REST client). */
  readonly tokens: SalesforceTokenSource;
  /** Where the replay ids are kept. Default: `ctx.state`. */
  readonly state?: StateStore;
  /** Default: `ctx.logger`. */
  readonly logger?: Logger;
  /** Called after a batch was consumed (its stubs enqueued), before its replay id is stored. */
  readonly afterBatch?: (batch: PubSubBatch) => void;
  /** Subscriber settings (back-off, batch size, clock). */
  readonly subscriber?: Pick<PubSubSubscriberOptions, 'backoff' | 'batchSize' | 'initialReplay' | 'now'>;
}

export interface CdcSubscription {
  readonly topic: string;
  readonly subscriber: PubSubSubscriber;
}

/** Starts one subscriber per CDC channel the enabled flows need (none when no such flow is enabled). */
export function startCdcSubscribers(options: CdcSubscribersOptions): CdcSubscription[] {
  const { ctx, tokens, afterBatch } = options;
  const replayStore = createStateReplayStore(options.state ?? ctx.state);
  const consume = createCdcConsumer(ctx, {
    integrationUserId: async () => (await tokens.getSession()).userId,
  });
  const handler = async (batch: PubSubBatch) => {
    await consume(toChangeBatch(batch));
    afterBatch?.(batch);
  };
  return cdcTopics(ctx.config).map((topic) => ({
    topic,
    subscriber: startPubSubSubscriber({
      tokens,
      topic,
      replayStore,
      endpoint: ctx.config.salesforce.pubsubEndpoint,
      handler,
      onGap: createReplayGapHandler(ctx),
      logger: options.logger ?? ctx.logger,
      ...options.subscriber,
    }),
  }));
}
