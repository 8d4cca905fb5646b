/**
 * The Dynamics-side backfill: brings Salesforce up to date with CustomersV3 and ReleasedProductsV2,
 * legal entity by legal entity, one OData page in memory at a time.
 * - With a configured modified-timestamp field (`modifiedFields[entity]`): only records modified
 *   since the stored watermark (minus `schedules.watermarkOverlapSeconds`), oldest first; the
 *   watermark advances after each page's work is done or enqueued. When the entity's mapping
 *   changed since the watermark was reached (a fingerprint in a `mapping:` checkpoint), one run
 *   reads the entity in full, so the change reaches records Dynamics did not change.
 * - Otherwise (F&O has no such field by default): a paged scan whose records go through the
 *   content-hash comparison of `syncRecords`, so an unchanged re-run writes nothing to Salesforce.
 * Records that hit a transient error are enqueued as stubs for the worker. `$skip` paging under
 * concurrent deletes can miss a record; the next scan (or `full`) picks it up.
 * Transport: pages with few changes go through sObject Collections; once a page has more than
 * `batches.bulkThreshold` changed records, it and every later page of the entity (all legal
 * entities) stream into one Bulk API 2.0 job per object (see flows/bulk-load.ts). Those records
 * are decided when the job's results are read at the end of the entity; their watermarks
 * advance only then.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#filter-details
 */
import type { EngineContext } from '#core/engine/context.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import { mappingFingerprint } from '#core/mapping/flow-mappings.ts';
import { ge } from '#core/ports/dynamics/odata.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import { BulkLoad, type DeferredRecord } from '../flows/bulk-load.ts';
import { markDeletedAfterScan } from '../flows/deletions.ts';
import { type SyncEntity, type SyncSummary, TO_SALESFORCE_FLOWS } from '../flows/sync.ts';

export interface BackfillProgress {
  readonly entity: SyncEntity;
  readonly legalEntity: string;
  readonly pages: number;
  readonly read: number;
  readonly upserted: number;
  readonly created: number;
  readonly updated: number;
  readonly skipped: number;
  readonly failed: number;
  /** Records enqueued for the worker after a transient error. */
  readonly deferred: number;
  /** Calls since the backfill started, as the clients count them. */
  readonly apiCalls: { readonly dynamics: number; readonly salesforce: number };
  /** True on the last report of this entity and legal entity. */
  readonly done: boolean;
}

export interface BackfillOptions {
  readonly entities: readonly SyncEntity[];
  /** Ignore stored watermarks (the watermark is still advanced). */
  readonly full?: boolean;
  /**
   * Drift repair: read everything (as `full`) and compare the records the hashes call unchanged
   * with Salesforce, sending again what was deleted or edited there (flows/drift.ts).
   */
  readonly reconcile?: boolean;
  readonly signal?: AbortSignal;
  /** Called after every page and at the end of each entity and legal entity. */
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillReport {
  readonly runs: readonly BackfillProgress[];
  /** Why the backfill stopped early (abort, Salesforce unavailable or over budget), if it did. */
  readonly stopped?: string;
}

/** The checkpoint holding an entity's watermark in one legal entity. */
export function watermarkName(entity: SyncEntity, dataAreaId: string): string {
  return `watermark:dynamics:${entity}:${dataAreaId}`;
}

const ZERO = { read: 0, upserted: 0, created: 0, updated: 0, skipped: 0, failed: 0, deferred: 0 };

/** Runs the backfill for the given entities over every configured legal entity. */
export async function runDynamicsBackfill(
  ctx: EngineContext,
  options: BackfillOptions,
): Promise<BackfillReport> {
  const signal = options.signal ?? ctx.signal;
  const d0 = ctx.dynamics.counter.snapshot().total;
  const s0 = ctx.salesforce.counter.snapshot().total;
  const calls = () => ({
    dynamics: ctx.dynamics.counter.snapshot().total - d0,
    salesforce: ctx.salesforce.counter.snapshot().total - s0,
  });
  const runs: BackfillProgress[] = [];
  for (const entity of options.entities) {
    const flow = TO_SALESFORCE_FLOWS[entity];
    if (!ctx.config.flows[flow.name].enabled) continue;
    const load = new BulkLoad(ctx, entity, { signal, reconcile: options.reconcile === true });
    const held: { run: number; checkpoint: string; value: string; progress: BackfillProgress }[] = [];
    const streamed = new Map<string, number>();
    let stopped: string | undefined;
    for (const legalEntity of ctx.config.legalEntities) {
      let progress: BackfillProgress = {
        entity,
        legalEntity,
        pages: 0,
        ...ZERO,
        apiCalls: calls(),
        done: false,
      };
      const report = (summary: SyncSummary | undefined, done: boolean) => {
        progress = {
          ...progress,
          pages: progress.pages + (summary ? 1 : 0),
          read: progress.read + (summary?.read ?? 0),
          upserted: progress.upserted + (summary?.upserted ?? 0),
          created: progress.created + (summary?.created ?? 0),
          updated: progress.updated + (summary?.updated ?? 0),
          skipped: progress.skipped + (summary?.skipped ?? 0),
          failed: progress.failed + (summary?.failed ?? 0),
          deferred: progress.deferred + (summary?.deferred ?? 0),
          apiCalls: calls(),
          done,
        };
        options.onProgress?.(progress);
      };
      const one = await backfillOne(
        ctx,
        load,
        legalEntity,
        { full: options.full === true || options.reconcile === true, reconcile: options.reconcile === true },
        signal,
        report,
      );
      runs.push(progress);
      if (one.held) held.push({ run: runs.length - 1, ...one.held, progress });
      if (one.streamed) streamed.set(legalEntity, runs.length - 1);
      if (one.stopped) {
        stopped = one.stopped;
        break;
      }
    }
    // The streamed records: read the jobs' results, store, audit, hand the deferred to the worker.
    await load.finish();
    await enqueueDeferred(ctx, entity, load.deferred);
    for (const [legalEntity, at] of streamed) {
      const t = load.tally.get(legalEntity);
      const before = runs[at] as BackfillProgress;
      const after: BackfillProgress = {
        ...before,
        upserted: before.upserted + (t ? t.created + t.updated : 0),
        created: before.created + (t?.created ?? 0),
        updated: before.updated + (t?.updated ?? 0),
        failed: before.failed + (t?.failed ?? 0),
        deferred: before.deferred + (t?.deferred ?? 0),
        apiCalls: calls(),
        done: true,
      };
      runs[at] = after;
      options.onProgress?.(after);
    }
    // Watermarks of streamed pages advance once their records are decided (deferred ones are queued).
    for (const h of held) await ctx.state.putCheckpoint(h.checkpoint, h.value);
    if (stopped) return { runs, stopped };
    if (load.deferred.length > 0 && [...load.tally.values()].every((t) => t.created + t.updated === 0)) {
      return {
        runs,
        stopped: 'Salesforce unavailable or over its API budget; the rest waits for the next run',
      };
    }
  }
  return { runs };
}

async function enqueueDeferred(ctx: EngineContext, entity: SyncEntity, deferred: readonly DeferredRecord[]) {
  if (deferred.length === 0) return;
  const flow = TO_SALESFORCE_FLOWS[entity];
  const at = ctx.now();
  for (let i = 0; i < deferred.length; i += 1000) {
    await ctx.queue.send(
      QUEUES.toSalesforce,
      deferred.slice(i, i + 1000).map((d) => ({
        body: stubOf(entity, flow.idField, { dataAreaId: d.dataAreaId, [flow.idField]: d.id }, at),
      })),
    );
  }
}

interface OneResult {
  /** Why the backfill must stop, if it must. */
  readonly stopped?: string;
  /** Whether pages went into the open Bulk job (their counts come after `load.finish`). */
  readonly streamed?: boolean;
  /** A watermark to store after `load.finish` (pages in the Bulk job are not decided yet). */
  readonly held?: { readonly checkpoint: string; readonly value: string };
}

/** One entity in one legal entity. */
async function backfillOne(
  ctx: EngineContext,
  load: BulkLoad,
  legalEntity: string,
  mode: { readonly full: boolean; readonly reconcile: boolean },
  signal: AbortSignal | undefined,
  report: (summary: SyncSummary | undefined, done: boolean) => void,
): Promise<OneResult> {
  const entity = load.entity;
  const flow = TO_SALESFORCE_FLOWS[entity];
  let streamed = false;
  let held: { checkpoint: string; value: string } | undefined;
  const modified = ctx.config.modifiedFields[entity];
  const checkpoint = watermarkName(entity, legalEntity);
  let watermark = modified ? await ctx.state.getCheckpoint(checkpoint) : undefined;
  // A changed mapping re-maps records Dynamics did not change: one full read, then the watermark again.
  const fingerprint = mappingFingerprint(entity, ctx.config);
  const mappingMark = modified
    ? await ctx.state.getCheckpoint(mappingCheckpointName(entity, legalEntity))
    : undefined;
  const mappingChanged = modified !== undefined && mappingMark?.value !== fingerprint;
  let filter: ReturnType<typeof ge> | undefined;
  if (modified && watermark && !mode.full && !mappingChanged) {
    const overlapMs = ctx.config.schedules.watermarkOverlapSeconds * 1000;
    filter = ge(modified, new Date(Date.parse(watermark.value) - overlapMs));
  }
  const select = [...flow.select(ctx.config), ...(modified ? [modified] : [])];
  const pages = ctx.dynamics.readPages(
    flow.entity,
    {
      company: legalEntity,
      select: select as never,
      filter,
      // Oldest first, so a watermark taken after each page never passes an unread record.
      orderBy: modified ? [modified, ...flow.entity.keys] : undefined,
    },
    { signal },
  );
  // Drift repair also looks for records deleted in F&O: the ids this scan saw (flows/deletions.ts).
  const seen = mode.reconcile ? new Set<string>() : undefined;
  for await (const page of pages) {
    const records = page.records as readonly DynamicsRecord[];
    if (seen) for (const r of records) seen.add(String(r[flow.idField] ?? ''));
    const result = await load.add(records);
    if (load.streaming) streamed = true;
    // Records deferred inside the Bulk load are queued by the caller after `load.finish`.
    const deferred = streamed
      ? []
      : result.outcomes.flatMap((o, i) => (o?.status === 'deferred' ? [records[i] ?? {}] : []));
    if (deferred.length > 0) {
      const at = ctx.now();
      await ctx.queue.send(
        QUEUES.toSalesforce,
        deferred.map((r) => ({ body: stubOf(entity, flow.idField, r, at) })),
      );
    }
    if (modified) {
      const newest = newestOf(records, modified);
      const since = held ? Date.parse(held.value) : watermark ? Date.parse(watermark.value) : undefined;
      if (newest !== undefined && (since === undefined || newest > since)) {
        if (streamed) held = { checkpoint, value: new Date(newest).toISOString() };
        else watermark = await ctx.state.putCheckpoint(checkpoint, new Date(newest).toISOString());
      }
    }
    report(result.summary, false);
    const end = (stopped?: string): OneResult => {
      if (!streamed) report(undefined, true);
      return { ...(stopped ? { stopped } : {}), streamed, ...(held ? { held } : {}) };
    };
    if (signal?.aborted) return end('aborted');
    if (load.failed)
      return end('Salesforce unavailable or over its API budget; the rest waits for the next run');
    if (result.summary.deferred > 0 && result.summary.upserted === 0 && !streamed) {
      return end('Salesforce unavailable or over its API budget; the rest waits for the next run');
    }
  }
  if (mappingChanged) await ctx.state.putCheckpoint(mappingCheckpointName(entity, legalEntity), fingerprint);
  if (seen) {
    try {
      const marked = await markDeletedAfterScan(ctx, entity, legalEntity, seen, signal);
      if (marked > 0) ctx.logger.info('reconcile.deleted-in-dynamics', { entity, legalEntity, marked });
    } catch (error) {
      // The next reconcile looks again; the sync itself is done.
      ctx.logger.warn('reconcile.deleted-in-dynamics-failed', {
        entity,
        legalEntity,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  if (!streamed) report(undefined, true);
  return { streamed, ...(held ? { held } : {}) };
}

/** The checkpoint holding the fingerprint of the mapping an entity's watermark was last reached with. */
export function mappingCheckpointName(entity: SyncEntity, dataAreaId: string): string {
  return `mapping:dynamics:${entity}:${dataAreaId}`;
}

function stubOf(entity: SyncEntity, idField: string, record: DynamicsRecord, at: number): DynamicsStub {
  return {
    kind: 'dynamics-stub',
    entity,
    key: {
      dataAreaId: String(record.dataAreaId ?? '').toLowerCase(),
      [idField]: String(record[idField] ?? ''),
    },
    trigger: 'backfill',
    observedAt: at,
  };
}

function newestOf(records: readonly DynamicsRecord[], field: string): number | undefined {
  let newest: number | undefined;
  for (const r of records) {
    const t = typeof r[field] === 'string' ? Date.parse(r[field] as string) : Number.NaN;
    if (!Number.isNaN(t) && (newest === undefined || t > newest)) newest = t;
  }
  return newest;
}
