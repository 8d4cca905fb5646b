/**
 * The entity sets the sandbox serves, their fields (EDM kinds for `$filter`), keys and company
 * scope, and the seeded database built from the options.
 * Entity and field names follow the public data entities:
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/data-entities
 */
import {
  CURRENCIES,
  CUSTOMER_GROUP_NAMES,
  dateOnly,
  itemNumber,
  LEGAL_ENTITIES,
  PRODUCT_LANGUAGES,
  pad,
  productText,
  type Rec,
  recordRandom,
  seededCustomer,
  seededDate,
  seededProduct,
  splitByShare,
} from './data.ts';
import type { FieldKind } from './filter.ts';
import { emptyValue, entityFields, NAMESPACE } from './schema.ts';
import { EntityStore, type VirtualBlock } from './store.ts';

const DT: FieldKind = { type: 'datetime' };

/** Static description of one entity set. */
export interface EntitySetDef {
  readonly name: string;
  /** The qualified entity type, e.g. `Microsoft.Dynamics.DataEntities.CustomerV3`. */
  readonly typeName: string;
  /** The table-row type F&O names in write errors, e.g. `CustCustomerV3Entity`. */
  readonly rowType: string;
  readonly keys: readonly string[];
  readonly companySpecific: boolean;
  /** Every field the sandbox serves, in reference order, typed from the reference schema. */
  readonly fields: ReadonlyMap<string, FieldKind>;
  /** What each field reads as when a record does not set it (see `emptyValue`). */
  readonly empty: Readonly<Rec>;
  /** Whether OData writes are allowed (reference data is read-only here). */
  readonly writable: boolean;
}

const emptyRecord = (fields: ReadonlyMap<string, FieldKind>): Rec =>
  Object.freeze(Object.fromEntries([...fields].map(([name, kind]) => [name, emptyValue(kind)])));

/**
 * An entity set whose key and fields are the reference schema's (schema.ts), so none can be
 * invented or mistyped. `typeName` and `rowType` are not in the reference: they follow the
 * public entity's type naming (the singular of the set) and its X++ entity name.
 */
function defineSet(name: string, typeName: string, rowType: string, writable: boolean): EntitySetDef {
  const { fields, keys } = entityFields(name);
  return {
    name,
    typeName: `${NAMESPACE}.${typeName}`,
    rowType,
    keys,
    companySpecific: keys[0] === 'dataAreaId',
    fields,
    empty: emptyRecord(fields),
    writable,
  };
}

export const ENTITY_SETS: Readonly<Record<string, EntitySetDef>> = {
  CustomersV3: defineSet('CustomersV3', 'CustomerV3', 'CustCustomerV3Entity', true),
  ReleasedProductsV2: defineSet(
    'ReleasedProductsV2',
    'ReleasedProductV2',
    'EcoResReleasedProductV2Entity',
    true,
  ),
  SalesOrderHeadersV2: defineSet(
    'SalesOrderHeadersV2',
    'SalesOrderHeaderV2',
    'SalesOrderHeaderV2Entity',
    true,
  ),
  SalesOrderLines: defineSet('SalesOrderLines', 'SalesOrderLine', 'SalesOrderLineV2Entity', true),
  LegalEntities: defineSet('LegalEntities', 'LegalEntity', 'OMLegalEntity', false),
  Ledgers: defineSet('Ledgers', 'Ledger', 'LedgerEntity', false),
  Currencies: defineSet('Currencies', 'Currency', 'CurrencyEntity', false),
  CustomerGroups: defineSet('CustomerGroups', 'CustomerGroup', 'CustCustomerGroupEntity', false),
  ProductTranslations: defineSet(
    'ProductTranslations',
    'ProductTranslation',
    'EcoResProductTranslationEntity',
    false,
  ),
  // Posted documents: created by posting (order-lifecycle.ts), read-only over OData here.
  SalesOrderConfirmationHeaders: defineSet(
    'SalesOrderConfirmationHeaders',
    'SalesOrderConfirmationHeader',
    'SalesOrderConfirmationHeaderEntity',
    false,
  ),
  SalesInvoiceHeadersV2: defineSet(
    'SalesInvoiceHeadersV2',
    'SalesInvoiceHeaderV2',
    'SalesInvoiceHeaderV2Entity',
    false,
  ),
  SalesInvoiceLines: defineSet('SalesInvoiceLines', 'SalesInvoiceLine', 'SalesInvoiceLineEntity', false),
};

/** Case-sensitive lookup of an entity set by name, as F&O's router does. */
export function entitySet(
  name: string,
  defs: Readonly<Record<string, EntitySetDef>> = ENTITY_SETS,
): EntitySetDef | undefined {
  return Object.hasOwn(defs, name) ? defs[name] : undefined;
}

/** Entity sets that get the optional customer-added modified timestamp field. */
export const MODIFIED_FIELD_SETS: readonly string[] = ['CustomersV3', 'ReleasedProductsV2'];

/** The entity sets with `modifiedField` (a DateTimeOffset) added to customers and released products. */
function defsWith(modifiedField: string | undefined): Readonly<Record<string, EntitySetDef>> {
  if (!modifiedField) return ENTITY_SETS;
  const out: Record<string, EntitySetDef> = { ...ENTITY_SETS };
  for (const name of MODIFIED_FIELD_SETS) {
    const def = ENTITY_SETS[name];
    if (def) {
      const fields = new Map([...def.fields, [modifiedField, DT]]);
      out[name] = { ...def, fields, empty: emptyRecord(fields) };
    }
  }
  return out;
}

export interface DatabaseOptions {
  readonly seed: number;
  readonly customers: number;
  readonly products: number;
  readonly salesOrders: number;
  /**
   * Name of a modified-timestamp field the customer added to CustomersV3 and ReleasedProductsV2
   * (standard F&O has none); maintained on every write. Default: absent.
   */
  readonly modifiedField?: string | undefined;
}

/** All stores plus the per-company number sequences. */
export interface Database {
  readonly stores: Readonly<Record<string, EntityStore>>;
  /** Next number of a sequence (`SalesOrder:usmf`, `InventTransId:usmf`), with occasional gaps. */
  nextNumber(sequence: string): number;
  /** Lines of one order (InventoryLotIds), maintained on every line insert/delete. */
  readonly linesByOrder: Map<string, Set<string>>;
  readonly seed: number;
  /** The entity sets of this database (with the modified field when configured). */
  readonly defs: Readonly<Record<string, EntitySetDef>>;
  readonly modifiedField: string | undefined;
}

const widthFor = (counts: readonly number[]): number => Math.max(6, String(Math.max(0, ...counts)).length);

/** Adds a deterministic past modified timestamp to generated records when the field is configured. */
function withModified(block: VirtualBlock, seed: number, field: string | undefined): VirtualBlock {
  if (!field) return block;
  return {
    ...block,
    recordAt: (i) => {
      const r = recordRandom(seed, `modified:${block.company}`, i);
      const ms = MODIFIED_ANCHOR_MS + r.int(0, 600 * 86_400) * 1000;
      return { ...block.recordAt(i), [field]: new Date(ms).toISOString().replace('.000Z', 'Z') };
    },
  };
}
const MODIFIED_ANCHOR_MS = Date.UTC(2025, 0, 1);

function customerBlocks(seed: number, total: number): VirtualBlock[] {
  const counts = splitByShare(total);
  const width = widthFor(counts);
  return LEGAL_ENTITIES.map((le, n) => {
    const count = counts[n] ?? 0;
    const prefix = le.accountPrefix.toLowerCase();
    return {
      company: le.id,
      count,
      keyAt: (i) => [le.id, `${le.accountPrefix}${pad(i + 1, width)}`],
      recordAt: (i) => seededCustomer(seed, le, i, width),
      indexOf: (key) => {
        const account = (key[1] ?? '').toLowerCase();
        const digits = account.slice(prefix.length);
        if (!account.startsWith(prefix) || digits.length !== width || !/^\d+$/.test(digits)) return undefined;
        const i = Number(digits) - 1;
        return i >= 0 && i < count ? i : undefined;
      },
    };
  });
}

function productBlocks(seed: number, total: number): VirtualBlock[] {
  const counts = splitByShare(total);
  const width = widthFor(counts);
  return LEGAL_ENTITIES.map((le, n) => {
    const count = counts[n] ?? 0;
    return {
      company: le.id,
      count,
      keyAt: (i) => [le.id, itemNumber(i, width)],
      recordAt: (i) => seededProduct(seed, le, i, width),
      indexOf: (key) => {
        const item = (key[1] ?? '').toLowerCase();
        const digits = item.slice(1);
        if (item[0] !== 'p' || digits.length !== width || !/^\d+$/.test(digits)) return undefined;
        const i = Number(digits) - 1;
        return i >= 0 && i < count ? i : undefined;
      },
    };
  });
}

/**
 * Product translations (ProductNumber, LanguageId → ProductName, Description) of every seeded
 * product number, in each of PRODUCT_LANGUAGES: generated like the products, so a million
 * products cost no memory.
 */
function translationBlock(seed: number, total: number): VirtualBlock {
  const counts = splitByShare(total);
  const width = widthFor(counts);
  const products = Math.max(0, ...counts);
  const languages = PRODUCT_LANGUAGES;
  return {
    company: '',
    count: products * languages.length,
    keyAt: (i) => [
      itemNumber(Math.floor(i / languages.length), width),
      languages[i % languages.length] ?? '',
    ],
    recordAt: (i) => {
      const product = Math.floor(i / languages.length);
      const language = languages[i % languages.length] ?? '';
      const text = productText(seed, product, language);
      return {
        ProductNumber: itemNumber(product, width),
        LanguageId: language,
        ProductName: text.name,
        Description: text.description,
      };
    },
    indexOf: (key) => {
      const item = (key[0] ?? '').toLowerCase();
      const language = languages.indexOf((key[1] ?? '').toLowerCase());
      const digits = item.slice(1);
      if (item[0] !== 'p' || digits.length !== width || !/^\d+$/.test(digits) || language < 0)
        return undefined;
      const i = Number(digits) - 1;
      return i >= 0 && i < products ? i * languages.length + language : undefined;
    },
  };
}

/** Builds the seeded database. Customers and products are virtual; the rest is materialised. */
export function createDatabase(options: DatabaseOptions): Database {
  const { seed, modifiedField } = options;
  if (
    modifiedField !== undefined &&
    (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(modifiedField) ||
      ENTITY_SETS.CustomersV3?.fields.has(modifiedField) ||
      ENTITY_SETS.ReleasedProductsV2?.fields.has(modifiedField))
  ) {
    throw new RangeError(`modifiedField '${modifiedField}' must be a new identifier`);
  }
  const customerCounts = splitByShare(options.customers);
  const productCounts = splitByShare(options.products);
  const stores: Record<string, EntityStore> = {
    CustomersV3: new EntityStore(
      ENTITY_SETS.CustomersV3?.keys ?? [],
      customerBlocks(seed, options.customers).map((b) => withModified(b, seed, modifiedField)),
    ),
    ReleasedProductsV2: new EntityStore(
      ENTITY_SETS.ReleasedProductsV2?.keys ?? [],
      productBlocks(seed, options.products).map((b) => withModified(b, seed, modifiedField)),
    ),
    SalesOrderHeadersV2: new EntityStore(['dataAreaId', 'SalesOrderNumber']),
    SalesOrderLines: new EntityStore(['dataAreaId', 'InventoryLotId']),
    LegalEntities: new EntityStore(['LegalEntityId']),
    Ledgers: new EntityStore(['LegalEntityId']),
    Currencies: new EntityStore(['CurrencyCode']),
    CustomerGroups: new EntityStore(['dataAreaId', 'CustomerGroupId']),
    ProductTranslations: new EntityStore(
      ['ProductNumber', 'LanguageId'],
      [translationBlock(seed, options.products)],
    ),
    SalesOrderConfirmationHeaders: new EntityStore(ENTITY_SETS.SalesOrderConfirmationHeaders?.keys ?? []),
    SalesInvoiceHeadersV2: new EntityStore(ENTITY_SETS.SalesInvoiceHeadersV2?.keys ?? []),
    SalesInvoiceLines: new EntityStore(ENTITY_SETS.SalesInvoiceLines?.keys ?? []),
  };
  const sequences = new Map<string, number>();
  const gapRandom = recordRandom(seed, 'numberseq', 0);
  const linesByOrder = new Map<string, Set<string>>();
  const db: Database = {
    stores,
    seed,
    linesByOrder,
    defs: defsWith(modifiedField),
    modifiedField,
    nextNumber(sequence) {
      let next = (sequences.get(sequence) ?? 0) + 1;
      // Number sequences that are not continuous leave gaps (e.g. a number reserved by a failed insert).
      if (gapRandom.next() < 0.03) next += 1;
      sequences.set(sequence, next);
      return next;
    },
  };

  for (const le of LEGAL_ENTITIES) {
    stores.LegalEntities?.insert({
      LegalEntityId: le.id,
      Name: le.name,
      NameAlias: le.name.split(' ')[0] ?? le.name,
      AddressCountryRegionId: le.countryIso3,
      AddressCountryRegionISOCode: le.countryIso2,
      AddressStreet: le.street,
      AddressCity: le.city,
      AddressState: le.state,
      AddressZipCode: le.zip,
      LanguageId: le.language,
    });
    // A company's accounting currency is on its ledger, not on LegalEntities. The group reports in
    // USD (the parent company's currency), so every ledger's reporting currency is USD.
    stores.Ledgers?.insert({
      LegalEntityId: le.id,
      Name: le.id.toUpperCase(),
      Description: le.name,
      AccountingCurrency: le.currency,
      ReportingCurrency: 'USD',
    });
    for (const group of le.customerGroups) {
      stores.CustomerGroups?.insert({
        dataAreaId: le.id,
        CustomerGroupId: group,
        Description: CUSTOMER_GROUP_NAMES[group] ?? group,
        PaymentTermId: group === '90' ? 'Net10' : 'Net30',
        IsSalesTaxIncludedInPrice: 'No',
      });
    }
  }
  for (const c of CURRENCIES) {
    stores.Currencies?.insert({
      CurrencyCode: c.code,
      Name: c.name,
      Symbol: c.symbol,
      GeneralRoundingRule: c.code === 'JPY' ? 1 : 0.01,
      RoundingRuleSalesOrders: c.code === 'JPY' ? 1 : 0.01,
      RoundingRulePrices: c.code === 'JPY' ? 1 : 0.01,
    });
  }

  const orderCounts = splitByShare(options.salesOrders);
  const customerBlocksByLe = customerBlocks(seed, options.customers);
  const productBlocksByLe = productBlocks(seed, options.products);
  LEGAL_ENTITIES.forEach((le, n) => {
    const customers = customerBlocksByLe[n];
    const products = productBlocksByLe[n];
    if (!customers || !products || customers.count === 0 || products.count === 0) return;
    for (let o = 0; o < (orderCounts[n] ?? 0); o++) {
      const r = recordRandom(seed, `order:${le.id}`, o);
      const customer = customers.recordAt(r.int(0, Math.min(customers.count, customerCounts[n] ?? 0) - 1));
      const header = seededHeader(db, le.id, customer, r);
      stores.SalesOrderHeadersV2?.insert(header);
      const lineCount = r.int(1, 4);
      for (let l = 0; l < lineCount; l++) {
        const product = products.recordAt(r.int(0, (productCounts[n] ?? 1) - 1));
        insertLine(db, seededLine(db, header, product, l + 1, r.int(1, 20)));
      }
    }
  });
  return db;
}

function seededHeader(db: Database, company: string, customer: Rec, r: ReturnType<typeof recordRandom>): Rec {
  const shipping = seededDate(r);
  const status = r.pick(['Backorder', 'Backorder', 'Delivered', 'Invoiced']);
  return {
    ...newHeaderDefaults(company, customer),
    SalesOrderNumber: `SO-${pad(db.nextNumber(`SalesOrder:${company}`), 6)}`,
    CustomerRequisitionNumber: r.next() < 0.5 ? `PO-${r.int(10000, 99999)}` : '',
    CustomersOrderReference: '',
    SalesOrderStatus: status,
    RequestedShippingDate: shipping,
    RequestedReceiptDate: dateOnly(Date.parse(shipping) + 3 * 86_400_000),
  };
}

/** The defaults F&O fills on a new sales order header from the customer. */
export function newHeaderDefaults(company: string, customer: Rec): Rec {
  const le = LEGAL_ENTITIES.find((l) => l.id === company);
  return {
    dataAreaId: company,
    SalesOrderNumber: '',
    OrderingCustomerAccountNumber: customer.CustomerAccount ?? '',
    InvoiceCustomerAccountNumber: customer.CustomerAccount ?? '',
    SalesOrderName: customer.OrganizationName ?? '',
    CurrencyCode: customer.SalesCurrencyCode ?? le?.currency ?? '',
    CustomersOrderReference: '',
    CustomerRequisitionNumber: '',
    SalesOrderStatus: 'Backorder',
    SalesOrderPromisingMethod: 'None',
    RequestedShippingDate: '1900-01-01T12:00:00Z',
    RequestedReceiptDate: '1900-01-01T12:00:00Z',
    PaymentTermsName: customer.PaymentTerms ?? 'Net30',
    LanguageId: customer.LanguageId ?? le?.language ?? 'en-us',
    DefaultShippingSiteId: le?.site ?? '',
    DefaultShippingWarehouseId: le?.warehouse ?? '',
    DeliveryAddressName: customer.OrganizationName ?? '',
    DeliveryAddressStreet: customer.AddressStreet ?? '',
    DeliveryAddressCity: customer.AddressCity ?? '',
    DeliveryAddressStateId: customer.AddressState ?? '',
    DeliveryAddressZipCode: customer.AddressZipCode ?? '',
    DeliveryAddressCountryRegionId: customer.AddressCountryRegionId ?? '',
    IsDeliveryAddressOrderSpecific: 'No',
    OrderTakerPersonnelNumber: '',
  };
}

/** A new line's InventoryLotId from the company's InventTransId number sequence. */
export const nextLotId = (db: Database, company: string): string =>
  `${company.toUpperCase()}-${pad(db.nextNumber(`InventTransId:${company}`), 9)}`;

/** A line for `header` selling `quantity` of `product`, with the defaults F&O fills. */
export function seededLine(
  db: Database,
  header: Rec,
  product: Rec,
  lineNumber: number,
  quantity: number,
): Rec {
  const company = String(header.dataAreaId);
  const le = LEGAL_ENTITIES.find((l) => l.id === company);
  const price = Number(product.SalesPrice ?? 0);
  return {
    dataAreaId: company,
    InventoryLotId: nextLotId(db, company),
    SalesOrderNumber: header.SalesOrderNumber ?? '',
    LineNumber: lineNumber,
    ItemNumber: product.ItemNumber ?? '',
    LineDescription: lineText(db, header, product),
    OrderedSalesQuantity: quantity,
    SalesPrice: price,
    SalesPriceQuantity: 1,
    SalesUnitSymbol: product.SalesUnitSymbol ?? 'ea',
    LineAmount: Math.round(price * quantity * 100) / 100,
    LineDiscountAmount: 0,
    CurrencyCode: header.CurrencyCode ?? le?.currency ?? '',
    ShippingSiteId: header.DefaultShippingSiteId ?? le?.site ?? '',
    ShippingWarehouseId: header.DefaultShippingWarehouseId ?? le?.warehouse ?? '',
    SalesOrderLineStatus: header.SalesOrderStatus ?? 'Backorder',
    RequestedShippingDate: header.RequestedShippingDate ?? '1900-01-01T12:00:00Z',
    RequestedReceiptDate: header.RequestedReceiptDate ?? '1900-01-01T12:00:00Z',
    // fo-sequences: seeded lines were numbered by F&O from their creation sequence.
    LineCreationSequenceNumber: lineNumber,
    DefaultLineNumberFromLineCreationSequenceNumber: 'Yes',
    OrderLineReference: '',
    CustomerRequisitionNumber: header.CustomerRequisitionNumber ?? '',
    CustomersLineNumber: 0,
  };
}

/** A line's text as F&O fills it: the product's name in the order's language, else in en-us, else its search name. */
function lineText(db: Database, header: Rec, product: Rec): string {
  const translations = db.stores.ProductTranslations;
  const number = String(product.ProductNumber ?? product.ItemNumber ?? '');
  for (const language of [String(header.LanguageId ?? ''), 'en-us']) {
    const name = translations?.get([number, language])?.rec.ProductName;
    if (typeof name === 'string' && name) return name;
  }
  return String(product.SearchName ?? '');
}

const orderKey = (company: string, order: string): string =>
  `${company.toLowerCase()}\u0000${order.toLowerCase()}`;

/** Inserts a line and indexes it under its order. */
export function insertLine(db: Database, line: Rec): boolean {
  if (!db.stores.SalesOrderLines?.insert(line)) return false;
  const k = orderKey(String(line.dataAreaId), String(line.SalesOrderNumber));
  let set = db.linesByOrder.get(k);
  if (!set) {
    set = new Set();
    db.linesByOrder.set(k, set);
  }
  set.add(String(line.InventoryLotId));
  return true;
}

/** Deletes a line and drops it from its order's index. */
export function removeLine(db: Database, line: Rec): void {
  db.stores.SalesOrderLines?.remove([String(line.dataAreaId), String(line.InventoryLotId)]);
  db.linesByOrder
    .get(orderKey(String(line.dataAreaId), String(line.SalesOrderNumber)))
    ?.delete(String(line.InventoryLotId));
}

/** The lines of one order, in InventoryLotId order. */
export function linesOf(db: Database, company: string, order: string): Rec[] {
  const ids = [...(db.linesByOrder.get(orderKey(company, order)) ?? [])].sort();
  const out: Rec[] = [];
  for (const id of ids) {
    const line = db.stores.SalesOrderLines?.get([company, id]);
    if (line) out.push(line.rec);
  }
  return out;
}

/** An all-or-nothing unit of writes across every store (a `$batch` changeset). */
export interface Transaction {
  commit(): void;
  rollback(): void;
}

/** Starts a transaction; number sequences are not rolled back (gaps, as with non-continuous sequences). */
export function beginTransaction(db: Database): Transaction {
  const stores = Object.values(db.stores);
  for (const s of stores) s.begin();
  const lines = new Map([...db.linesByOrder].map(([k, v]) => [k, new Set(v)]));
  return {
    commit() {
      for (const s of stores) s.commit();
    },
    rollback() {
      for (const s of stores) s.rollback();
      db.linesByOrder.clear();
      for (const [k, v] of lines) db.linesByOrder.set(k, v);
    },
  };
}
