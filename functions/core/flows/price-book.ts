/**
 * The products flow's second half: every synced product gets an active entry in the Standard Price Book per
 * currency at the Dynamics sales price, so a rep can quote it at once. New products get new
 * entries (sObject Collections create, ≤ 200 per call); products whose price changed get their
 * entries read (one SOQL per ≤ 200 products), repriced and reactivated, missing ones created.
 * A product that may not be sold (lifecycle.ts) has its entries deactivated, and reactivated
 * when it is released again. Entries are unique per product, price book and currency, so a replayed create answers
 * DUPLICATE_VALUE and is reconciled instead of duplicated.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_pricebookentry.htm
 */
import type { EngineContext } from '#core/engine/context.ts';
import { soql } from '#core/ports/salesforce/soql.ts';
import { chunk, forEachLimit, SALESFORCE_CONCURRENCY } from './chunks.ts';
import type { RecordFailure } from './flow.ts';
import { parksRecord } from './parking.ts';
import { isTransient, reasonOf } from './transient.ts';

/** One product whose standard prices must be in place. */
export interface PriceTarget {
  readonly ref: number;
  readonly productId: string;
  readonly unitPrice: number;
  /** Entry currencies; `undefined` alone in an org without multi-currency. */
  readonly currencies: readonly (string | undefined)[];
  /** `create`: a new product (no entries yet); `reconcile`: read the entries and fix them. */
  readonly mode: 'create' | 'reconcile';
  /** Whether the entries are active: false for a product stopped for sales or retired. Default true. */
  readonly active?: boolean;
  /**
   * A create already refused as an existing price (DUPLICATE_VALUE, FIELD_INTEGRITY_EXCEPTION) by
   * a Bulk insert: reconcile without creating again; the refusal explains a missing entry.
   */
  readonly refusal?: { readonly statusCode: string; readonly message: string };
}

interface EntryRow {
  readonly Id: string;
  readonly Product2Id: string;
  readonly UnitPrice: number;
  readonly IsActive: boolean;
  readonly CurrencyIsoCode?: string | null;
}

interface PlannedCreate {
  readonly target: PriceTarget;
  readonly fields: Record<string, unknown>;
}

const samePrice = (a: number, b: number) => Math.abs(a - b) < 0.005;

/**
 * A create refused because the standard price exists: DUPLICATE_VALUE, or FIELD_INTEGRITY_EXCEPTION
 * "This price definition already exists in this price book" as real orgs also answer (an Apex
 * DmlException quoted in public code: "FIELD_INTEGRITY_EXCEPTION, This price definition already
 * exists in this price book: []"). Any FIELD_INTEGRITY_EXCEPTION is reconciled, since the message
 * may be in the integration user's language: when no entry exists after all, the record fails
 * with Salesforce's own message.
 */
function isExistingPrice(statusCode: string | undefined): boolean {
  return statusCode === 'DUPLICATE_VALUE' || statusCode === 'FIELD_INTEGRITY_EXCEPTION';
}

/** Ensures the standard price book entries of `targets`; returns the products that did not complete, by ref. */
export async function ensureStandardPrices(
  ctx: EngineContext,
  targets: readonly PriceTarget[],
  signal?: AbortSignal,
): Promise<Map<number, RecordFailure>> {
  const failures = new Map<number, RecordFailure>();
  const fail = (ref: number, failure: RecordFailure) => {
    if (!failures.has(ref)) failures.set(ref, failure);
  };
  const failAll = (refs: readonly PriceTarget[], error: unknown) => {
    const status = isTransient(error) ? 'deferred' : 'failed';
    for (const t of refs) fail(t.ref, { status, reason: `PricebookEntry: ${reasonOf(error)}` });
  };
  const pricebookId = ctx.reference.standardPricebookId;
  const multi = ctx.reference.multiCurrency;
  const size = ctx.config.batches.collectionsSize;
  const creates: PlannedCreate[] = [];
  const updates: { target: PriceTarget; id: string }[] = [];

  const entryFields = (t: PriceTarget, currency: string | undefined) => ({
    Pricebook2Id: pricebookId,
    Product2Id: t.productId,
    UnitPrice: t.unitPrice,
    IsActive: t.active !== false,
    UseStandardPrice: false,
    ...(multi && currency ? { CurrencyIsoCode: currency } : {}),
  });

  /** Why a create was reconciled (the refusal Salesforce gave), by ref. */
  const refusals = new Map<number, { statusCode: string; message: string }>();

  /** Reads the entries of `list` and plans the updates (and, when allowed, the creates) they need. */
  async function reconcile(list: readonly PriceTarget[], allowCreate: boolean): Promise<void> {
    await forEachLimit(chunk(list, 200), SALESFORCE_CONCURRENCY, async (part) => {
      const ids = part.map((t) => t.productId);
      const text = multi
        ? soql`SELECT Id, Product2Id, UnitPrice, IsActive, CurrencyIsoCode FROM PricebookEntry WHERE Pricebook2Id = ${pricebookId} AND Product2Id IN ${ids}`
        : soql`SELECT Id, Product2Id, UnitPrice, IsActive FROM PricebookEntry WHERE Pricebook2Id = ${pricebookId} AND Product2Id IN ${ids}`;
      const byProduct = new Map<string, EntryRow[]>();
      try {
        for await (const row of ctx.salesforce.query<EntryRow>(text, signal ? { signal } : {})) {
          const list = byProduct.get(row.Product2Id) ?? [];
          list.push(row);
          byProduct.set(row.Product2Id, list);
        }
      } catch (error) {
        failAll(part, error);
        return;
      }
      for (const t of part) {
        const entries = byProduct.get(t.productId) ?? [];
        for (const currency of t.currencies) {
          const entry = entries.find((e) => !multi || e.CurrencyIsoCode === currency);
          if (entry) {
            if (!samePrice(entry.UnitPrice, t.unitPrice) || entry.IsActive !== (t.active !== false))
              updates.push({ target: t, id: entry.Id });
          } else if (allowCreate) {
            creates.push({ target: t, fields: entryFields(t, currency) });
          } else {
            const refusal = refusals.get(t.ref);
            fail(t.ref, {
              status: parksRecord(refusal?.statusCode) ? 'parked' : 'failed',
              reason: `PricebookEntry: no standard entry${currency ? ` in ${currency}` : ''} after ${refusal ? `${refusal.statusCode}: ${refusal.message}` : 'DUPLICATE_VALUE'}`,
              statusCode: refusal?.statusCode,
            });
          }
        }
      }
    });
  }

  for (const t of targets) {
    if (t.mode === 'create')
      for (const c of t.currencies) creates.push({ target: t, fields: entryFields(t, c) });
  }
  for (const t of targets) if (t.refusal) refusals.set(t.ref, t.refusal);
  await reconcile(
    targets.filter((t) => t.mode === 'reconcile' && !t.refusal),
    true,
  );
  const refused = targets.filter((t) => t.mode === 'reconcile' && t.refusal);
  if (refused.length > 0) await reconcile(refused, false);

  const duplicates = new Map<number, PriceTarget>();
  await forEachLimit(chunk(creates, size), SALESFORCE_CONCURRENCY, async (part) => {
    try {
      const results = await ctx.salesforce.createMany(
        'PricebookEntry',
        part.map((p) => p.fields),
        // A replay after a lost answer fails DUPLICATE_VALUE, handled below: safe to retry.
        { idempotent: true, chunkSize: size, ...(signal ? { signal } : {}) },
      );
      for (const r of results) {
        const planned = part[r.index] as PlannedCreate;
        if (r.outcome === 'created') continue;
        const error = r.errors?.[0];
        if (isExistingPrice(error?.statusCode)) {
          duplicates.set(planned.target.ref, planned.target);
          refusals.set(planned.target.ref, {
            statusCode: error?.statusCode ?? 'DUPLICATE_VALUE',
            message: error?.message ?? '',
          });
        } else
          fail(planned.target.ref, {
            status: parksRecord(error?.statusCode) ? 'parked' : 'failed',
            reason: `PricebookEntry: ${error?.statusCode ?? 'UNKNOWN'}: ${error?.message ?? ''}`,
            statusCode: error?.statusCode,
          });
      }
    } catch (error) {
      failAll(
        part.map((p) => p.target),
        error,
      );
    }
  });
  if (duplicates.size > 0) await reconcile([...duplicates.values()], false);

  await forEachLimit(chunk(updates, size), SALESFORCE_CONCURRENCY, async (part) => {
    try {
      const results = await ctx.salesforce.updateMany(
        part.map((u) => ({
          sobject: 'PricebookEntry',
          id: u.id,
          fields: { UnitPrice: u.target.unitPrice, IsActive: u.target.active !== false },
        })),
        { chunkSize: size, ...(signal ? { signal } : {}) },
      );
      for (const r of results) {
        if (r.outcome === 'updated') continue;
        const error = r.errors?.[0];
        fail((part[r.index] as { target: PriceTarget }).target.ref, {
          status: parksRecord(error?.statusCode) ? 'parked' : 'failed',
          reason: `PricebookEntry: ${error?.statusCode ?? 'UNKNOWN'}: ${error?.message ?? ''}`,
          statusCode: error?.statusCode,
        });
      }
    } catch (error) {
      failAll(
        part.map((u) => u.target),
        error,
      );
    }
  });
  return failures;
}
