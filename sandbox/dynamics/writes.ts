/**
 * Create, update and delete with F&O's validation: mandatory fields, foreign keys checked against
 * the legal entity's reference data, duplicate keys, number sequences, and the Infolog text F&O
 * wraps into `AxODataWriteException` errors.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#error-handling
 */
import { CURRENCIES, LEGAL_ENTITIES, PAYMENT_TERMS, pad, type Rec } from './data.ts';
import {
  type Database,
  type EntitySetDef,
  insertLine,
  linesOf,
  MODIFIED_FIELD_SETS,
  newHeaderDefaults,
  nextLotId,
  removeLine,
  seededLine,
} from './entities.ts';
import { edmName } from './filter.ts';
import type { LineNumbering } from './line-numbers.ts';
import {
  NumberSequenceRefusal,
  type NumberSequences,
  parseNumber,
  type SequenceKind,
} from './number-sequences.ts';
import type { StoredRecord } from './store.ts';

/** An OData error response: status plus the `error` object F&O sends. */
export class ODataError extends Error {
  override name = 'ODataError';
  readonly status: number;
  readonly body: Record<string, unknown>;

  /** `body` replaces the OData error object when the failure happens outside OData (e.g. routing). */
  constructor(
    status: number,
    message: string,
    inner?: Record<string, unknown>,
    body?: Record<string, unknown>,
  ) {
    super(message);
    this.status = status;
    this.body = body ?? { error: { code: '', message, ...(inner ? { innererror: inner } : {}) } };
  }
}

const STACK =
  '   at Microsoft.Dynamics.Platform.Integration.Services.OData.Update.UpdateProcessor.CreateEntity_Save(ChangeOperationContext context, ChangeInfo changeInfo)\r\n   at Microsoft.Dynamics.Platform.Integration.Services.OData.Update.ChangeInfo.ExecuteActionsInCompanyContext(IEnumerable`1 actionList, ChangeOperationContext operationContext)';

/**
 * A failed write: 400 with `message: "An error has occurred."` and the Infolog in `innererror`,
 * e.g. "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Error: Field 'Customer group' must be filled in.".
 */
export class WriteError extends ODataError {
  override name = 'WriteError';
  constructor(rowType: string, infolog: readonly string[]) {
    super(400, 'An error has occurred.', {
      message: `Write failed for table row of type '${rowType}'. Infolog: ${infolog.map((m) => `Error: ${m}`).join('; ')}`,
      type: 'Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException',
      stacktrace: STACK,
    });
  }
}

/** What changed, for business events. */
export interface Change {
  readonly entitySet: string;
  readonly kind: 'created' | 'updated' | 'deleted';
  readonly rec: Rec;
}

export interface WriteContext {
  readonly db: Database;
  readonly defaultCompany: string;
  readonly onChange: (change: Change) => void;
  /** The sandbox clock (epoch ms), for the optional modified timestamp. */
  readonly now: () => number;
  /** Customer account and sales order number sequences. */
  readonly sequences: NumberSequences;
  /** LineCreationSequenceNumber and LineNumber of new sales order lines. */
  readonly lineNumbers: LineNumbering;
}

/** The number a create gets from `kind`'s sequence (or the caller's, when the sequence allows it). */
function numberFrom(
  ctx: WriteContext,
  def: EntitySetDef,
  kind: SequenceKind,
  company: string,
  given: unknown,
  field: string,
): string {
  try {
    return ctx.sequences.resolve(kind, company, given, label(field));
  } catch (error) {
    if (error instanceof NumberSequenceRefusal) throw new WriteError(def.rowType, error.infolog);
    throw error;
  }
}

/**
 * A caller's InventoryLotId: the lot id comes from the company's InventTransId sequence, which is
 * never Manual in a standard set-up, so F&O's "doesn't allow editing" refusal (UNCONFIRMED for
 * this field: the wording is the one documented for sequence-numbered fields, see number-sequences.ts).
 */
function refuseLotId(def: EntitySetDef, company: string, value: unknown): WriteError {
  const format = `${company.toUpperCase()}-#########`;
  const reason =
    parseNumber(format, String(value)) === undefined
      ? `Number ${String(value)} doesn't match format ${format}.`
      : `Invalid specification of ${label('InventoryLotId')} doesn't allow change to a higher number.`;
  return new WriteError(def.rowType, [
    `Field ${label('InventoryLotId')} doesn't allow editing. ${reason} Validations failed.`,
  ]);
}

/** Stamps the configured modified field (system-maintained: a written value is overwritten). */
function stamp(ctx: WriteContext, def: EntitySetDef, rec: Rec): void {
  const field = ctx.db.modifiedField;
  if (field && MODIFIED_FIELD_SETS.includes(def.name)) {
    rec[field] = new Date(ctx.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

const LABELS: Readonly<Record<string, string>> = {
  CustomerAccount: 'Customer account',
  OrganizationName: 'Name',
  PartyType: 'Party type',
  CustomerGroupId: 'Customer group',
  SalesCurrencyCode: 'Currency',
  CurrencyCode: 'Currency',
  PaymentTerms: 'Terms of payment',
  ItemNumber: 'Item number',
  ProductNumber: 'Product number',
  SalesUnitSymbol: 'Unit',
  OrderingCustomerAccountNumber: 'Customer account',
  InvoiceCustomerAccountNumber: 'Invoice account',
  SalesOrderNumber: 'Sales order',
  InventoryLotId: 'Lot ID',
};
const label = (field: string): string => LABELS[field] ?? field;
const UNITS = ['ea', 'pcs', 'Box', 'L', 'm', 'h', 'kg'];

const notFound = (value: unknown, field: string, table: string): string =>
  `The value '${String(value)}' in field '${label(field)}' is not found in the relating table '${table}'.`;
const mustBeFilled = (field: string): string => `Field '${label(field)}' must be filled in.`;
const blank = (v: unknown): boolean => v === undefined || v === null || v === '';

/** Checks the JSON body against the entity type: known properties and primitive types (ODataLib's messages). */
export function checkBody(def: EntitySetDef, body: unknown): Rec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ODataError(400, 'The request body must be a JSON object describing the entity.');
  }
  const out: Rec = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (name.startsWith('@odata.')) continue;
    const kind = def.fields.get(name);
    if (!kind) {
      throw new ODataError(
        400,
        `The property '${name}' does not exist on type '${def.typeName}'. Make sure to only use property names that are defined by the type.`,
      );
    }
    const edm = edmName(kind);
    if (value === null) {
      out[name] = null;
    } else if (kind.type === 'decimal' || kind.type === 'int' || kind.type === 'int64') {
      if (typeof value !== 'number' && !(typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))) {
        throw new ODataError(
          400,
          `Cannot convert a primitive value to the expected type '${edm}'. See the inner exception for more details.`,
        );
      }
      out[name] = Number(value);
    } else if (kind.type === 'datetime') {
      if (
        typeof value !== 'string' ||
        Number.isNaN(Date.parse(value)) ||
        !/T.*(Z|[+-]\d{2}:\d{2})$/.test(value)
      ) {
        throw new ODataError(
          400,
          `Cannot convert the literal '${String(value)}' to the expected type '${edm}'.`,
        );
      }
      out[name] = new Date(Date.parse(value)).toISOString().replace('.000Z', 'Z');
    } else if (kind.type === 'guid') {
      if (typeof value !== 'string' || !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(value)) {
        throw new ODataError(
          400,
          `Cannot convert the literal '${String(value)}' to the expected type '${edm}'.`,
        );
      }
      out[name] = value.toLowerCase();
    } else if (kind.type === 'enum') {
      if (typeof value !== 'string' || !kind.members.includes(value)) {
        throw new ODataError(
          400,
          `The value '${String(value)}' is not a valid member of enum type '${kind.enumType}'.`,
        );
      }
      out[name] = value;
    } else {
      if (typeof value !== 'string') {
        throw new ODataError(
          400,
          `Cannot convert a primitive value to the expected type '${edm}'. See the inner exception for more details.`,
        );
      }
      out[name] = value;
    }
  }
  return out;
}

function companyOf(ctx: WriteContext, def: EntitySetDef, rec: Rec): string {
  const company = blank(rec.dataAreaId) ? ctx.defaultCompany : String(rec.dataAreaId).toLowerCase();
  if (!LEGAL_ENTITIES.some((l) => l.id === company)) {
    throw new WriteError(def.rowType, [notFound(rec.dataAreaId, 'dataAreaId', 'Legal entities')]);
  }
  return company;
}

const currencyExists = (code: unknown): boolean =>
  CURRENCIES.some((c) => c.code === String(code).toUpperCase());

function customerErrors(ctx: WriteContext, rec: Rec): string[] {
  const errors: string[] = [];
  for (const f of ['PartyType', 'CustomerGroupId', 'SalesCurrencyCode', 'OrganizationName']) {
    if (blank(rec[f])) errors.push(mustBeFilled(f));
  }
  const company = String(rec.dataAreaId);
  if (!blank(rec.PartyType) && rec.PartyType !== 'Organization') {
    errors.push(
      `Party type '${String(rec.PartyType)}' is not supported for this customer; use 'Organization'.`,
    );
  }
  if (
    !blank(rec.CustomerGroupId) &&
    !ctx.db.stores.CustomerGroups?.get([company, String(rec.CustomerGroupId)])
  ) {
    errors.push(notFound(rec.CustomerGroupId, 'CustomerGroupId', 'Customer groups'));
  }
  if (!blank(rec.SalesCurrencyCode) && !currencyExists(rec.SalesCurrencyCode)) {
    errors.push(notFound(rec.SalesCurrencyCode, 'SalesCurrencyCode', 'Currency'));
  }
  if (!blank(rec.PaymentTerms) && !PAYMENT_TERMS.includes(String(rec.PaymentTerms))) {
    errors.push(notFound(rec.PaymentTerms, 'PaymentTerms', 'Terms of payment'));
  }
  return errors;
}

function productErrors(rec: Rec): string[] {
  const errors: string[] = [];
  if (blank(rec.ItemNumber)) errors.push(mustBeFilled('ItemNumber'));
  for (const f of ['SalesUnitSymbol', 'InventoryUnitSymbol', 'PurchaseUnitSymbol']) {
    if (!blank(rec[f]) && !UNITS.includes(String(rec[f])))
      errors.push(notFound(rec[f], 'SalesUnitSymbol', 'Units'));
  }
  if (!blank(rec.ProductType) && rec.ProductType !== 'Item' && rec.ProductType !== 'Service') {
    errors.push(`'${String(rec.ProductType)}' is not a valid product type.`);
  }
  return errors;
}

function headerErrors(ctx: WriteContext, rec: Rec): string[] {
  const errors: string[] = [];
  const company = String(rec.dataAreaId);
  const customers = ctx.db.stores.CustomersV3;
  if (blank(rec.OrderingCustomerAccountNumber)) errors.push(mustBeFilled('OrderingCustomerAccountNumber'));
  for (const f of ['OrderingCustomerAccountNumber', 'InvoiceCustomerAccountNumber']) {
    if (!blank(rec[f]) && !customers?.get([company, String(rec[f])]))
      errors.push(notFound(rec[f], f, 'Customers'));
  }
  if (!blank(rec.CurrencyCode) && !currencyExists(rec.CurrencyCode)) {
    errors.push(notFound(rec.CurrencyCode, 'CurrencyCode', 'Currency'));
  }
  return errors;
}

function lineErrors(ctx: WriteContext, rec: Rec): string[] {
  const errors: string[] = [];
  const company = String(rec.dataAreaId);
  if (blank(rec.SalesOrderNumber)) errors.push(mustBeFilled('SalesOrderNumber'));
  else if (!ctx.db.stores.SalesOrderHeadersV2?.get([company, String(rec.SalesOrderNumber)])) {
    errors.push(notFound(rec.SalesOrderNumber, 'SalesOrderNumber', 'Sales orders'));
  }
  if (blank(rec.ItemNumber)) errors.push(mustBeFilled('ItemNumber'));
  else if (!ctx.db.stores.ReleasedProductsV2?.get([company, String(rec.ItemNumber)])) {
    errors.push(notFound(rec.ItemNumber, 'ItemNumber', 'Released products'));
  }
  if (!blank(rec.OrderedSalesQuantity) && Number(rec.OrderedSalesQuantity) <= 0) {
    errors.push('The quantity must be greater than zero.');
  }
  return errors;
}

const DUPLICATE_TABLE: Readonly<Record<string, string>> = {
  CustomersV3: 'Customers (CustTable). Customer account',
  ReleasedProductsV2: 'Released products (InventTable). Item number',
  SalesOrderHeadersV2: 'Sales orders (SalesTable). Sales order',
  SalesOrderLines: 'Sales order lines (SalesLine). Lot ID',
};

function duplicate(def: EntitySetDef, rec: Rec): WriteError {
  const keyField = def.keys[1] ?? def.keys[0] ?? '';
  return new WriteError(def.rowType, [
    `Cannot create a record in ${DUPLICATE_TABLE[def.name] ?? def.name}: ${String(rec[keyField])}, ${String(rec.dataAreaId)}. The record already exists.`,
  ]);
}

function headerOpen(def: EntitySetDef, header: Rec): void {
  if (header.SalesOrderStatus === 'Invoiced' || header.SalesOrderStatus === 'Canceled') {
    throw new WriteError(def.rowType, [
      `Sales order ${String(header.SalesOrderNumber)} has status ${String(header.SalesOrderStatus)} and can no longer be changed.`,
    ]);
  }
}

/**
 * Refuses adding, changing or deleting a line of an order F&O no longer lets one change: Invoiced
 * and Canceled orders are closed. UNCONFIRMED: the rule and Infolog text for a Delivered order (a
 * packing slip posted for everything): a delivered quantity cannot be taken back by editing the
 * line, so the sandbox refuses every line change on a Delivered order too (the stricter side).
 */
function linesOpen(def: EntitySetDef, header: Rec): void {
  headerOpen(def, header);
  if (header.SalesOrderStatus === 'Delivered') {
    throw new WriteError(def.rowType, [
      `Sales order ${String(header.SalesOrderNumber)} has status Delivered: its lines can no longer be changed.`,
    ]);
  }
}

/** Creates a record (OData POST or control surface); returns the stored record. */
export function createRecord(ctx: WriteContext, def: EntitySetDef, input: Rec): StoredRecord {
  const { db } = ctx;
  const store = db.stores[def.name];
  if (!def.writable || !store)
    throw new ODataError(405, `The entity set '${def.name}' is read-only in this environment.`);
  const company = companyOf(ctx, def, input);
  let rec: Rec;
  let errors: string[];
  switch (def.name) {
    case 'CustomersV3': {
      const le = LEGAL_ENTITIES.find((l) => l.id === company);
      const group = db.stores.CustomerGroups?.get([company, String(input.CustomerGroupId ?? '')]);
      rec = {
        CustomerAccount: '',
        OrganizationName: '',
        NameAlias: '',
        PartyType: '',
        PartyNumber: '',
        CustomerGroupId: '',
        SalesCurrencyCode: '',
        PaymentTerms: group?.rec.PaymentTermId ?? '',
        CreditLimit: 0,
        IsOneTimeCustomer: 'No',
        LanguageId: le?.language ?? '',
        AddressDescription: '',
        AddressStreet: '',
        AddressCity: '',
        AddressState: '',
        AddressZipCode: '',
        AddressCountryRegionId: le?.countryIso3 ?? '',
        AddressCountryRegionISOCode: le?.countryIso2 ?? '',
        PrimaryContactPhone: '',
        PrimaryContactEmail: '',
        PrimaryContactURL: '',
        DeliveryTerms: '',
        SalesTaxGroup: '',
        ...input,
        dataAreaId: company,
      };
      if (blank(rec.PartyNumber)) rec.PartyNumber = pad(db.nextNumber('Party'), 9).replace(/^0/, '5');
      if (blank(rec.NameAlias)) rec.NameAlias = String(rec.OrganizationName ?? '').split(' ')[0] ?? '';
      errors = customerErrors(ctx, rec);
      if (blank(input.CustomerAccount) && ctx.sequences.state('customerAccounts', company).manual) {
        errors.unshift(mustBeFilled('CustomerAccount'));
      }
      // The number is drawn only for a valid customer (the sequence decides whether a caller's stands).
      if (errors.length === 0) {
        rec.CustomerAccount = numberFrom(
          ctx,
          def,
          'customerAccounts',
          company,
          input.CustomerAccount,
          'CustomerAccount',
        );
      }
      break;
    }
    case 'ReleasedProductsV2': {
      const itemNo = input.ItemNumber ?? input.ProductNumber ?? '';
      rec = {
        ItemNumber: itemNo,
        ProductNumber: itemNo,
        SearchName: '',
        ProductSearchName: '',
        ProductType: 'Item',
        ProductSubType: 'Product',
        ProductGroupId: '',
        ItemModelGroupId: 'FIFO',
        SalesPrice: 0,
        SalesPriceQuantity: 1,
        SalesUnitSymbol: 'ea',
        InventoryUnitSymbol: 'ea',
        PurchaseUnitSymbol: 'ea',
        NetProductWeight: 0,
        ...input,
        dataAreaId: company,
      };
      // The released product's search name defaults from the product's (UNCONFIRMED for OData creates).
      if (blank(rec.SearchName)) rec.SearchName = rec.ProductSearchName ?? '';
      errors = productErrors(rec);
      break;
    }
    case 'SalesOrderHeadersV2': {
      const customer = db.stores.CustomersV3?.get([
        company,
        String(input.OrderingCustomerAccountNumber ?? ''),
      ]);
      rec = { ...newHeaderDefaults(company, customer?.rec ?? {}), ...input, dataAreaId: company };
      if (!customer) {
        rec.OrderingCustomerAccountNumber = input.OrderingCustomerAccountNumber ?? '';
        rec.InvoiceCustomerAccountNumber =
          input.InvoiceCustomerAccountNumber ?? input.OrderingCustomerAccountNumber ?? '';
      }
      errors = headerErrors(ctx, rec);
      // The number is drawn only for a valid order; a non-continuous sequence leaves gaps.
      if (errors.length === 0) {
        rec.SalesOrderNumber = numberFrom(
          ctx,
          def,
          'salesOrders',
          company,
          input.SalesOrderNumber,
          'SalesOrderNumber',
        );
      }
      break;
    }
    case 'SalesOrderLines': {
      const header = db.stores.SalesOrderHeadersV2?.get([company, String(input.SalesOrderNumber ?? '')]);
      const product = db.stores.ReleasedProductsV2?.get([company, String(input.ItemNumber ?? '')]);
      const probe = { ...input, dataAreaId: company };
      errors = lineErrors(ctx, probe);
      if (errors.length > 0 || !header || !product) throw new WriteError(def.rowType, errors);
      linesOpen(def, header.rec);
      if (!blank(input.InventoryLotId)) throw refuseLotId(def, company, input.InventoryLotId);
      const existing = linesOf(db, company, String(header.rec.SalesOrderNumber));
      const quantity = input.OrderedSalesQuantity === undefined ? 1 : Number(input.OrderedSalesQuantity);
      const base = seededLine(db, header.rec, product.rec, 0, quantity);
      const { InventoryLotId: _lot, LineCreationSequenceNumber: _seq, ...given } = input;
      rec = { ...base, ...given, dataAreaId: company, SalesOrderNumber: header.rec.SalesOrderNumber ?? '' };
      rec.InventoryLotId = base.InventoryLotId ?? nextLotId(db, company);
      ctx.lineNumbers.number(rec, input.LineNumber, existing);
      if (input.LineAmount === undefined) {
        rec.LineAmount = Math.round(Number(rec.SalesPrice) * Number(rec.OrderedSalesQuantity) * 100) / 100;
      }
      if (!insertLine(db, rec)) throw duplicate(def, rec);
      const stored = store.get([company, String(rec.InventoryLotId)]) as StoredRecord;
      ctx.onChange({ entitySet: def.name, kind: 'created', rec: stored.rec });
      return stored;
    }
    default:
      throw new ODataError(405, `The entity set '${def.name}' is read-only in this environment.`);
  }
  if (errors.length > 0) throw new WriteError(def.rowType, errors);
  stamp(ctx, def, rec);
  const stored = store.insert(rec);
  if (!stored) throw duplicate(def, rec);
  ctx.onChange({ entitySet: def.name, kind: 'created', rec });
  return stored;
}

/** Applies a PATCH to the record at `key`; `ifMatch` is checked when given (412 on mismatch). */
export function updateRecord(
  ctx: WriteContext,
  def: EntitySetDef,
  key: readonly string[],
  patch: Rec,
  ifMatch: string | undefined,
  etag: (s: StoredRecord) => string,
): StoredRecord {
  const store = ctx.db.stores[def.name];
  if (!def.writable || !store)
    throw new ODataError(405, `The entity set '${def.name}' is read-only in this environment.`);
  const current = store.get(key);
  if (!current) throw notFoundError(def);
  if (
    ifMatch !== undefined &&
    ifMatch !== '*' &&
    !ifMatch
      .split(',')
      .map((s) => s.trim())
      .includes(etag(current))
  ) {
    throw new ODataError(
      412,
      'The ETag value in the If-Match header does not match the current ETag of the entity.',
    );
  }
  for (const k of def.keys) {
    if (patch[k] !== undefined && String(patch[k]).toLowerCase() !== String(current.rec[k]).toLowerCase()) {
      throw new WriteError(def.rowType, [`The key field '${label(k)}' cannot be changed.`]);
    }
  }
  const rec: Rec = { ...current.rec, ...patch };
  for (const k of def.keys) rec[k] = current.rec[k] ?? '';
  let errors: string[] = [];
  if (def.name === 'CustomersV3') errors = customerErrors(ctx, rec);
  else if (def.name === 'ReleasedProductsV2') errors = productErrors(rec);
  else if (def.name === 'SalesOrderHeadersV2') {
    headerOpen(def, current.rec);
    errors = headerErrors(ctx, rec);
  } else if (def.name === 'SalesOrderLines') {
    const header = ctx.db.stores.SalesOrderHeadersV2?.get([
      String(rec.dataAreaId),
      String(rec.SalesOrderNumber),
    ]);
    if (header) linesOpen(def, header.rec);
    errors = lineErrors(ctx, rec);
    if (patch.LineAmount === undefined) {
      rec.LineAmount = Math.round(Number(rec.SalesPrice) * Number(rec.OrderedSalesQuantity) * 100) / 100;
    }
  }
  if (errors.length > 0) throw new WriteError(def.rowType, errors);
  stamp(ctx, def, rec);
  const stored = store.replace(rec);
  ctx.onChange({ entitySet: def.name, kind: 'updated', rec });
  return stored;
}

/** Deletes the record at `key` (a header takes its lines with it). */
export function deleteRecord(ctx: WriteContext, def: EntitySetDef, key: readonly string[]): void {
  const store = ctx.db.stores[def.name];
  if (!def.writable || !store)
    throw new ODataError(405, `The entity set '${def.name}' is read-only in this environment.`);
  const current = store.get(key);
  if (!current) throw notFoundError(def);
  if (def.name === 'SalesOrderLines') {
    const header = ctx.db.stores.SalesOrderHeadersV2?.get([
      String(current.rec.dataAreaId),
      String(current.rec.SalesOrderNumber),
    ]);
    if (header) linesOpen(def, header.rec);
    removeLine(ctx.db, current.rec);
  } else {
    if (def.name === 'SalesOrderHeadersV2') {
      headerOpen(def, current.rec);
      for (const line of linesOf(
        ctx.db,
        String(current.rec.dataAreaId),
        String(current.rec.SalesOrderNumber),
      )) {
        removeLine(ctx.db, line);
      }
    }
    store.remove(key);
  }
  ctx.onChange({ entitySet: def.name, kind: 'deleted', rec: current.rec });
}

/** F&O's 404 for a key that matches nothing. */
export const notFoundError = (def: EntitySetDef): ODataError =>
  new ODataError(404, `Resource not found for the segment '${def.name}'.`);
