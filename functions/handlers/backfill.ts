/**
 * Lambda entry point of the EventBridge Scheduler schedule: the Dynamics and Salesforce
 * backfills, one after the other. A failure is recorded (BackfillFailures) and rethrown, so the
 * schedule's retry policy and dead-letter queue see it. The schedule's input may carry
 * `{ "full": true }` to ignore the watermarks, or `{ "reconcile": true }` to repair drift now; the
 * repair also runs when due (`schedules.reconcileDays`, weekly by default). Each run first checks
 * that the Salesforce org and F&O environment are those the state belongs to (identity.ts).
 *
 * After the backfills, parked work whose cause has arrived is enqueued again (core/engine/parked.ts).
 *
 * A second schedule sends `{ "job": "order-status" }`
 * every `orderStatus.pollMinutes`: a poll of the sales orders the connector follows
 * (triggers/order-status-poll.ts), under its own lease so it never waits for a long backfill.
 *
 * Two runs never overlap: each holds a lease in the state table (lease.ts) for the rest of its
 * invocation; a run that finds it held returns at once (`skipped: 'already-running'`). Before
 * onboarding (the secrets hold the stack's placeholders) a run logs that it waits for credentials
 * and returns cleanly (`skipped: 'credentials-not-set'`): no error, no retry, no failure metric.
 * A run refused for its credentials makes the next one re-read the secrets (a rotation).
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
 */
import type { Context } from 'aws-lambda';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import { recordApiBudget } from '#adapters/aws/metrics.ts';
import { CredentialsNotSetError } from '#adapters/aws/secrets.ts';
import { AuthError } from '#base/errors.ts';
import { checkSystemIdentity } from '#core/engine/identity.ts';
import { retryArrivedSafely } from '#core/engine/parked.ts';
import { backfillEntities } from '#core/engine/wiring.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { type OrderStatusPollReport, runOrderStatusPoll } from '#core/triggers/order-status-poll.ts';
import { markReconciled, reconcileDue } from '#core/triggers/reconcile-schedule.ts';
import { runSalesforceBackfill } from '#core/triggers/salesforce-backfill.ts';
import { deadlineSignal, lambda } from './lambda.ts';
import { acquireLease, type Lease } from './lease.ts';

/** The schedule's input (anything else is ignored). */
export interface BackfillEvent {
  readonly full?: boolean;
  /** Drift repair now (it also runs when due: schedules.reconcileDays). */
  readonly reconcile?: boolean;
  /** `order-status`: poll the followed sales orders instead of the backfill. */
  readonly job?: 'backfill' | 'order-status';
}

export interface BackfillResult {
  readonly dynamics: Awaited<ReturnType<typeof runDynamicsBackfill>>;
  readonly salesforce: Awaited<ReturnType<typeof runSalesforceBackfill>>;
  /** Why nothing ran (then both reports are empty, `dynamics.stopped` says why). */
  readonly skipped?: 'credentials-not-set' | 'already-running';
  /** The order-status poll's report (`job: order-status` only). */
  readonly orderStatus?: OrderStatusPollReport;
}

/** The lease the backfill runs hold (checkpoint `lock:backfill`). */
export const BACKFILL_LEASE = 'backfill';
/** The lease the order-status polls hold (checkpoint `lock:order-status`). */
export const ORDER_STATUS_LEASE = 'order-status';

const skipped = (reason: NonNullable<BackfillResult['skipped']>): BackfillResult => ({
  dynamics: { runs: [], stopped: reason },
  salesforce: { enqueued: {}, watermarks: {} },
  skipped: reason,
});

/** The backfill parts of a result when only the order-status poll ran. */
const skippedNothing = {
  dynamics: { runs: [] },
  salesforce: { enqueued: {}, watermarks: {} },
} as const satisfies Pick<BackfillResult, 'dynamics' | 'salesforce'>;

/** Builds the handler over a runtime (the module's own, or a test's). */
export function createBackfillHandler(runtime: EngineRuntime) {
  return lambda(runtime, async (event: BackfillEvent | null, context: Context): Promise<BackfillResult> => {
    const full = event?.full === true;
    const signal = deadlineSignal(context);
    const describe = (error: unknown) =>
      error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    let lease: Lease | undefined;
    const failed = (error: unknown): never => {
      if (!lease) runtime.metrics.add('BackfillRuns', 1);
      runtime.metrics.add('BackfillFailures', 1);
      // Rejected credentials: the next run re-reads the secrets instead of using the cached ones.
      if (error instanceof AuthError) runtime.refreshCredentials();
      runtime.logger.error('backfill.failed', { error: describe(error) });
      throw error;
    };
    let engine: Awaited<ReturnType<EngineRuntime['engine']>>;
    try {
      engine = await runtime.engine({ signal });
    } catch (error) {
      if (error instanceof CredentialsNotSetError) {
        runtime.logger.info('backfill.waiting-for-credentials', { systems: error.systems });
        return skipped('credentials-not-set');
      }
      return failed(error);
    }
    const orderStatusJob = event?.job === 'order-status';
    lease = await acquireLease(runtime.state, {
      name: orderStatusJob ? ORDER_STATUS_LEASE : BACKFILL_LEASE,
      holder: context?.awsRequestId ?? `run-${runtime.now()}`,
      // Until the invocation's own deadline: a run killed at its timeout frees the lease then.
      durationMs: (context?.getRemainingTimeInMillis?.() ?? 15 * 60_000) + 5_000,
      now: runtime.now,
    });
    if (!lease) {
      runtime.logger.info('backfill.skipped', { reason: 'another run holds the backfill lease' });
      return skipped('already-running');
    }
    runtime.metrics.add('BackfillRuns', 1);
    try {
      const { ctx } = engine;
      if (orderStatusJob) {
        const orderStatus = await runOrderStatusPoll({ ...ctx, signal });
        runtime.metrics.add('BackfillFailures', 0);
        recordApiBudget(runtime.metrics, ctx.salesforce.budget.state().remaining);
        return { ...skippedNothing, orderStatus };
      }
      const entities = backfillEntities(ctx.config);
      // A changed org or F&O environment resets the stored hashes first (identity.ts).
      await checkSystemIdentity(ctx, (await engine.clients.salesforce.tokenSource.getSession()).orgId);
      const reconcile = event?.reconcile === true || (await reconcileDue(ctx));
      const dynamics = await runDynamicsBackfill(ctx, {
        entities,
        full,
        signal,
        ...(reconcile ? { reconcile: true } : {}),
      });
      if (reconcile && !dynamics.stopped) await markReconciled(ctx);
      const salesforce = await runSalesforceBackfill(ctx, { full, signal });
      // Parked work one of whose `waitsFor` records succeeded since goes through again.
      await retryArrivedSafely(ctx);
      if (dynamics.stopped) runtime.logger.warn('backfill.stopped', { reason: dynamics.stopped });
      runtime.metrics.add('BackfillFailures', 0);
      recordApiBudget(runtime.metrics, ctx.salesforce.budget.state().remaining);
      return { dynamics, salesforce };
    } catch (error) {
      return failed(error);
    } finally {
      const held = lease;
      await held
        .release()
        .catch((error: unknown) =>
          runtime.logger.warn('backfill.lease-release-failed', { error: describe(error) }),
        );
    }
  });
}

export const handler = createBackfillHandler(createEngineRuntime());
