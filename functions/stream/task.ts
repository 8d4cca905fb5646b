/**
 * The Pub/Sub stream task: one subscriber per CDC topic the enabled flows need, each resuming from
 * its replay id in the state table (written only after the stubs it covers were enqueued), a gap
 * beyond retention answered by a backfill. `stop()` lets each subscriber's batch in flight finish
 * and be acknowledged, then closes everything.
 *
 * The health endpoint starts first, so ECS sees a healthy task from its first check, whatever
 * happens next:
 * - Until onboarding the secrets hold the stack's placeholders: the task says "waiting for
 *   credentials" (in /health's body, its logs and AwaitingCredentials = 1), stays healthy, and
 *   polls Secrets Manager with back-off; the first real credentials start the subscribers.
 * - Credentials refused (a start-up check or a subscriber's token refresh answering AuthError,
 *   or Pub/Sub UNAUTHENTICATED after refreshes): the subscribers stop, the secrets are re-read past
 *   their cache; changed credentials (a rotation) rebuild the clients and resubscribe from the
 *   checkpoints, unchanged ones leave the task waiting (healthy; StreamHealthy = 0 so the alarm
 *   fires) for new ones. Nothing crashes.
 * - Not connected (e.g. the Pub/Sub port blocked) for longer than `disconnectedLimitMs`: /health
 *   answers 503, so ECS replaces the task; StreamHealthy is 0 after `metricGraceMs` already.
 * StreamHealthy and AwaitingCredentials are published at start-up and every minute, CdcLagMs per batch.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine, EngineRuntime } from '#adapters/aws/engine.ts';
import { CredentialsNotSetError } from '#adapters/aws/secrets.ts';
import { startCdcSubscribers } from '#adapters/cdc-subscribers.ts';
import { type HealthReport, type HealthServer, startHealthServer } from '#adapters/health-server.ts';
import { AuthError } from '#base/errors.ts';
import { toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { PubSubError } from '#salesforce/pubsub/errors.ts';
import type { PubSubSubscriber, PubSubSubscriberOptions } from '#salesforce/pubsub/subscriber.ts';

export type SubscriberState = 'running' | 'stopped' | 'failed';

/** What the task is doing, as /health reports it (`status`). */
export type StreamPhase =
  | 'waiting for credentials'
  | 'credentials rejected: waiting for new credentials'
  | 'starting'
  | 'streaming'
  | 'failed'
  | 'stopping';

/** gRPC status UNAUTHENTICATED. */
const UNAUTHENTICATED = 16;

export interface StreamTaskOptions {
  readonly runtime: EngineRuntime;
  /** The health endpoint's port (0 = any). */
  readonly healthPort: number;
  readonly healthHost?: string;
  /** How often StreamHealthy is published, ms. Default 60 000. */
  readonly metricsIntervalMs?: number;
  /** Subscriber settings (back-off, batch size). */
  readonly subscriber?: Pick<PubSubSubscriberOptions, 'backoff' | 'batchSize' | 'initialReplay'>;
  /** Polling of the secrets while waiting for credentials: first and longest wait, ms. Default 5 s and 60 s. */
  readonly credentialsPoll?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Not connected for longer than this, /health answers 503. Default 5 minutes. */
  readonly disconnectedLimitMs?: number;
  /** Not connected for longer than this, StreamHealthy is 0. Default 60 s. */
  readonly metricGraceMs?: number;
}

export interface StreamTask {
  readonly healthPort: number;
  report(): HealthReport;
  /** Settles once the subscribers have started (after the credentials arrived), or the task stopped. */
  readonly subscribed: Promise<void>;
  /** Drains and stops every subscriber, the health endpoint and the metrics timer. */
  stop(): Promise<void>;
}

interface Entry {
  readonly topic: string;
  readonly subscriber: PubSubSubscriber;
  state: SubscriberState;
  error?: string;
}

const describe = (error: unknown) =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** The credentials were refused: by the identity provider, or by Pub/Sub after token refreshes. */
export function isCredentialsRefusal(error: unknown): boolean {
  return error instanceof AuthError || (error instanceof PubSubError && error.grpcCode === UNAUTHENTICATED);
}

/** Starts the task: the health endpoint at once, then (in the background) credentials, the start-up check and the subscribers. */
export async function startStreamTask(options: StreamTaskOptions): Promise<StreamTask> {
  const { runtime } = options;
  const now = runtime.now;
  const limit = options.disconnectedLimitMs ?? 5 * 60_000;
  const grace = options.metricGraceMs ?? 60_000;
  const pollInitial = options.credentialsPoll?.initialMs ?? 5_000;
  const pollMax = options.credentialsPoll?.maxMs ?? 60_000;
  const halt = new AbortController();

  let phase: StreamPhase = 'starting';
  let phaseSince = now();
  let lastError: string | undefined;
  let subscribers: Entry[] = [];
  let stopping = false;
  let markSubscribed: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => {
    markSubscribed = resolve;
  });

  const enter = (next: StreamPhase) => {
    if (phase !== next) {
      phase = next;
      phaseSince = now();
    }
  };
  /** The longest any subscriber (or the start-up, before there are any) has been disconnected, ms. */
  const disconnectedFor = (): number => {
    if (phase === 'starting') return now() - phaseSince;
    const since = subscribers
      .map((s) => s.subscriber.stats().disconnectedSince)
      .filter((t): t is number => t !== undefined);
    return since.length === 0 ? 0 : now() - Math.min(...since);
  };
  const awaitingCredentials = () =>
    phase === 'waiting for credentials' || phase === 'credentials rejected: waiting for new credentials';
  const healthyWithin = (bound: number) => {
    if (stopping || phase === 'failed') return false;
    if (awaitingCredentials()) return true;
    if (phase === 'streaming' && subscribers.some((s) => s.state !== 'running')) return false;
    return disconnectedFor() <= bound;
  };

  const report = (): HealthReport => ({
    healthy: healthyWithin(limit),
    status: stopping ? 'stopping' : phase,
    since: new Date(phaseSince).toISOString(),
    ...(lastError ? { error: lastError } : {}),
    topics: subscribers.map((s) => ({
      topic: s.topic,
      state: s.state,
      ...(s.error ? { error: s.error } : {}),
      ...s.subscriber.stats(),
    })),
  });

  const publishHealth = () => {
    const connected =
      !awaitingCredentials() || phase === 'waiting for credentials' ? healthyWithin(grace) : false;
    runtime.metrics.add('StreamHealthy', connected ? 1 : 0);
    runtime.metrics.add('AwaitingCredentials', awaitingCredentials() ? 1 : 0);
    runtime.metrics.flush();
  };

  const health: HealthServer = await startHealthServer({
    port: options.healthPort,
    ...(options.healthHost ? { host: options.healthHost } : {}),
    report,
  });
  runtime.logger.info('stream.health', { healthPort: health.port });
  // The first reading at once: a deployment's new task must not leave a gap the alarm counts.
  publishHealth();
  const timer = setInterval(publishHealth, options.metricsIntervalMs ?? 60_000);
  timer.unref();

  const wait = (attempt: number) =>
    sleep(Math.min(pollMax, pollInitial * 2 ** Math.min(attempt, 20)), undefined, {
      signal: halt.signal,
    }).catch(() => undefined);

  function subscribe(engine: Engine): Entry[] {
    const { ctx, clients } = engine;
    return startCdcSubscribers({
      ctx,
      tokens: clients.salesforce.tokenSource,
      state: runtime.state,
      logger: runtime.logger,
      afterBatch: (batch) => {
        const newest = Math.max(0, ...batch.events.map((e) => Number(toChangeEvent(e).commitTimestamp)));
        if (newest > 0) runtime.metrics.add('CdcLagMs', ctx.now() - newest);
      },
      subscriber: { now, ...options.subscriber },
    }).map(({ topic, subscriber }) => ({ topic, state: 'running' as SubscriberState, subscriber }));
  }

  /** Resolves with the error that ended the first subscriber to end (undefined: stopped). */
  function firstEnd(entries: readonly Entry[]): Promise<unknown> {
    return new Promise((resolve) => {
      for (const entry of entries) {
        entry.subscriber.done.then(
          () => {
            entry.state = 'stopped';
            resolve(undefined);
          },
          (error: unknown) => {
            entry.state = 'failed';
            entry.error = describe(error);
            runtime.logger.error('stream.subscriber-failed', { topic: entry.topic, error: entry.error });
            resolve(error);
          },
        );
      }
      halt.signal.addEventListener('abort', () => resolve(undefined), { once: true });
    });
  }

  async function run(): Promise<void> {
    let attempt = 0;
    let refused: Engine | undefined;
    while (!stopping) {
      let engine: Engine;
      try {
        engine = await runtime.engine();
      } catch (error) {
        if (stopping) return;
        if (error instanceof CredentialsNotSetError) {
          enter('waiting for credentials');
          lastError = undefined;
          runtime.logger.info('stream.waiting-for-credentials', {
            systems: error.systems,
            fix: 'ml-connector credentials set --stack <name>',
          });
        } else if (isCredentialsRefusal(error)) {
          enter('credentials rejected: waiting for new credentials');
          lastError = describe(error);
          runtime.refreshCredentials();
          runtime.logger.error('stream.credentials-rejected', { error: lastError });
        } else {
          // The start-up check could not finish (a network failure, a system down): try again.
          enter('starting');
          lastError = describe(error);
          runtime.logger.warn('stream.start-failed', { error: lastError });
        }
        await wait(attempt++);
        continue;
      }
      if (engine === refused) {
        // The same credentials that were refused: wait for new ones.
        enter('credentials rejected: waiting for new credentials');
        runtime.refreshCredentials();
        await wait(attempt++);
        continue;
      }
      if (stopping) return;
      attempt = 0;
      refused = undefined;
      lastError = undefined;
      subscribers = subscribe(engine);
      enter('streaming');
      runtime.logger.info('stream.started', {
        topics: subscribers.map((s) => s.topic),
        healthPort: health.port,
      });
      markSubscribed();
      const ended = await firstEnd(subscribers);
      if (stopping) return;
      if (!isCredentialsRefusal(ended)) {
        // A subscriber stopped for good (not for its credentials): /health says 503 and ECS replaces the task.
        if (ended !== undefined) {
          enter('failed');
          lastError = describe(ended);
        }
        return;
      }
      runtime.logger.warn('stream.credentials-refused', {
        error: describe(ended),
        next: 're-reading the secrets; rotated credentials restart the stream from its checkpoints',
      });
      await Promise.allSettled(subscribers.map((s) => s.subscriber.stop()));
      refused = engine;
      runtime.refreshCredentials();
      enter('starting');
    }
  }

  const running = run().catch((error: unknown) => {
    enter('failed');
    lastError = describe(error);
    runtime.logger.error('stream.failed', { error: lastError });
  });

  return {
    healthPort: health.port,
    report,
    subscribed,
    async stop() {
      stopping = true;
      halt.abort();
      clearInterval(timer);
      markSubscribed();
      await running;
      await Promise.allSettled(subscribers.map((s) => s.subscriber.stop()));
      // No StreamHealthy reading here: a deliberate stop (a deployment) is not the stream going down.
      runtime.metrics.flush();
      await health.close();
      runtime.logger.info('stream.stopped', { topics: subscribers.map((s) => s.topic) });
    },
  };
}
