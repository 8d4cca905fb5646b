/**
 * When the scheduled drift repair is due: every `schedules.reconcileDays` days, run by the backfill
 * schedule of either shape (the local runner's loop, the AWS backfill Lambda), which then runs its
 * Dynamics backfill with `reconcile`. The last run is a checkpoint, so a restart or a cold start
 * does not repeat it, and only a finished repair counts as one.
 */
import type { EngineContext } from '#core/engine/context.ts';

const LAST_RECONCILE = 'reconcile:last';

/** Whether a scheduled reconcile is due now. */
export async function reconcileDue(ctx: EngineContext): Promise<boolean> {
  const days = ctx.config.schedules.reconcileDays;
  if (days === 0) return false;
  const last = await ctx.state.getCheckpoint(LAST_RECONCILE);
  if (!last) return true;
  return ctx.now() - Date.parse(last.value) >= days * 86_400_000;
}

/** Records a finished reconcile. */
export async function markReconciled(ctx: EngineContext): Promise<void> {
  await ctx.state.putCheckpoint(LAST_RECONCILE, new Date(ctx.now()).toISOString());
}
