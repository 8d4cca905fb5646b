/**
 * The products flow: a ReleasedProductsV2 record → Salesforce Product2 fields, and the unit price
 * its Standard Price Book entries carry, through the products and priceBookEntries mappings
 * (flow-mappings.ts; `mappings.products` / `mappings.priceBookEntries` change them).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { DynamicsRecord } from './customers.ts';
import { applyMapping, type Expr, evaluate } from './expression.ts';
import { DEFAULT_PRICE_MAPPING, flowMapping, TRANSLATION_ROOT } from './flow-mappings.ts';
import { configuredExternalId } from './keys.ts';
import { ParkedError } from './legal-entity.ts';

/**
 * The ReleasedProductsV2 fields the flow reads besides its mapping's: the keys, ProductNumber (the
 * translations' key) and SalesUnitSymbol (sales order lines use it). ReleasedProductsV2 has no
 * product name or description: names come from its search names or from ProductTranslations.
 */
export const PRODUCT_SOURCE_FIELDS: readonly string[] = Object.freeze([
  'dataAreaId',
  'ItemNumber',
  'ProductNumber',
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

/** The product number a released product's translations are keyed by (ItemNumber when it has none). */
export function productNumberOf(product: DynamicsRecord): string {
  return text(product.ProductNumber) ?? String(product.ItemNumber ?? '');
}

/**
 * Maps a released product to Product2 fields through the products mapping (flow-mappings.ts with
 * `mappings.products` laid over it). The defaults follow `products.name`: with `translation`, the
 * translation's ProductName (`Translation.ProductName`) and Description, the name falling back to
 * SearchName then ProductSearchName; with `searchName` / `productSearchName`, that field (then the
 * other) and no Description. The name ends at the item number, so it is never empty. Throws
 * ParkedError when the mapping fails for the record.
 */
export function mapProductToProduct2(
  product: DynamicsRecord,
  config: ConnectorConfig,
  options: ProductMappingOptions = {},
): Record<string, unknown> {
  const dataAreaId = String(product.dataAreaId ?? '').toLowerCase();
  const id = String(product.ItemNumber ?? '');
  const mapping = flowMapping('products', config, {
    quantityUnitOfMeasure: options.quantityUnitOfMeasure === true,
  });
  const source = { ...product, [TRANSLATION_ROOT]: options.translation ?? {} };
  const out = applyMapping(mapping, source, 'mappings.products');
  out[config.externalIds.product] = configuredExternalId(config, { dataAreaId, id });
  return out;
}

/**
 * The unit price for a price book entry: SalesPrice per SalesPriceQuantity (F&O prices a quantity
 * of units; a quantity of 0 or none means per unit), rounded to cents as Salesforce currency
 * fields store it. 0 when the product has no usable price, so it can still be quoted.
 */
export function unitPriceOf(product: DynamicsRecord, config?: ConnectorConfig): number {
  const configured = config?.mappings.priceBookEntries.UnitPrice;
  const expr = configured ?? DEFAULT_PRICE_MAPPING.UnitPrice;
  if (expr === undefined) return 0;
  let price: unknown;
  try {
    price = evaluate(expr as Expr, product, 'mappings.priceBookEntries.UnitPrice');
  } catch (error) {
    // The default keeps a product with an unreadable price quotable at 0; a configured mapping parks it.
    if (configured === undefined && error instanceof ParkedError) return 0;
    throw error;
  }
  if (typeof price !== 'number' || !Number.isFinite(price)) {
    throw new ParkedError(
      'MAPPING_FAILED',
      `mappings.priceBookEntries.UnitPrice: the price is ${JSON.stringify(price)}, not a number; correct the mapping (as: number), then replay`,
    );
  }
  return price;
}
