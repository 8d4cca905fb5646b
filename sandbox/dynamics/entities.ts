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
  pad,
  type Rec,
  recordRandom,
  seededCustomer,
  seededDate,
  seededProduct,
  splitByShare,
} from './data.ts';
import type { FieldKind } from './filter.ts';
import { EntityStore, type VirtualBlock } from './store.ts';

const NS = 'Microsoft.Dynamics.DataEntities';
const S: FieldKind = { type: 'string' };
const D: FieldKind = { type: 'decimal' };
const DT: FieldKind = { type: 'datetime' };
const NOYES: FieldKind = { type: 'enum', enumType: `${NS}.NoYes`, members: ['No', 'Yes'] };

// fo-sequences: the fields number sequences and exactly-once matching need (types from the reference).
const I: FieldKind = { type: 'int' };
const SEQUENCE_FIELDS: Readonly<Record<string, Record<string, FieldKind>>> = {
  CustomersV3: { IdentificationNumber: S },
  SalesOrderLines: {
    LineCreationSequenceNumber: I,
    DefaultLineNumberFromLineCreationSequenceNumber: NOYES,
    OrderLineReference: S,
    CustomerRequisitionNumber: S,
    CustomersLineNumber: I,
  },
};

/** Static description of one entity set. */
export interface EntitySetDef {
  readonly name: string;
  /** The qualified entity type, e.g. `Microsoft.Dynamics.DataEntities.CustomerV3`. */
  readonly typeName: string;
  /** The table-row type F&O names in write errors, e.g. `CustCustomerV3Entity`. */
  readonly rowType: string;
  readonly keys: readonly string[];
  readonly companySpecific: boolean;
  readonly fields: ReadonlyMap<string, FieldKind>;
  /** Whether OData writes are allowed (reference data is read-only here). */
  readonly writable: boolean;
}

const fields = (spec: Record<string, FieldKind>): ReadonlyMap<string, FieldKind> =>
  new Map(Object.entries(spec));
const withSequenceFields = (name: string, spec: Record<string, FieldKind>): ReadonlyMap<string, FieldKind> =>
  fields({ ...spec, ...SEQUENCE_FIELDS[name] });

export const ENTITY_SETS: Readonly<Record<string, EntitySetDef>> = {
  CustomersV3: {
    name: 'CustomersV3',
    typeName: `${NS}.CustomerV3`,
    rowType: 'CustCustomerV3Entity',
    keys: ['dataAreaId', 'CustomerAccount'],
    companySpecific: true,
    writable: true,
    fields: withSequenceFields('CustomersV3', {
      dataAreaId: S,
      CustomerAccount: S,
      OrganizationName: S,
      NameAlias: S,
      PartyType: S,
      PartyNumber: S,
      CustomerGroupId: S,
      SalesCurrencyCode: S,
      PaymentTerms: S,
      CreditLimit: D,
      IsOneTimeCustomer: NOYES,
      LanguageId: S,
      AddressDescription: S,
      AddressStreet: S,
      AddressCity: S,
      AddressState: S,
      AddressZipCode: S,
      AddressCountryRegionId: S,
      AddressCountryRegionISOCode: S,
      PrimaryContactPhone: S,
      PrimaryContactEmail: S,
      PrimaryContactURL: S,
      DeliveryTerms: S,
      SalesTaxGroup: S,
    }),
  },
  ReleasedProductsV2: {
    name: 'ReleasedProductsV2',
    typeName: `${NS}.ReleasedProductV2`,
    rowType: 'EcoResReleasedProductV2Entity',
    keys: ['dataAreaId', 'ItemNumber'],
    companySpecific: true,
    writable: true,
    fields: fields({
      dataAreaId: S,
      ItemNumber: S,
      ProductNumber: S,
      ProductName: S,
      SearchName: S,
      ProductType: S,
      ProductSubType: S,
      ProductGroupId: S,
      ItemModelGroupId: S,
      SalesPrice: D,
      SalesPriceQuantity: D,
      SalesUnitSymbol: S,
      InventoryUnitSymbol: S,
      PurchaseUnitSymbol: S,
      ProductDescription: S,
      NetProductWeight: D,
    }),
  },
  SalesOrderHeadersV2: {
    name: 'SalesOrderHeadersV2',
    typeName: `${NS}.SalesOrderHeaderV2`,
    rowType: 'SalesOrderHeaderV2Entity',
    keys: ['dataAreaId', 'SalesOrderNumber'],
    companySpecific: true,
    writable: true,
    fields: fields({
      dataAreaId: S,
      SalesOrderNumber: S,
      OrderingCustomerAccountNumber: S,
      InvoiceCustomerAccountNumber: S,
      SalesOrderName: S,
      CurrencyCode: S,
      CustomersOrderReference: S,
      CustomerRequisitionNumber: S,
      SalesOrderStatus: S,
      SalesOrderPromisingMethod: S,
      RequestedShippingDate: DT,
      RequestedReceiptDate: DT,
      PaymentTermsName: S,
      LanguageId: S,
      DefaultShippingSiteId: S,
      DefaultShippingWarehouseId: S,
      DeliveryAddressName: S,
      DeliveryAddressStreet: S,
      DeliveryAddressCity: S,
      DeliveryAddressStateId: S,
      DeliveryAddressZipCode: S,
      DeliveryAddressCountryRegionId: S,
      IsDeliveryAddressOrderSpecific: NOYES,
      OrderTakerPersonnelNumber: S,
    }),
  },
  SalesOrderLines: {
    name: 'SalesOrderLines',
    typeName: `${NS}.SalesOrderLine`,
    rowType: 'SalesOrderLineV2Entity',
    keys: ['dataAreaId', 'InventoryLotId'],
    companySpecific: true,
    writable: true,
    fields: withSequenceFields('SalesOrderLines', {
      dataAreaId: S,
      InventoryLotId: S,
      SalesOrderNumber: S,
      LineNumber: D,
      ItemNumber: S,
      LineDescription: S,
      OrderedSalesQuantity: D,
      SalesPrice: D,
      SalesPriceQuantity: D,
      SalesUnitSymbol: S,
      LineAmount: D,
      LineDiscountAmount: D,
      CurrencyCode: S,
      ShippingSiteId: S,
      ShippingWarehouseId: S,
      SalesOrderLineStatus: S,
      RequestedShippingDate: DT,
      RequestedReceiptDate: DT,
    }),
  },
  LegalEntities: {
    name: 'LegalEntities',
    typeName: `${NS}.LegalEntity`,
    rowType: 'OMLegalEntity',
    keys: ['LegalEntityId'],
    companySpecific: false,
    writable: false,
    fields: fields({
      LegalEntityId: S,
      Name: S,
      NameAlias: S,
      AccountingCurrency: S,
      AddressCountryRegionId: S,
      AddressCountryRegionISOCode: S,
      AddressStreet: S,
      AddressCity: S,
      AddressState: S,
      AddressZipCode: S,
      LanguageId: S,
    }),
  },
  Currencies: {
    name: 'Currencies',
    typeName: `${NS}.Currency`,
    rowType: 'CurrencyEntity',
    keys: ['CurrencyCode'],
    companySpecific: false,
    writable: false,
    fields: fields({ CurrencyCode: S, Name: S, Symbol: S, RoundingPrecision: D, GeneralRoundingRule: D }),
  },
  CustomerGroups: {
    name: 'CustomerGroups',
    typeName: `${NS}.CustomerGroup`,
    rowType: 'CustCustomerGroupEntity',
    keys: ['dataAreaId', 'CustomerGroupId'],
    companySpecific: true,
    writable: false,
    fields: fields({
      dataAreaId: S,
      CustomerGroupId: S,
      Description: S,
      PaymentTermId: S,
      IsSalesTaxIncludedInPrice: NOYES,
    }),
  },
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
    if (def) out[name] = { ...def, fields: new Map([...def.fields, [modifiedField, DT]]) };
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
    Currencies: new EntityStore(['CurrencyCode']),
    CustomerGroups: new EntityStore(['dataAreaId', 'CustomerGroupId']),
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
      AccountingCurrency: le.currency,
      AddressCountryRegionId: le.countryIso3,
      AddressCountryRegionISOCode: le.countryIso2,
      AddressStreet: le.street,
      AddressCity: le.city,
      AddressState: le.state,
      AddressZipCode: le.zip,
      LanguageId: le.language,
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
      RoundingPrecision: c.code === 'JPY' ? 1 : 0.01,
      GeneralRoundingRule: c.code === 'JPY' ? 1 : 0.01,
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
    LineDescription: product.ProductName ?? '',
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
