/**
 * The products flow: ReleasedProductsV2 → Product2 (External ID upsert) and a Standard Price Book
 * entry per currency at the Dynamics sales price, active while the product may be sold
 * (`lifecycle.products`: a retired product is IsActive false, its entries deactivated). The stored hash has two parts,
 * `<product>.<price>`, so a changed price is recognised apart from other changes.
 */

import { ConnectorError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { FLOWS } from '#core/engine/wiring.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import { flowMapping, mappingPaths, TRANSLATION_ROOT, tooLongPolicies } from '#core/mapping/flow-mappings.ts';
import { contentHash, fieldsHash } from '#core/mapping/hash.ts';
import { isProductActive, productLifecycleFields } from '#core/mapping/lifecycle.ts';
import {
  mapProductToProduct2,
  PRODUCT_SOURCE_FIELDS,
  type ProductTranslation,
  productNumberOf,
  unitPriceOf,
} from '#core/mapping/products.ts';
import { fitToOrg } from '#core/mapping/salesforce-fit.ts';
import type { SalesforceApi } from '#core/ports/apis.ts';
import { ProductTranslations, ReleasedProductsV2 } from '#core/ports/dynamics/entities.ts';
import type { ToSalesforceFlow, UpsertedRecord } from './flow.ts';
import { ensureStandardPrices, type PriceTarget } from './price-book.ts';

/** What the price book step needs of a mapped product. */
interface ProductPrice {
  readonly unitPrice: number;
  readonly currencies: readonly (string | undefined)[];
  readonly priceHash: string;
  /** Whether the product may be sold (its entries active). */
  readonly active: boolean;
}

/**
 * The ReleasedProductsV2 fields the flow reads: its own (keys, ProductNumber, SalesUnitSymbol) and
 * the source fields of the products and priceBookEntries mappings (`Translation.` paths come from
 * ProductTranslations; other dotted paths are reported by the go-live check, never `$select`ed).
 */
export function productFields(config: ConnectorConfig): string[] {
  const paths = [
    ...mappingPaths(flowMapping('products', config, { quantityUnitOfMeasure: true }), [TRANSLATION_ROOT]),
    ...mappingPaths(flowMapping('priceBookEntries', config)),
    ...productLifecycleFields(config),
  ];
  return [...new Set([...PRODUCT_SOURCE_FIELDS, ...paths.filter((p) => !p.includes('.'))])];
}

/**
 * The currencies of a product's standard entries: none named in an org without multi-currency;
 * else `currencies.priceBook` when configured, otherwise the legal entity's currency (mapped
 * through `currencies.map`).
 */
export function priceBookCurrencies(ctx: EngineContext, dataAreaId: string): (string | undefined)[] {
  if (!ctx.reference.multiCurrency) return [undefined];
  const { priceBook, map } = ctx.config.currencies;
  if (priceBook.length > 0) return [...priceBook];
  const entity = ctx.reference.legalEntities.get(dataAreaId);
  if (!entity) {
    throw new ConnectorError(`legal entity ${dataAreaId} has no known currency; check legalEntities`, {
      code: 'CURRENCY_UNRESOLVED',
    });
  }
  return [map[entity.currency] ?? entity.currency];
}

const unitOfMeasure = new WeakMap<SalesforceApi, Promise<boolean>>();

/** Whether the org has Product2.QuantityUnitOfMeasure (one describe per client, remembered). */
function hasQuantityUnit(salesforce: SalesforceApi, signal?: AbortSignal): Promise<boolean> {
  let known = unitOfMeasure.get(salesforce);
  if (!known) {
    known = salesforce
      .describe('Product2', signal ? { signal } : {})
      .then((d) => d?.field('QuantityUnitOfMeasure')?.createable === true);
    known.catch(() => unitOfMeasure.delete(salesforce));
    unitOfMeasure.set(salesforce, known);
  }
  return known;
}

/**
 * The translations of a batch's products in `products.name.language` (when the products mapping
 * reads `Translation.` paths, as the default does with `products.name.source: translation`), by upper-case ProductNumber: one read by key set, chunked by URL length and sent
 * together in `$batch` as every read by keys is. Products without one are simply absent.
 */
async function readTranslations(
  ctx: EngineContext,
  records: readonly DynamicsRecord[],
  signal?: AbortSignal,
): Promise<Map<string, ProductTranslation>> {
  const out = new Map<string, ProductTranslation>();
  const { language } = ctx.config.products.name;
  const paths = mappingPaths(flowMapping('products', ctx.config, { quantityUnitOfMeasure: true }));
  const translated = paths.some((p) => p.startsWith(`${TRANSLATION_ROOT}.`));
  if (!translated || records.length === 0) return out;
  const numbers = [...new Set(records.map(productNumberOf).filter((n) => n !== ''))];
  if (numbers.length === 0) return out;
  const result = await ctx.dynamics.readByKeys(
    ProductTranslations,
    numbers.map((ProductNumber) => ({ ProductNumber, LanguageId: language })),
    {
      select: ['ProductNumber', 'LanguageId', 'ProductName', 'Description'],
      // The URL-length chunks of a page's key set together in $batch requests, as the worker's reads.
      batch: ctx.config.batches.odataBatchReads,
      ...(signal ? { signal } : {}),
    },
  );
  for (const t of result.found.values()) out.set(String(t.ProductNumber).toUpperCase(), t);
  return out;
}

/** Splits a stored products hash into its parts. */
function priceHashOf(stored: string | undefined): string | undefined {
  const at = stored?.indexOf('.') ?? -1;
  return stored && at >= 0 ? stored.slice(at + 1) : undefined;
}

/** The products flow for the shared sync procedure. */
export const productsFlow: ToSalesforceFlow = Object.freeze<ToSalesforceFlow>({
  name: FLOWS.products.name,
  entity: ReleasedProductsV2,
  idField: 'ItemNumber',
  sobject: 'Product2',
  externalIdField: (config: ConnectorConfig) => config.externalIds.product,
  select: productFields,
  async prepare(ctx: EngineContext, signal?: AbortSignal, records: readonly DynamicsRecord[] = []) {
    const [quantityUnitOfMeasure, translations] = await Promise.all([
      hasQuantityUnit(ctx.salesforce, signal),
      readTranslations(ctx, records, signal),
    ]);
    const org = orgShapeOf(ctx.reference);
    const policies = tooLongPolicies(flowMapping('products', ctx.config, { quantityUnitOfMeasure }));
    return (record) => {
      const notes: string[] = [];
      const translation = translations.get(productNumberOf(record).toUpperCase());
      const mapped = mapProductToProduct2(record, ctx.config, { quantityUnitOfMeasure, translation });
      const active = isProductActive(record, ctx.config);
      if (!('IsActive' in ctx.config.mappings.products)) mapped.IsActive = active;
      const fields = fitToOrg('Product2', mapped, org, notes, policies);
      const unitPrice = unitPriceOf(record, ctx.config);
      const currencies = priceBookCurrencies(ctx, String(record.dataAreaId ?? '').toLowerCase());
      // `inactive` only when it is, so the price hashes of active products stay as they were.
      const priceHash = contentHash({
        unitPrice,
        currencies,
        pricebook: ctx.reference.standardPricebookId,
        ...(active ? {} : { inactive: true }),
      });
      const extra: ProductPrice = { unitPrice, currencies, priceHash, active };
      return {
        fields,
        hash: `${fieldsHash(fields, ctx.config.externalIds.product)}.${priceHash}`,
        extra,
        ...(notes.length > 0 ? { notes } : {}),
      };
    };
  },
  afterUpsert(ctx: EngineContext, upserted: readonly UpsertedRecord[], signal?: AbortSignal) {
    const targets: PriceTarget[] = [];
    for (const u of upserted) {
      const price = u.mapped.extra as ProductPrice;
      // An updated product needs its entries checked only when its price part changed (or is unknown).
      if (!u.created && priceHashOf(u.storedHash) === price.priceHash) continue;
      targets.push({
        ref: u.ref,
        productId: u.salesforceId,
        unitPrice: price.unitPrice,
        currencies: price.currencies,
        mode: u.created ? 'create' : 'reconcile',
        active: price.active,
      });
    }
    return ensureStandardPrices(ctx, targets, signal);
  },
});
