/**
 * The Salesforce backfill poll: finds the records the to-Dynamics flows still owe work for
 * (won Opportunities and activated Orders without a sales order number, Accounts without a
 * Dynamics key) changed since the watermark, and enqueues a stub for each. The query re-reads
 * `watermarkOverlapSeconds` before the watermark, so commits stamped in the same second as the
 * last poll are not missed; the watermark advances to the newest SystemModstamp seen only after
 * the stubs covering it were enqueued. CDC does not carry SystemModstamp, hence SOQL here.
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_other_events.htm
 */
import type { EngineContext } from '#core/engine/context.ts';
import { backfillObjects } from '#core/engine/wiring.ts';
import { soql, soqlIdent } from '#core/ports/salesforce/soql.ts';
import { ConditionFailedError } from '#core/ports/state-store.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';

/** The Salesforce objects the to-Dynamics flows start from. */
export type BackfillObject = SalesforceStub['sobject'];

/** Options of {@link runSalesforceBackfill}. */
export interface SalesforceBackfillOptions {
  /** Objects to poll; default every object whose flow is enabled. */
  readonly objects?: readonly BackfillObject[];
  /** Ignore the watermark and scan everything still owed. */
  readonly full?: boolean;
  readonly signal?: AbortSignal;
}

/** What a backfill run enqueued and where the watermarks stand. */
export interface SalesforceBackfillReport {
  /** Stubs enqueued per object. */
  readonly enqueued: Readonly<Partial<Record<BackfillObject, number>>>;
  /** The watermark per object after the run (ISO), when one exists. */
  readonly watermarks: Readonly<Partial<Record<BackfillObject, string>>>;
}

/** The checkpoint name of an object's SOQL watermark. */
export const watermarkName = (sobject: BackfillObject): string => `watermark:salesforce:${sobject}`;

/** The objects whose flows are enabled, in a fixed order (Accounts first: orders may need them). */
export function enabledObjects(ctx: EngineContext): BackfillObject[] {
  return backfillObjects(ctx.config);
}

/** The SOQL of one object's poll (only records still owed work), oldest change first. */
export function backfillQuery(ctx: EngineContext, sobject: BackfillObject, since: Date | undefined): string {
  const { externalIds } = ctx.config;
  const owed =
    sobject === 'Account'
      ? `${soqlIdent(externalIds.account).text} = null`
      : sobject === 'Opportunity'
        ? `IsWon = true AND ${soqlIdent(externalIds.opportunitySalesOrder).text} = null`
        : `StatusCode = 'Activated' AND ${soqlIdent(externalIds.orderSalesOrder).text} = null`;
  const after = since ? ` AND ${soql`SystemModstamp > ${since}`}` : '';
  return `SELECT Id, SystemModstamp FROM ${soqlIdent(sobject).text} WHERE ${owed}${after} ORDER BY SystemModstamp ASC, Id ASC`;
}

/** Advances a watermark to `value` unless a concurrent poll already moved it further. */
async function advance(ctx: EngineContext, name: string, value: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const current = await ctx.state.getCheckpoint(name);
    if (current && Date.parse(current.value) >= Date.parse(value)) return;
    try {
      await ctx.state.putCheckpoint(name, value, { expectedVersion: current?.version ?? 0 });
      return;
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
}

/** Polls one object page by page: enqueue the page, then advance the watermark past it. */
async function pollObject(
  ctx: EngineContext,
  sobject: BackfillObject,
  options: SalesforceBackfillOptions,
): Promise<{ enqueued: number; watermark: string | undefined }> {
  const name = watermarkName(sobject);
  const stored = await ctx.state.getCheckpoint(name);
  const overlapMs = ctx.config.schedules.watermarkOverlapSeconds * 1000;
  const since = !options.full && stored ? new Date(Date.parse(stored.value) - overlapMs) : undefined;
  let enqueued = 0;
  let watermark = stored?.value;
  const signal = options.signal ?? ctx.signal;
  for await (const page of ctx.salesforce.queryPages<{ Id: string; SystemModstamp: string }>(
    backfillQuery(ctx, sobject, since),
    signal ? { signal } : {},
  )) {
    if (page.records.length === 0) continue;
    const observedAt = ctx.now();
    const stubs: SalesforceStub[] = page.records.map((r) => ({
      kind: 'salesforce-stub',
      sobject,
      id: r.Id,
      trigger: 'backfill',
      observedAt,
    }));
    await ctx.queue.send(
      QUEUES.toDynamics,
      stubs.map((body) => ({ body })),
    );
    enqueued += stubs.length;
    const newest = page.records.reduce(
      (max, r) => (Date.parse(r.SystemModstamp) > Date.parse(max) ? r.SystemModstamp : max),
      watermark ?? page.records[0]?.SystemModstamp ?? '',
    );
    if (newest && newest !== watermark) {
      await advance(ctx, name, newest);
      watermark = newest;
    }
    if (signal?.aborted) break;
  }
  return { enqueued, watermark };
}

/** Runs the backfill over the requested (and enabled) objects; see the module doc. */
export async function runSalesforceBackfill(
  ctx: EngineContext,
  options: SalesforceBackfillOptions = {},
): Promise<SalesforceBackfillReport> {
  const enabled = enabledObjects(ctx);
  const objects = (options.objects ?? enabled).filter((o) => enabled.includes(o));
  const enqueued: Partial<Record<BackfillObject, number>> = {};
  const watermarks: Partial<Record<BackfillObject, string>> = {};
  for (const sobject of objects) {
    const result = await pollObject(ctx, sobject, options);
    enqueued[sobject] = result.enqueued;
    if (result.watermark) watermarks[sobject] = result.watermark;
    ctx.logger.info('salesforce-backfill.polled', {
      sobject,
      enqueued: result.enqueued,
      watermark: result.watermark,
    });
  }
  return { enqueued, watermarks };
}
