/**
 * Flow 2 (products): a ReleasedProductsV2 record → Salesforce Product2 fields, and the unit price
 * its Standard Price Book entries carry. Defaults cover what a rep needs to quote; configuration
 * adds custom fields (Salesforce field ← Dynamics field).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { DynamicsRecord } from './customers.ts';
import { configuredExternalId } from './keys.ts';

/** Default Product2 field ← ReleasedProductsV2 field (Name, Description, IsActive and the External ID are set apart). */
export const DEFAULT_PRODUCT_FIELDS: Readonly<Record<string, string>> = Object.freeze({
  ProductCode: 'ItemNumber',
});

/**
 * The ReleasedProductsV2 fields the default mapping and the price read. The entity has no product
 * name or description: names come from its search names or from ProductTranslations (by ProductNumber).
 */
export const PRODUCT_SOURCE_FIELDS: readonly string[] = Object.freeze([
  'dataAreaId',
  'ItemNumber',
  'ProductNumber',
  'SearchName',
  'ProductSearchName',
  'SalesPrice',
  'SalesPriceQuantity',
  'SalesUnitSymbol',
]);

/** A product's name and description in one language (a ProductTranslations record). */
export interface ProductTranslation {
  readonly ProductName?: unknown;
  readonly Description?: unknown;
}

export interface ProductMappingOptions {
  /** Whether the org has Product2.QuantityUnitOfMeasure (it is sent only then). */
  readonly quantityUnitOfMeasure?: boolean;
  /** The product's translation in `products.name.language`, when `products.name.source` is `translation`. */
  readonly translation?: ProductTranslation | undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function clean(value: unknown): unknown {
  return value === '' || value === undefined ? null : value;
}

/** The product number a released product's translations are keyed by (ItemNumber when it has none). */
export function productNumberOf(product: DynamicsRecord): string {
  return text(product.ProductNumber) ?? String(product.ItemNumber ?? '');
}

/**
 * Maps a released product to Product2 fields. Name and Description follow `products.name`:
 * with `translation`, the translation's ProductName and Description, the name falling back to
 * SearchName then ProductSearchName when the product has no translation in that language; with
 * `searchName` / `productSearchName`, that field (then the other) and no Description. The name
 * ends at the item number, so it is never empty.
 */
export function mapProductToProduct2(
  product: DynamicsRecord,
  config: ConnectorConfig,
  options: ProductMappingOptions = {},
): Record<string, unknown> {
  const dataAreaId = String(product.dataAreaId ?? '').toLowerCase();
  const id = String(product.ItemNumber ?? '');
  const { source } = config.products.name;
  const search = text(product.SearchName);
  const productSearch = text(product.ProductSearchName);
  const name =
    source === 'translation'
      ? (text(options.translation?.ProductName) ?? search ?? productSearch)
      : source === 'searchName'
        ? (search ?? productSearch)
        : (productSearch ?? search);
  const out: Record<string, unknown> = {
    [config.externalIds.product]: configuredExternalId(config, { dataAreaId, id }),
    Name: name ?? id,
    IsActive: true,
  };
  if (source === 'translation') out.Description = clean(text(options.translation?.Description));
  for (const [sf, d365] of Object.entries(DEFAULT_PRODUCT_FIELDS)) out[sf] = clean(product[d365]);
  if (options.quantityUnitOfMeasure) out.QuantityUnitOfMeasure = clean(product.SalesUnitSymbol);
  for (const [sf, d365] of Object.entries(config.mappings.products)) out[sf] = clean(product[d365]);
  return out;
}

/**
 * The unit price for a price book entry: SalesPrice per SalesPriceQuantity (F&O prices a quantity
 * of units; a quantity of 0 or none means per unit), rounded to cents as Salesforce currency
 * fields store it. 0 when the product has no usable price, so it can still be quoted.
 */
export function unitPriceOf(product: DynamicsRecord): number {
  const price = Number(product.SalesPrice);
  if (!Number.isFinite(price)) return 0;
  const quantity = Number(product.SalesPriceQuantity);
  const per = Number.isFinite(quantity) && quantity > 0 ? price / quantity : price;
  return Math.round(per * 100) / 100;
}
