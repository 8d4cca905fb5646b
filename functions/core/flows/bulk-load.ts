/**
 * The initial load's transport: one Bulk API 2.0 ingest job per object for a whole backfill run
 * (every page and legal entity), the CSV streamed into the job's single upload as pages arrive,
 * and a new job only when the next row would pass the job's upload limit
 * (`batches.bulkJobMaxBytes`; Salesforce's is 150 MB of base64, about 100 MB of CSV). Products'
 * standard price book entries go through Bulk too: one insert job fed while the Product2 results
 * are read, existing entries (DUPLICATE_VALUE, FIELD_INTEGRITY_EXCEPTION) reconciled as
 * `ensureStandardPrices` does, and products whose price changed reconciled by SOQL as before.
 *
 * Nothing advances before Salesforce confirms it: content hashes are stored, and records
 * audited, from the result files only; a job that fails (upload, close, processing, results)
 * leaves each of its records `deferred` (enqueued for the worker by the backfill). Per-record
 * failures park or fail the record exactly as `syncRecords` does.
 *
 * Memory: a page at a time, plus a compact pending entry per record of the open job (its keys,
 * hash and price, as one string) until its results are read.
 */
import type { EngineContext } from '#core/engine/context.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import { type BulkJob, type BulkResultRow, bulkColumns } from '#core/ports/apis.ts';
import type { RecordFailure, SyncEntity } from './flow.ts';
import { parksRecord } from './parking.ts';
import { PendingStore } from './pending-store.ts';
import { ensureStandardPrices, type PriceTarget } from './price-book.ts';
import {
  audit,
  auditKey,
  hashKey,
  type Item,
  prepareBatch,
  type RecordOutcome,
  type SyncResult,
  type SyncSummary,
  syncPrepared,
  TO_SALESFORCE_FLOWS,
} from './sync.ts';
import { reasonOf } from './transient.ts';

/** What the products flow keeps for the price book step (see products.ts). */
interface ProductPrice {
  readonly unitPrice: number;
  readonly currencies: readonly (string | undefined)[];
  readonly priceHash: string;
  readonly active?: boolean;
}

/** Counts per legal entity of the records the load decided after their page was reported. */
export interface LoadTally {
  created: number;
  updated: number;
  failed: number;
  parked: number;
  deferred: number;
}

/** A record to hand to the worker (transient trouble). */
export interface DeferredRecord {
  readonly dataAreaId: string;
  readonly id: string;
}

export interface BulkLoadOptions {
  readonly signal?: AbortSignal | undefined;
  /** Drift repair: unchanged records are compared with what Salesforce holds (sync.ts). */
  readonly reconcile?: boolean | undefined;
}

const SEP = '\u0001';
const RESULT = '\u0002';
/** Between a price entry's product text and its result mark (`S`, or `F` with the error). */
const MARK = '\u0003';
/** Records completed (hashes stored, audited) per state-store round. */
const COMPLETE_CHUNK = 1_000;

/** The price part of a pending product: whether its price changed, the price, the currencies. */
interface PendingPrice {
  readonly changed: boolean;
  readonly unitPrice: number;
  readonly currencies: readonly (string | undefined)[];
  /** Whether the product may be sold (lifecycle.products): its entries are active. */
  readonly active: boolean;
}

/**
 * A pending record as one compact string: dataAreaId, id, hash, notes and, for products, the
 * price part (`<changed>~<unitPrice>~<currencies>`).
 */
function pendingOf(item: Item, storedHash: string | undefined): string {
  const { notes, extra } = item.mapped;
  let price = '';
  if (extra !== undefined) {
    const p = extra as ProductPrice;
    const changed = priceHashOf(storedHash) !== p.priceHash;
    price = `${changed ? 1 : 0}~${p.unitPrice}~${p.currencies.map((c) => c ?? '').join(',')}~${p.active === false ? 0 : 1}`;
  }
  return [item.dataAreaId, item.id, item.mapped.hash, notes?.length ? JSON.stringify(notes) : '', price].join(
    SEP,
  );
}

function priceOf(text: string): PendingPrice | undefined {
  if (!text) return undefined;
  const [changed, unitPrice, currencies, active] = text.split('~') as [string, string, string, string?];
  return {
    changed: changed === '1',
    unitPrice: Number(unitPrice),
    currencies: currencies.split(',').map((c) => c || undefined),
    active: active !== '0',
  };
}

interface Pending {
  /** The encoded entry without its result. */
  readonly base: string;
  readonly dataAreaId: string;
  readonly id: string;
  readonly hash: string;
  readonly notes: readonly string[] | undefined;
  readonly price: PendingPrice | undefined;
  /** What Salesforce did; absent when the record is in no result file. */
  readonly result?: { readonly id: string; readonly created: boolean; readonly error?: RecordFailure };
}

function decode(text: string): Pending {
  const [base, result] = text.split(RESULT) as [string, string | undefined];
  const [dataAreaId, id, hash, notes, price] = base.split(SEP) as string[];
  let decided: Pending['result'];
  if (result !== undefined) {
    const [kind, sfId, a, ...rest] = result.split(SEP) as string[];
    if (kind === 'S') decided = { id: sfId ?? '', created: a === '1' };
    else {
      const statusCode = a ?? 'UNKNOWN';
      decided = {
        id: sfId ?? '',
        created: false,
        error: {
          status: parksRecord(statusCode) ? 'parked' : 'failed',
          reason: `${statusCode}: ${rest.join(SEP)}`,
          statusCode,
        },
      };
    }
  }
  return {
    base,
    dataAreaId: dataAreaId ?? '',
    id: id ?? '',
    hash: hash ?? '',
    notes: notes ? (JSON.parse(notes) as string[]) : undefined,
    price: priceOf(price ?? ''),
    ...(decided ? { result: decided } : {}),
  };
}

/** A pending entry with a result file row appended (a re-read row replaces the earlier one). */
function withResult(text: string, row: BulkResultRow): string {
  const base = text.split(RESULT)[0] as string;
  if (row.file === 'successfulResults')
    return `${base}${RESULT}S${SEP}${row.id}${SEP}${row.created ? '1' : '0'}`;
  const error = row.error ?? { statusCode: 'UNKNOWN', message: '' };
  return `${base}${RESULT}F${SEP}${row.id}${SEP}${error.statusCode}${SEP}${error.message}`;
}

/**
 * One streamed Bulk load of an entity over a backfill run: `add` each page, `finish` at the end.
 * Pages with few changes while no job is open go through `syncRecords`' Collections path.
 */
export class BulkLoad {
  readonly entity: SyncEntity;
  private readonly ctx: EngineContext;
  private readonly signal: AbortSignal | undefined;
  private readonly reconcile: boolean;
  private readonly flow;
  private readonly field: string;
  private job: BulkJob | undefined;
  /** The open job's records by External ID value. */
  private pending: PendingStore | undefined;
  /** Records whose External ID repeats within the open job: sent after it, by Collections. */
  private repeats: { item: Item; storedHash: string | undefined }[] = [];
  private broken: unknown;
  private readonly prices: PriceBookLoad | undefined;
  readonly tally = new Map<string, LoadTally>();
  readonly deferred: DeferredRecord[] = [];

  constructor(ctx: EngineContext, entity: SyncEntity, options: BulkLoadOptions = {}) {
    this.ctx = ctx;
    this.entity = entity;
    this.signal = options.signal ?? ctx.signal;
    this.reconcile = options.reconcile === true;
    this.flow = TO_SALESFORCE_FLOWS[entity];
    this.field = this.flow.externalIdField(ctx.config);
    this.prices = this.flow.name === 'products' ? new PriceBookLoad(ctx, this.signal, this) : undefined;
  }

  /** Whether a Bulk job of this load failed (its records and later ones are deferred). */
  get failed(): boolean {
    return this.broken !== undefined;
  }

  /** Whether a job is open (later pages then join it whatever their size). */
  get streaming(): boolean {
    return this.job !== undefined;
  }

  private count(dataAreaId: string): LoadTally {
    let t = this.tally.get(dataAreaId);
    if (!t) {
      t = { created: 0, updated: 0, failed: 0, parked: 0, deferred: 0 };
      this.tally.set(dataAreaId, t);
    }
    return t;
  }

  /**
   * Maps one page and streams its changed records into the object's job (opening one, or the
   * next when full). Returns the page's summary: only what is decided now (skips, mapping
   * refusals); the rest is decided by `finish`. Small pages while no job is open are synced
   * through Collections at once (a whole `syncRecords`).
   */
  async add(records: readonly DynamicsRecord[]): Promise<SyncResult> {
    const { ctx } = this;
    const callsBefore = ctx.salesforce.counter.snapshot().total;
    const mode = this.reconcile ? { reconcile: true } : {};
    const prepared = await prepareBatch(ctx, this.entity, records, this.signal, mode);
    if (!this.job && prepared.changed.length <= ctx.config.batches.bulkThreshold) {
      return await syncPrepared(ctx, this.entity, records, prepared, {
        trigger: 'backfill',
        signal: this.signal,
        ...mode,
      });
    }
    const { outcomes } = prepared;
    // Customers created from an Account go to that Account by Id (the write-back race, sync.ts's
    // linkChanged), never into the job's External ID upsert: they take the Collections path, are
    // audited there, and are left out of this page's own audit below.
    const linkable = this.flow.linkTargets
      ? prepared.changed.filter((i) => (i.mapped.extra as { accountId?: string } | undefined)?.accountId)
      : [];
    const linkedRefs = new Set(linkable.map((i) => i.ref));
    if (linkable.length > 0) {
      const sub = await syncPrepared(
        ctx,
        this.entity,
        records,
        { outcomes: new Array<RecordOutcome>(records.length), changed: linkable, stored: prepared.stored },
        { trigger: 'backfill', signal: this.signal },
      );
      for (const ref of linkedRefs) outcomes[ref] = sub.outcomes[ref] as RecordOutcome;
    }
    for (const item of prepared.changed) {
      if (linkedRefs.has(item.ref)) continue;
      const storedHash = prepared.stored.get(item.hashKey)?.hash;
      const key = item.mapped.fields[this.field];
      if (this.broken !== undefined || typeof key !== 'string' || key === '') {
        outcomes[item.ref] =
          this.broken !== undefined
            ? { status: 'deferred', key: item.key, reason: reasonOf(this.broken) }
            : {
                status: 'failed',
                key: item.key,
                reason: `${this.field} is required to upsert`,
                statusCode: 'REQUIRED_FIELD_MISSING',
              };
        if (this.broken !== undefined) this.deferred.push({ dataAreaId: item.dataAreaId, id: item.id });
        continue;
      }
      if (this.pending?.has(key)) {
        this.repeats.push({ item, storedHash });
        continue;
      }
      try {
        await this.write(item, key, storedHash);
      } catch (error) {
        if (this.broken !== undefined) {
          outcomes[item.ref] = { status: 'deferred', key: item.key, reason: reasonOf(this.broken) };
          this.deferred.push({ dataAreaId: item.dataAreaId, id: item.id });
        } else
          outcomes[item.ref] = { status: 'failed', key: item.key, reason: `mapping: ${reasonOf(error)}` };
      }
    }
    const unaudited =
      linkedRefs.size > 0 ? outcomes.map((o, i) => (linkedRefs.has(i) ? undefined : o)) : outcomes;
    await audit(
      ctx,
      this.entity,
      this.flow,
      records,
      unaudited as RecordOutcome[],
      { trigger: 'backfill' },
      0,
    );
    return {
      summary: pageSummary(records.length, outcomes, ctx.salesforce.counter.snapshot().total - callsBefore),
      outcomes,
    };
  }

  /** Writes one record into the open job, rolling over to a new job when it does not fit. */
  private async write(item: Item, key: string, storedHash: string | undefined): Promise<void> {
    let row = this.job?.encode(item.mapped.fields);
    if (this.job && (row === undefined || !this.job.fits(Buffer.byteLength(row)))) {
      // Full, or a field the header lacks: this job ends here, the next takes the rest.
      const columns =
        row === undefined ? union(this.job.columns, bulkColumns(item.mapped.fields)) : this.job.columns;
      await this.completeJob();
      if (this.broken !== undefined) throw this.broken;
      await this.open(columns);
      row = this.current()?.encode(item.mapped.fields);
    }
    if (!this.job) {
      await this.open(union([this.field], bulkColumns(item.mapped.fields)));
      row = this.current()?.encode(item.mapped.fields);
    }
    const job = this.current() as BulkJob;
    this.pending ??= new PendingStore();
    this.pending.add(key, pendingOf(item, storedHash));
    try {
      await job.write(row as string);
    } catch (error) {
      this.broken = error;
      await this.completeJob();
    }
  }

  /** The open job (a method, so narrowing does not outlive an await). */
  private current(): BulkJob | undefined {
    return this.job;
  }

  private async open(columns: readonly string[]): Promise<void> {
    try {
      this.job = await this.ctx.salesforce.openBulkJob(this.flow.sobject, {
        operation: 'upsert',
        externalIdField: this.field,
        columns,
        maxJobBytes: this.ctx.config.batches.bulkJobMaxBytes,
        ...(this.signal ? { signal: this.signal } : {}),
      });
    } catch (error) {
      this.broken = error;
      throw error;
    }
  }

  /** Ends the load: the open job's results, the repeats, and the price book job. */
  async finish(): Promise<void> {
    if (this.job) await this.completeJob();
    await this.prices?.finish();
  }

  /** Closes the open job, reads its results and completes (or defers) every record of it. */
  private async completeJob(): Promise<void> {
    const job = this.job;
    const pending = this.pending;
    const repeats = this.repeats;
    this.job = undefined;
    this.pending = undefined;
    this.repeats = [];
    if (!job) {
      pending?.close();
      return;
    }
    const store = pending ?? new PendingStore();
    try {
      await this.completeJobOf(job, store, repeats);
    } finally {
      store.close();
    }
  }

  private async completeJobOf(
    job: BulkJob,
    pending: PendingStore,
    repeats: readonly { item: Item; storedHash: string | undefined }[],
  ): Promise<void> {
    const { ctx } = this;
    try {
      const info = await job.finish();
      const signal = this.signal ? { signal: this.signal } : {};
      const onRow = (row: BulkResultRow) => {
        const key = row.values[this.field];
        const entry = key === undefined ? undefined : pending.get(key);
        if (entry === undefined || key === undefined) {
          ctx.logger.warn('bulk_load.unknown_result', { jobId: job.id, file: row.file });
          return;
        }
        pending.replace(key, withResult(entry, row));
      };
      await ctx.salesforce.readBulkResults(job.id, 'successfulResults', onRow, signal);
      await ctx.salesforce.readBulkResults(job.id, 'failedResults', onRow, signal);
      if ((info.numberRecordsProcessed ?? 0) < job.count)
        await ctx.salesforce.readBulkResults(job.id, 'unprocessedrecords', onRow, signal);
    } catch (error) {
      // No record of this job is confirmed: all of them go back to the worker.
      this.broken ??= error;
      ctx.logger.warn('bulk_load.job_failed', {
        jobId: job.id,
        records: pending.size,
        error: reasonOf(error),
      });
      await this.deferAll(pending.values(), error);
      for (const r of repeats) this.deferItem(r.item);
      return;
    }
    for await (const part of chunks(pending.values(), COMPLETE_CHUNK)) await this.complete(part.map(decode));
    if (repeats.length > 0) await this.syncRepeats(repeats);
  }

  /** Completes confirmed records: products go on to their prices, the rest are stored and audited. */
  private async complete(entries: readonly Pending[]): Promise<void> {
    if (this.prices) {
      const done: Pending[] = [];
      for (const e of entries) {
        if (!e.result || e.result.error || !this.prices.needs(e)) done.push(e);
        else await this.prices.add(e);
      }
      await this.settle(done, new Map());
      return;
    }
    await this.settle(entries, new Map());
  }

  /** Stores the hashes of what fully succeeded and audits every record; `failures` by index. */
  async settle(entries: readonly Pending[], failures: ReadonlyMap<number, RecordFailure>): Promise<void> {
    if (entries.length === 0) return;
    const { ctx, entity, flow } = this;
    const outcomes: RecordOutcome[] = [];
    const records: DynamicsRecord[] = [];
    const hashes: { key: string; hash: string }[] = [];
    entries.forEach((e, i) => {
      const key = auditKey(entity, e.dataAreaId, e.id);
      records.push({ dataAreaId: e.dataAreaId, [flow.idField]: e.id });
      const tally = this.count(e.dataAreaId);
      const failure: RecordFailure | undefined =
        failures.get(i) ??
        e.result?.error ??
        (e.result?.id
          ? undefined
          : {
              status: 'failed',
              reason: e.result
                ? 'Salesforce reported no id'
                : 'NOT_IN_RESULTS: absent from the Bulk job results',
              statusCode: e.result ? undefined : 'NOT_IN_RESULTS',
            });
      if (failure) {
        outcomes.push({
          status: failure.status,
          key,
          reason: failure.reason,
          statusCode: failure.statusCode,
        });
        if (failure.status === 'deferred') {
          tally.deferred++;
          this.deferred.push({ dataAreaId: e.dataAreaId, id: e.id });
        } else if (failure.status === 'parked') {
          tally.failed++;
          tally.parked++;
        } else tally.failed++;
        return;
      }
      const created = e.result?.created === true;
      outcomes.push({ status: 'succeeded', key, salesforceId: e.result?.id ?? '', created, notes: e.notes });
      if (created) tally.created++;
      else tally.updated++;
      hashes.push({ key: hashKey(flow.name, e.dataAreaId, e.id), hash: e.hash });
    });
    if (hashes.length > 0) await ctx.state.putHashes(hashes);
    await audit(ctx, entity, flow, records, outcomes, { trigger: 'backfill' }, 0);
  }

  private deferItem(item: Item): void {
    this.count(item.dataAreaId).deferred++;
    this.deferred.push({ dataAreaId: item.dataAreaId, id: item.id });
  }

  /** Every record of a failed job: deferred (audited as transient, handed to the worker). */
  async deferAll(entries: Iterable<string>, error: unknown): Promise<void> {
    const failure: RecordFailure = { status: 'deferred', reason: `Bulk: ${reasonOf(error)}` };
    for await (const part of chunks(entries, COMPLETE_CHUNK)) {
      const decoded = part.map((text) => decode(text.split(RESULT)[0] as string));
      await this.settle(decoded, new Map(decoded.map((_, i) => [i, failure])));
    }
  }

  /** Records whose External ID repeated within a job, upserted after it through Collections. */
  private async syncRepeats(
    repeats: readonly { item: Item; storedHash: string | undefined }[],
  ): Promise<void> {
    const records = repeats.map(({ item }) => ({
      dataAreaId: item.dataAreaId,
      [this.flow.idField]: item.id,
    }));
    const changed = repeats.map(({ item }, ref) => ({ ...item, ref }));
    const stored = new Map<string, { hash: string }>();
    for (const { item, storedHash } of repeats)
      if (storedHash) stored.set(item.hashKey, { hash: storedHash });
    const result = await syncPrepared(
      this.ctx,
      this.entity,
      records,
      { outcomes: new Array<RecordOutcome>(records.length), changed, stored },
      { trigger: 'backfill', signal: this.signal },
    );
    result.outcomes.forEach((o, i) => {
      const item = repeats[i]?.item as Item;
      const tally = this.count(item.dataAreaId);
      if (o.status === 'succeeded') o.created ? tally.created++ : tally.updated++;
      else if (o.status === 'deferred') this.deferItem(item);
      else if (o.status === 'parked') {
        tally.failed++;
        tally.parked++;
      } else if (o.status === 'failed') tally.failed++;
    });
  }
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

function pageSummary(
  read: number,
  outcomes: readonly (RecordOutcome | undefined)[],
  apiCalls: number,
): SyncSummary {
  let skipped = 0;
  let failed = 0;
  let parked = 0;
  let deferred = 0;
  let created = 0;
  let updated = 0;
  for (const o of outcomes) {
    if (!o) continue;
    if (o.status === 'skipped') skipped++;
    else if (o.status === 'succeeded') o.created ? created++ : updated++;
    else if (o.status === 'deferred') deferred++;
    else {
      failed++;
      if (o.status === 'parked') parked++;
    }
  }
  return { read, upserted: created + updated, created, updated, skipped, failed, parked, deferred, apiCalls };
}

/** Splits a stored products hash into its price part (see products.ts). */
function priceHashOf(stored: string | undefined): string | undefined {
  const at = stored?.indexOf('.') ?? -1;
  return stored && at >= 0 ? stored.slice(at + 1) : undefined;
}

const isExistingPrice = (code: string | undefined) =>
  code === 'DUPLICATE_VALUE' || code === 'FIELD_INTEGRITY_EXCEPTION';

/**
 * The products' standard price book entries of a load: new products' entries streamed into one
 * PricebookEntry insert job (a new one past the upload limit), changed prices reconciled as
 * `ensureStandardPrices` does. A product completes when all its entries are in place.
 */
class PriceBookLoad {
  private readonly ctx: EngineContext;
  private readonly signal: AbortSignal | undefined;
  private readonly load: BulkLoad;
  private job: BulkJob | undefined;
  /** `<Product2Id>|<currency>` → the product's pending entry (with its Product2 result). */
  private entries: PendingStore | undefined;
  /** Products whose price changed (reconciled by SOQL, as the Collections path does). */
  private reconcile: Pending[] = [];

  constructor(ctx: EngineContext, signal: AbortSignal | undefined, load: BulkLoad) {
    this.ctx = ctx;
    this.signal = signal;
    this.load = load;
  }

  /** Whether a confirmed product needs its entries written or checked (new, or its price changed). */
  needs(e: Pending): boolean {
    return e.result?.created === true || e.price?.changed === true;
  }

  private fields(productId: string, unitPrice: number, currency: string | undefined, active: boolean) {
    return {
      Pricebook2Id: this.ctx.reference.standardPricebookId,
      Product2Id: productId,
      UnitPrice: unitPrice,
      IsActive: active,
      UseStandardPrice: false,
      ...(this.ctx.reference.multiCurrency && currency ? { CurrencyIsoCode: currency } : {}),
    };
  }

  async add(e: Pending): Promise<void> {
    const price = e.price as PendingPrice;
    const productId = e.result?.id as string;
    if (!e.result?.created) {
      this.reconcile.push(e);
      if (this.reconcile.length >= COMPLETE_CHUNK) await this.flushReconcile();
      return;
    }
    const rows = price.currencies.map((c) => this.fields(productId, price.unitPrice, c, price.active));
    const text = pendingText(e);
    let encoded = rows.map((r) => this.job?.encode(r));
    let bytes = encoded.reduce((n, r) => n + (r ? Buffer.byteLength(r) : 0), 0);
    if (this.job && !this.job.fits(bytes)) await this.completeJob();
    if (!this.job) {
      try {
        this.job = await this.ctx.salesforce.openBulkJob('PricebookEntry', {
          operation: 'insert',
          columns: bulkColumns(
            this.fields(productId, 0, this.ctx.reference.multiCurrency ? 'X' : undefined, true),
          ),
          maxJobBytes: this.ctx.config.batches.bulkJobMaxBytes,
          ...(this.signal ? { signal: this.signal } : {}),
        });
      } catch (error) {
        await this.load.deferAll([text], error);
        return;
      }
      encoded = rows.map((r) => this.job?.encode(r));
      bytes = encoded.reduce((n, r) => n + (r ? Buffer.byteLength(r) : 0), 0);
    }
    this.entries ??= new PendingStore();
    for (const c of price.currencies) this.entries.add(`${productId}|${c ?? ''}`, text);
    try {
      await (this.job as BulkJob).write(encoded.join(''));
    } catch {
      await this.completeJob();
    }
  }

  private async flushReconcile(): Promise<void> {
    const list = this.reconcile;
    this.reconcile = [];
    await this.settleWithPrices(
      list,
      list.map((e) => ({ e, refusal: undefined })),
    );
  }

  /** Runs `ensureStandardPrices` on products (reconcile mode) and settles them. */
  private async settleWithPrices(
    products: readonly Pending[],
    targets: readonly { e: Pending; refusal: { statusCode: string; message: string } | undefined }[],
  ): Promise<void> {
    const list = reconcileTargets(targets);
    const failures = list.length > 0 ? await ensureStandardPrices(this.ctx, list, this.signal) : new Map();
    await this.load.settle(products, failures);
  }

  /** Closes the open entry job, reads its results, settles its products. */
  private async completeJob(): Promise<void> {
    const job = this.job;
    const entries = this.entries;
    this.job = undefined;
    this.entries = undefined;
    try {
      if (job && entries) await this.completeJobOf(job, entries);
    } finally {
      entries?.close();
    }
  }

  private async completeJobOf(job: BulkJob, entries: PendingStore): Promise<void> {
    const multi = this.ctx.reference.multiCurrency;
    try {
      const info = await job.finish();
      const signal = this.signal ? { signal: this.signal } : {};
      const onRow = (row: BulkResultRow) => {
        const key = `${row.values.Product2Id}|${multi ? (row.values.CurrencyIsoCode ?? '') : ''}`;
        const entry = entries.get(key);
        if (entry === undefined) return;
        const mark = row.error ? `F${SEP}${row.error.statusCode}${SEP}${row.error.message}` : 'S';
        entries.replace(key, `${entry.split(MARK)[0]}${MARK}${mark}`);
      };
      await this.ctx.salesforce.readBulkResults(job.id, 'successfulResults', onRow, signal);
      await this.ctx.salesforce.readBulkResults(job.id, 'failedResults', onRow, signal);
      if ((info.numberRecordsProcessed ?? 0) < job.count)
        await this.ctx.salesforce.readBulkResults(job.id, 'unprocessedrecords', onRow, signal);
    } catch (error) {
      this.ctx.logger.warn('bulk_load.price_job_failed', { jobId: job.id, error: reasonOf(error) });
      await this.load.deferAll(productTexts(entries), error);
      return;
    }
    // Group the entries by product (a product's entries are written together), in write order.
    const missing = `F${SEP}NOT_IN_RESULTS${SEP}absent from the results of Bulk job ${job.id}`;
    for await (const part of chunks(productGroups(entries, missing), COMPLETE_CHUNK)) {
      const decoded = part.map((p) => decode(p.text));
      const failures = new Map<number, RecordFailure>();
      const existing: { e: Pending; refusal: { statusCode: string; message: string } }[] = [];
      const existingAt: number[] = [];
      part.forEach((p, i) => {
        const bad = p.marks.find((m) => m !== 'S');
        if (!bad) return;
        const [, statusCode = 'UNKNOWN', ...message] = bad.split(SEP);
        if (isExistingPrice(statusCode)) {
          existing.push({ e: decoded[i] as Pending, refusal: { statusCode, message: message.join(SEP) } });
          existingAt.push(i);
        } else {
          failures.set(i, {
            status: parksRecord(statusCode) ? 'parked' : 'failed',
            reason: `PricebookEntry: ${statusCode}: ${message.join(SEP)}`,
            statusCode,
          });
        }
      });
      if (existing.length > 0) {
        // Reconciled as ensureStandardPrices does after DUPLICATE_VALUE: read, reprice, no second create.
        const found = await ensureStandardPrices(this.ctx, reconcileTargets(existing), this.signal);
        for (const [ref, failure] of found) failures.set(existingAt[ref] as number, failure);
      }
      await this.load.settle(decoded, failures);
    }
  }

  async finish(): Promise<void> {
    await this.completeJob();
    await this.flushReconcile();
  }
}

/** The pending text of a product (its Product2 result included), as the price entries refer to it. */
function pendingText(e: Pending): string {
  return `${e.base}${RESULT}S${SEP}${e.result?.id ?? ''}${SEP}${e.result?.created ? '1' : '0'}`;
}

/** Price targets in reconcile mode (read, reprice, never a second create), `ref` = index in `targets`. */
function reconcileTargets(
  targets: readonly { e: Pending; refusal?: { statusCode: string; message: string } | undefined }[],
): PriceTarget[] {
  return targets.map(({ e, refusal }, ref) => {
    const price = e.price as PendingPrice;
    return {
      ref,
      productId: e.result?.id as string,
      unitPrice: price.unitPrice,
      currencies: price.currencies,
      mode: 'reconcile',
      active: price.active,
      ...(refusal ? { refusal } : {}),
    };
  });
}

/** Groups the entries of a price job by product (a product's entries are written together), in write order. */
function* productGroups(
  entries: PendingStore,
  missing: string,
): Generator<{ text: string; marks: string[] }> {
  let last: { text: string; marks: string[] } | undefined;
  for (const value of entries.values()) {
    const [text, mark] = value.split(MARK) as [string, string | undefined];
    if (last?.text !== text) {
      if (last) yield last;
      last = { text, marks: [] };
    }
    last.marks.push(mark ?? missing);
  }
  if (last) yield last;
}

/** The distinct products of a price job's entries. */
function* productTexts(entries: PendingStore): Generator<string> {
  for (const group of productGroups(entries, '')) yield group.text;
}

/** Arrays of at most `size` items of an iterable, read lazily. */
async function* chunks<T>(items: Iterable<T>, size: number): AsyncGenerator<T[]> {
  let part: T[] = [];
  for (const item of items) {
    part.push(item);
    if (part.length >= size) {
      yield part;
      part = [];
      await nextTurn();
    }
  }
  if (part.length > 0) yield part;
}

/**
 * Waits for the event loop's next turn. Settling a job's records is local work only (the state
 * store, then the next chunk): without a turn between chunks, a job of 750,000 records would hold
 * the loop for minutes, and Ctrl-C, timers and V8's own clean-up tasks would wait for it.
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
