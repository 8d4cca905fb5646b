/**
 * Lambda entry point of the EventBridge Scheduler schedule: the Dynamics and Salesforce
 * backfills, one after the other. A failure is recorded (BackfillFailures) and rethrown, so the
 * schedule's retry policy and dead-letter queue see it. The schedule's input may carry
 * `{ "full": true }` to ignore the watermarks.
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
 */
import type { Context } from 'aws-lambda';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import { recordApiBudget } from '#adapters/aws/metrics.ts';
import { runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { runSalesforceBackfill } from '#core/triggers/salesforce-backfill.ts';
import { deadlineSignal, lambda } from './lambda.ts';

/** The schedule's input (anything else is ignored). */
export interface BackfillEvent {
  readonly full?: boolean;
}

export interface BackfillResult {
  readonly dynamics: Awaited<ReturnType<typeof runDynamicsBackfill>>;
  readonly salesforce: Awaited<ReturnType<typeof runSalesforceBackfill>>;
}

/** Builds the handler over a runtime (the module's own, or a test's). */
export function createBackfillHandler(runtime: EngineRuntime) {
  return lambda(runtime, async (event: BackfillEvent | null, context: Context): Promise<BackfillResult> => {
    const full = event?.full === true;
    const signal = deadlineSignal(context);
    runtime.metrics.add('BackfillRuns', 1);
    try {
      const { ctx } = await runtime.engine({ signal });
      const { flows } = ctx.config;
      const entities = [
        ...(flows.customers.enabled ? (['CustomersV3'] as const) : []),
        ...(flows.products.enabled ? (['ReleasedProductsV2'] as const) : []),
      ];
      const dynamics = await runDynamicsBackfill(ctx, { entities, full, signal });
      const salesforce = await runSalesforceBackfill(ctx, { full, signal });
      if (dynamics.stopped) runtime.logger.warn('backfill.stopped', { reason: dynamics.stopped });
      runtime.metrics.add('BackfillFailures', 0);
      recordApiBudget(runtime.metrics, ctx.salesforce.budget.state().remaining);
      return { dynamics, salesforce };
    } catch (error) {
      runtime.metrics.add('BackfillFailures', 1);
      runtime.logger.error('backfill.failed', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
  });
}

export const handler = createBackfillHandler(createEngineRuntime());
