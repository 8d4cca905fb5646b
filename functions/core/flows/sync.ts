/**
 * The to-Salesforce sync procedure both the worker and the Dynamics backfill run on a batch of
 * OData records: map, skip what the stored content hashes say is unchanged, upsert the rest by
 * External ID (sObject Collections ≤ `batches.collectionsSize` per call, Bulk API 2.0 above
 * `batches.bulkThreshold`), run the flow's follow-up (price book entries), then store hashes of
 * what Salesforce accepted and audit every change and failure. Skips are counted, not audited.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { HASHES_VALID_FROM } from '#core/engine/identity.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import { recordKey } from '#core/mapping/keys.ts';
import { ParkedError } from '#core/mapping/legal-entity.ts';
import type { NewAuditEntry } from '#core/ports/state-store.ts';
import type { DynamicsStub, Trigger } from '#core/work/items.ts';
import { chunk, forEachLimit, SALESFORCE_CONCURRENCY } from './chunks.ts';
import { customersFlow } from './customers.ts';
import { findDrift } from './drift.ts';
import type { MappedRecord, RecordFailure, SyncEntity, ToSalesforceFlow, UpsertedRecord } from './flow.ts';
import { parksRecord } from './parking.ts';
import { productsFlow } from './products.ts';
import { isTransient, reasonOf } from './transient.ts';

export type { SyncEntity } from './flow.ts';
export { parksRecord } from './parking.ts';

/** The flows by entity. */
export const TO_SALESFORCE_FLOWS: Readonly<Record<SyncEntity, ToSalesforceFlow>> = Object.freeze({
  CustomersV3: customersFlow,
  ReleasedProductsV2: productsFlow,
});

export interface SyncOptions {
  readonly trigger: Trigger;
  /** The delivery attempt (the queue's receive count); default 1. */
  readonly attempt?: number | undefined;
  /** Per-record attempts, by input index (the worker's receive counts); override `attempt`. */
  readonly attempts?: readonly (number | undefined)[] | undefined;
  /** The work items behind the records, by input index; audit entries carry them for replay. */
  readonly stubs?: readonly (DynamicsStub | undefined)[] | undefined;
  readonly signal?: AbortSignal | undefined;
  /**
   * Drift repair: records the stored hashes call unchanged are compared with what Salesforce holds
   * (drift.ts), and those deleted or edited there are sent again.
   */
  readonly reconcile?: boolean | undefined;
}

/** What happened to one input record. `deferred` = a transient error: try again later. */
export type RecordOutcome =
  | {
      readonly status: 'succeeded';
      readonly key: string;
      readonly salesforceId: string;
      readonly created: boolean;
      /** What was changed to fit the org (truncations, a state left out). */
      readonly notes?: readonly string[] | undefined;
    }
  | { readonly status: 'skipped'; readonly key: string }
  | {
      /** `parked`: Salesforce (or the org's field lengths) refused the data; a person fixes it, then replays. */
      readonly status: 'failed' | 'deferred' | 'parked';
      readonly key: string;
      readonly reason: string;
      readonly statusCode?: string | undefined;
    };

export interface SyncSummary {
  readonly read: number;
  /** Records Salesforce accepted (created + updated). */
  readonly upserted: number;
  readonly created: number;
  readonly updated: number;
  /** Unchanged since the last sync (not sent). */
  readonly skipped: number;
  /** Refused (dead-letter material), parked records included. */
  readonly failed: number;
  /** Of `failed`, the records parked for a person (validation rules, required fields, too long values). */
  readonly parked?: number;
  /** Transient errors (to retry). */
  readonly deferred: number;
  /** Salesforce calls made during the run, as the client counts them (retries and token mints included). */
  readonly apiCalls?: number;
}

export interface SyncResult {
  readonly summary: SyncSummary;
  /** One per input record, in input order. */
  readonly outcomes: readonly RecordOutcome[];
}

/** The key of a record's content hash in the state store, e.g. `customers:usmf:US-000001`. */
export function hashKey(flow: 'customers' | 'products', dataAreaId: string, id: string): string {
  return `${flow}:${dataAreaId.toLowerCase()}:${id}`;
}

/** The key of a Dynamics record in the audit trail, e.g. `dynamics:CustomersV3:usmf:US-000001`. */
export function auditKey(entity: SyncEntity, dataAreaId: string, id: string): string {
  return recordKey('dynamics', entity, dataAreaId.toLowerCase(), id);
}

export interface Item {
  readonly ref: number;
  readonly dataAreaId: string;
  readonly id: string;
  readonly key: string;
  readonly hashKey: string;
  readonly mapped: MappedRecord;
}

/** A batch mapped and compared with the stored hashes: what changed, and the outcomes decided so far. */
export interface PreparedBatch {
  /** One per input record; unset for the records in `changed` (their upsert decides). */
  readonly outcomes: RecordOutcome[];
  readonly changed: Item[];
  readonly stored: ReadonlyMap<string, { readonly hash: string }>;
}

/**
 * Maps a batch of OData records and skips what the stored content hashes say is unchanged; the
 * first half of {@link syncRecords}, shared with the streamed Bulk load.
 */
export async function prepareBatch(
  ctx: EngineContext,
  entity: SyncEntity,
  records: readonly DynamicsRecord[],
  signal: AbortSignal | undefined,
  options: Pick<SyncOptions, 'reconcile'> = {},
): Promise<PreparedBatch> {
  const flow = TO_SALESFORCE_FLOWS[entity];
  const outcomes = new Array<RecordOutcome>(records.length);
  const synced = new Set(ctx.config.legalEntities);

  const items: Item[] = [];
  let mapper: ((record: DynamicsRecord) => MappedRecord) | undefined;
  let prepareError: unknown;
  try {
    mapper = await flow.prepare(ctx, signal, records);
  } catch (error) {
    prepareError = error;
  }
  for (const [ref, record] of records.entries()) {
    const dataAreaId = String(record.dataAreaId ?? '').toLowerCase();
    const id = String(record[flow.idField] ?? '');
    const key = auditKey(entity, dataAreaId, id);
    let refusal: string | undefined;
    if (!mapper) refusal = reasonOf(prepareError);
    else if (!dataAreaId || !id) refusal = `the record has no ${flow.idField} or dataAreaId`;
    else if (!synced.has(dataAreaId)) refusal = `legal entity ${dataAreaId} is not synced`;
    else {
      try {
        const mapped = mapper(record);
        items.push({ ref, dataAreaId, id, key, hashKey: hashKey(flow.name, dataAreaId, id), mapped });
      } catch (error) {
        if (error instanceof ParkedError) {
          outcomes[ref] = { status: 'parked', key, reason: error.message, statusCode: error.parkCode };
          continue;
        }
        refusal = `mapping: ${reasonOf(error)}`;
      }
    }
    if (refusal !== undefined) {
      const status = !mapper && isTransient(prepareError) ? 'deferred' : 'failed';
      outcomes[ref] = { status, key, reason: refusal };
    }
  }

  const stored = await ctx.state.getHashes(items.map((i) => i.hashKey));
  // The checkpoint's own write time, on the store's clock as the hashes' times are.
  const validFrom = (await ctx.state.getCheckpoint(HASHES_VALID_FROM))?.updatedAt ?? 0;
  for (const [key, entry] of stored) if (entry.updatedAt < validFrom) stored.delete(key);
  const changed: Item[] = [];
  const unchanged: Item[] = [];
  for (const item of items) {
    if (stored.get(item.hashKey)?.hash === item.mapped.hash) {
      outcomes[item.ref] = { status: 'skipped', key: item.key };
      unchanged.push(item);
    } else changed.push(item);
  }
  if (options.reconcile && unchanged.length > 0) {
    try {
      const drift = await findDrift(ctx, flow, unchanged, signal);
      for (const item of unchanged) {
        if (!drift.has(item.ref)) continue;
        stored.delete(item.hashKey);
        changed.push(item);
      }
      if (drift.size > 0) ctx.logger.info('reconcile.drift', { flow: flow.name, records: drift.size });
    } catch (error) {
      const status = isTransient(error) ? 'deferred' : 'failed';
      for (const item of unchanged)
        outcomes[item.ref] = { status, key: item.key, reason: `reconcile: ${reasonOf(error)}` };
    }
  }

  return { outcomes, changed, stored };
}

/** Syncs a batch of OData records of `entity` to Salesforce; never throws for per-record or transient trouble. */
export async function syncRecords(
  ctx: EngineContext,
  entity: SyncEntity,
  records: readonly DynamicsRecord[],
  options: SyncOptions,
): Promise<SyncResult> {
  const signal = options.signal ?? ctx.signal;
  const started = ctx.now();
  const callsBefore = ctx.salesforce.counter.snapshot().total;
  const prepared = await prepareBatch(ctx, entity, records, signal, options);
  return await syncPrepared(ctx, entity, records, prepared, options, started, callsBefore);
}

/** The second half of {@link syncRecords}: upserts what changed, runs the follow-up, stores hashes, audits. */
export async function syncPrepared(
  ctx: EngineContext,
  entity: SyncEntity,
  records: readonly DynamicsRecord[],
  prepared: PreparedBatch,
  options: SyncOptions,
  started = ctx.now(),
  callsBefore = ctx.salesforce.counter.snapshot().total,
): Promise<SyncResult> {
  const flow = TO_SALESFORCE_FLOWS[entity];
  const signal = options.signal ?? ctx.signal;
  const { outcomes, changed, stored } = prepared;

  const { linked, rest } = await linkChanged(ctx, flow, changed, outcomes, signal);
  const upserted = [...linked, ...(await upsertChanged(ctx, flow, rest, outcomes, signal))];
  const upsertedRecords: UpsertedRecord[] = upserted.map((u) => ({
    ref: u.item.ref,
    dataAreaId: u.item.dataAreaId,
    salesforceId: u.id,
    created: u.created,
    mapped: u.item.mapped,
    storedHash: stored.get(u.item.hashKey)?.hash,
  }));
  const followUp = flow.afterUpsert
    ? await flow.afterUpsert(ctx, upsertedRecords, signal)
    : new Map<number, RecordFailure>();

  const hashes: { key: string; hash: string }[] = [];
  for (const u of upserted) {
    const failure = followUp.get(u.item.ref);
    outcomes[u.item.ref] = failure
      ? { status: failure.status, key: u.item.key, reason: failure.reason, statusCode: failure.statusCode }
      : {
          status: 'succeeded',
          key: u.item.key,
          salesforceId: u.id,
          created: u.created,
          notes: u.item.mapped.notes,
        };
    if (!failure) hashes.push({ key: u.item.hashKey, hash: u.item.mapped.hash });
  }
  if (hashes.length > 0) await ctx.state.putHashes(hashes);

  await audit(ctx, entity, flow, records, outcomes, options, ctx.now() - started);
  return { summary: summarise(ctx, records.length, outcomes, callsBefore), outcomes };
}

interface Upserted {
  readonly item: Item;
  readonly id: string;
  readonly created: boolean;
}

/** Statuses of an update by Id whose record is gone: the item is upserted by External ID instead. */
const GONE = new Set(['ENTITY_IS_DELETED', 'NOT_FOUND', 'INVALID_CROSS_REFERENCE_KEY']);

/**
 * Writes the items the flow links to an existing Salesforce record by Id (see
 * {@link ToSalesforceFlow.linkTargets}); returns what Salesforce accepted and the items to upsert.
 * A linked record deleted meanwhile falls back to the upsert.
 */
async function linkChanged(
  ctx: EngineContext,
  flow: ToSalesforceFlow,
  changed: readonly Item[],
  outcomes: RecordOutcome[],
  signal: AbortSignal | undefined,
): Promise<{ linked: Upserted[]; rest: Item[] }> {
  if (!flow.linkTargets || changed.length === 0) return { linked: [], rest: [...changed] };
  let links: Map<number, string>;
  try {
    links = await flow.linkTargets(ctx, changed, signal);
  } catch (error) {
    const status = isTransient(error) ? 'deferred' : 'failed';
    for (const item of changed) outcomes[item.ref] = { status, key: item.key, reason: reasonOf(error) };
    return { linked: [], rest: [] };
  }
  const toLink = changed.filter((i) => links.has(i.ref));
  const rest = changed.filter((i) => !links.has(i.ref));
  const linked: Upserted[] = [];
  const size = ctx.config.batches.collectionsSize;
  await forEachLimit(chunk(toLink, size), SALESFORCE_CONCURRENCY, async (part) => {
    try {
      const results = await ctx.salesforce.updateMany(
        part.map((i) => ({ sobject: flow.sobject, id: links.get(i.ref) as string, fields: i.mapped.fields })),
        { chunkSize: size, ...(signal ? { signal } : {}) },
      );
      for (const r of results) {
        const item = part[r.index] as Item;
        const error = r.errors?.[0];
        if (r.outcome === 'updated') linked.push({ item, id: links.get(item.ref) as string, created: false });
        else if (error && GONE.has(error.statusCode)) rest.push(item);
        else
          outcomes[item.ref] = {
            status: parksRecord(error?.statusCode) ? 'parked' : 'failed',
            key: item.key,
            reason: error ? `${error.statusCode}: ${error.message}` : 'Salesforce reported no outcome',
            statusCode: error?.statusCode,
          };
      }
    } catch (error) {
      const status = isTransient(error) ? 'deferred' : 'failed';
      for (const item of part) outcomes[item.ref] = { status, key: item.key, reason: reasonOf(error) };
    }
  });
  return { linked, rest };
}

/** Upserts the changed items; records failures in `outcomes`, returns what Salesforce accepted. */
async function upsertChanged(
  ctx: EngineContext,
  flow: ToSalesforceFlow,
  changed: readonly Item[],
  outcomes: RecordOutcome[],
  signal: AbortSignal | undefined,
): Promise<Upserted[]> {
  const { collectionsSize, bulkThreshold } = ctx.config.batches;
  const field = flow.externalIdField(ctx.config);
  const accepted: Upserted[] = [];
  const apply = (
    part: readonly Item[],
    results: readonly {
      index: number;
      outcome: string;
      id?: string;
      errors?: readonly { statusCode: string; message: string }[];
    }[],
  ) => {
    for (const r of results) {
      const item = part[r.index] as Item;
      if (r.outcome !== 'failed' && r.id) {
        accepted.push({ item, id: r.id, created: r.outcome === 'created' });
        continue;
      }
      const error = r.errors?.[0];
      outcomes[item.ref] = {
        status: parksRecord(error?.statusCode) ? 'parked' : 'failed',
        key: item.key,
        reason: error ? `${error.statusCode}: ${error.message}` : 'Salesforce reported no id',
        statusCode: error?.statusCode,
      };
    }
  };
  const refuse = (part: readonly Item[], error: unknown) => {
    const status = isTransient(error) ? 'deferred' : 'failed';
    for (const item of part) outcomes[item.ref] = { status, key: item.key, reason: reasonOf(error) };
  };
  const opts = signal ? { signal } : {};

  if (changed.length > bulkThreshold) {
    try {
      const report = await ctx.salesforce.bulkUpsert(
        flow.sobject,
        field,
        changed.map((i) => i.mapped.fields),
        opts,
      );
      apply(changed, report.results);
    } catch (error) {
      refuse(changed, error);
    }
    return accepted;
  }
  await forEachLimit(chunk(changed, collectionsSize), SALESFORCE_CONCURRENCY, async (part) => {
    try {
      const results = await ctx.salesforce.upsert(
        flow.sobject,
        field,
        part.map((i) => i.mapped.fields),
        { chunkSize: collectionsSize, ...opts },
      );
      apply(part, results);
    } catch (error) {
      refuse(part, error);
    }
  });
  return accepted;
}

function stubFor(
  entity: SyncEntity,
  flow: ToSalesforceFlow,
  record: DynamicsRecord,
  trigger: Trigger,
  at: number,
): DynamicsStub {
  return {
    kind: 'dynamics-stub',
    entity,
    key: {
      dataAreaId: String(record.dataAreaId ?? '').toLowerCase(),
      [flow.idField]: String(record[flow.idField] ?? ''),
    },
    trigger,
    observedAt: at,
  };
}

/** One audit entry per change or failure (skips, and records not yet decided, are left out). */
export async function audit(
  ctx: EngineContext,
  entity: SyncEntity,
  flow: ToSalesforceFlow,
  records: readonly DynamicsRecord[],
  outcomes: readonly RecordOutcome[],
  options: SyncOptions,
  durationMs: number,
): Promise<void> {
  const at = ctx.now();
  const entries: NewAuditEntry[] = [];
  for (const [ref, outcome] of outcomes.entries()) {
    if (outcome === undefined || outcome.status === 'skipped') continue;
    const stub = options.stubs?.[ref] ?? stubFor(entity, flow, records[ref] ?? {}, options.trigger, at);
    const base = {
      recordKey: outcome.key,
      flow: flow.name,
      trigger: stub.trigger,
      attempt: options.attempts?.[ref] ?? options.attempt ?? 1,
      durationMs,
      work: stub,
    };
    if (outcome.status === 'succeeded') {
      entries.push({
        ...base,
        outcome: 'succeeded',
        targetIds: { salesforceId: outcome.salesforceId, operation: outcome.created ? 'created' : 'updated' },
        ...(outcome.notes?.length ? { error: `note: ${outcome.notes.join('; ')}` } : {}),
      });
    } else if (outcome.status === 'parked') {
      entries.push({ ...base, outcome: 'parked', error: outcome.reason });
    } else {
      entries.push({
        ...base,
        outcome: 'failed',
        error: outcome.status === 'deferred' ? `transient, will retry: ${outcome.reason}` : outcome.reason,
      });
    }
  }
  if (entries.length > 0) await ctx.state.appendAudits(entries);
}

function summarise(
  ctx: EngineContext,
  read: number,
  outcomes: readonly RecordOutcome[],
  callsBefore: number,
): SyncSummary {
  let created = 0;
  let updated = 0;
  let skipped = 0;
  let failed = 0;
  let parked = 0;
  let deferred = 0;
  for (const o of outcomes) {
    // A sub-batch (bulk-load.ts) decides only some records of its page; the rest are not counted here.
    if (o === undefined) continue;
    if (o.status === 'succeeded') o.created ? created++ : updated++;
    else if (o.status === 'skipped') skipped++;
    else if (o.status === 'failed') failed++;
    else if (o.status === 'parked') {
      failed++;
      parked++;
    } else deferred++;
  }
  return {
    read,
    upserted: created + updated,
    created,
    updated,
    skipped,
    failed,
    parked,
    deferred,
    apiCalls: ctx.salesforce.counter.snapshot().total - callsBefore,
  };
}
