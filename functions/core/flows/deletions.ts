/**
 * Customers and products deleted in F&O. A work item whose record F&O no longer has (a delete data
 * event, or any stub that arrives after the delete) is a deletion when the state holds a content
 * hash for it: the connector synced it, so it existed. With `lifecycle.deleted.action: mark` (the
 * default) its Account gets `lifecycle.deleted.accountValue` in the hold field
 * (`lifecycle.customerHold.field`), or its Product2 is deactivated with its price book entries, so
 * nobody sells to or quotes it; the record is never deleted in Salesforce. `sync --reconcile`
 * finds the deletions no event announced ({@link markDeletedAfterScan}). The hash becomes
 * {@link DELETED_HASH}, so a repeated event does nothing, and a record created again under the same
 * key in F&O differs from it and is synced (which clears the marks). The lookups are one SOQL per
 * 200 keys.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { configuredExternalId, parseExternalIdValue, prefixedExternalIds } from '#core/mapping/keys.ts';
import { CustomersV3, ReleasedProductsV2 } from '#core/ports/dynamics/entities.ts';
import { soqlIdent, soqlList, soqlLiteral } from '#core/ports/salesforce/soql.ts';
import { chunk } from './chunks.ts';
import type { SyncEntity } from './flow.ts';
import { hashKey } from './sync.ts';

/** The stored hash of a record marked deleted. */
export const DELETED_HASH = 'deleted-in-dynamics';

/** A record F&O no longer has. */
export interface MissingRecord {
  readonly dataAreaId: string;
  readonly id: string;
}

/** What happened to each missing record, by index: `marked`, `unknown` (never synced), `ignored` or already `marked`. */
export type DeletionOutcome = 'marked' | 'unknown' | 'ignored';

const hashKeyOf = (entity: SyncEntity, r: MissingRecord) =>
  hashKey(entity === 'CustomersV3' ? 'customers' : 'products', r.dataAreaId, r.id);

/** Marks in Salesforce the records deleted in F&O (see the module comment); throws on a failed call. */
export async function markDeleted(
  ctx: EngineContext,
  entity: SyncEntity,
  records: readonly MissingRecord[],
  signal?: AbortSignal,
): Promise<DeletionOutcome[]> {
  const outcomes = records.map((): DeletionOutcome => 'unknown');
  const stored = await ctx.state.getHashes(records.map((r) => hashKeyOf(entity, r)));
  const known = records.flatMap((r, i) => {
    const hash = stored.get(hashKeyOf(entity, r))?.hash;
    if (hash === DELETED_HASH) outcomes[i] = 'marked';
    return hash && hash !== DELETED_HASH ? [{ r, i }] : [];
  });
  const { action, accountValue } = ctx.config.lifecycle.deleted;
  if (known.length === 0) return outcomes;
  if (action === 'ignore') {
    for (const k of known) outcomes[k.i] = 'ignored';
    return outcomes;
  }
  const customers = entity === 'CustomersV3';
  const sobject = customers ? 'Account' : 'Product2';
  const field = customers ? ctx.config.externalIds.account : ctx.config.externalIds.product;
  const holdField = ctx.config.lifecycle.customerHold.field;
  const opts = signal ? { signal } : {};
  for (const part of chunk(known, 200)) {
    const keys = part.map((k) =>
      configuredExternalId(ctx.config, { dataAreaId: k.r.dataAreaId, id: k.r.id }),
    );
    const ids: string[] = [];
    for await (const row of ctx.salesforce.query<{ Id: string }>(
      `SELECT Id FROM ${sobject} WHERE ${soqlIdent(field).text} IN ${soqlList(keys).text}`,
      opts,
    ))
      ids.push(row.Id);
    const fields: Record<string, unknown> = customers
      ? holdField
        ? { [holdField]: accountValue }
        : {}
      : { IsActive: false };
    if (ids.length > 0 && Object.keys(fields).length > 0)
      await updateAll(
        ctx,
        ids.map((id) => ({ sobject, id, fields })),
        opts,
      );
    if (!customers && ids.length > 0) {
      const entries: string[] = [];
      for await (const row of ctx.salesforce.query<{ Id: string }>(
        `SELECT Id FROM PricebookEntry WHERE IsActive = true AND Product2Id IN ${soqlList(ids).text}`,
        opts,
      ))
        entries.push(row.Id);
      if (entries.length > 0)
        await updateAll(
          ctx,
          entries.map((id) => ({ sobject: 'PricebookEntry', id, fields: { IsActive: false } })),
          opts,
        );
    }
    await ctx.state.putHashes(part.map((k) => ({ key: hashKeyOf(entity, k.r), hash: DELETED_HASH })));
    for (const k of part) outcomes[k.i] = 'marked';
    ctx.logger.info('deleted-in-dynamics.marked', { entity, records: part.length, found: ids.length });
  }
  return outcomes;
}

async function updateAll(
  ctx: EngineContext,
  records: { sobject: string; id: string; fields: Record<string, unknown> }[],
  opts: { signal?: AbortSignal },
): Promise<void> {
  const results = await ctx.salesforce.updateMany(records, { chunkSize: 200, ...opts });
  const refused = results.filter((r) => r.outcome !== 'updated');
  // A record deleted in Salesforce meanwhile needs no mark; any other refusal is reported.
  const real = refused.filter((r) => !r.errors?.some((e) => e.statusCode === 'ENTITY_IS_DELETED'));
  if (real.length > 0)
    ctx.logger.warn('deleted-in-dynamics.mark-refused', {
      records: real.length,
      error: real[0]?.errors?.map((e) => `${e.statusCode}: ${e.message}`).join('; '),
    });
}

/**
 * Drift repair's half of deletion detection: after `sync --reconcile` has read every record of
 * `entity` in `legalEntity` (the ids in `seen`), the Salesforce records keyed to that legal entity
 * (`<le>:%`, one SOQL page per 2,000) whose id F&O did not return are read by key in F&O once more
 * (a `$skip` scan can miss a record under concurrent deletes), and those still absent go through
 * {@link markDeleted}. Returns how many were marked.
 */
export async function markDeletedAfterScan(
  ctx: EngineContext,
  entity: SyncEntity,
  legalEntity: string,
  seen: ReadonlySet<string>,
  signal?: AbortSignal,
): Promise<number> {
  const customers = entity === 'CustomersV3';
  const sobject = customers ? 'Account' : 'Product2';
  const field = customers ? ctx.config.externalIds.account : ctx.config.externalIds.product;
  const prefixed = prefixedExternalIds(ctx.config);
  const f = soqlIdent(field).text;
  const where = prefixed
    ? `${f} LIKE ${soqlLiteral(`${legalEntity.toLowerCase()}:%`)}`
    : `${f} != null AND (NOT ${f} LIKE '%:%')`;
  const unseen: string[] = [];
  for await (const row of ctx.salesforce.query<Record<string, unknown>>(
    `SELECT ${f} FROM ${sobject} WHERE ${where}`,
    signal ? { signal } : {},
  )) {
    const value = String(row[field] ?? '');
    const { dataAreaId, id } = parseExternalIdValue(value, legalEntity);
    if (dataAreaId === legalEntity.toLowerCase() && !seen.has(id)) unseen.push(id);
  }
  if (unseen.length === 0) return 0;
  const idField = customers ? 'CustomerAccount' : 'ItemNumber';
  const entityDescriptor = customers ? CustomersV3 : ReleasedProductsV2;
  const confirmed = await ctx.dynamics.readByKeys(
    entityDescriptor,
    unseen.map((id) => ({ dataAreaId: legalEntity, [idField]: id }) as never),
    {
      select: ['dataAreaId', idField] as never,
      batch: ctx.config.batches.odataBatchReads,
      ...(signal ? { signal } : {}),
    },
  );
  const gone = confirmed.missing.map((k) => ({
    dataAreaId: legalEntity,
    id: String((k as Readonly<Record<string, string>>)[idField]),
  }));
  const outcomes = await markDeleted(ctx, entity, gone, signal);
  return outcomes.filter((o) => o === 'marked').length;
}
