/**
 * Object rules the org enforces on writes: price books and entries, opportunity stages and
 * products, order activation. Messages follow Salesforce's where known.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_pricebookentry.htm
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_order.htm
 */
import { applyAddressPicklists } from './address-picklists.ts';
import type { Dml } from './dml.ts';
import { RecordError, type Row, type Table, type Transaction } from './store.ts';

/** Org-wide settings the rules read. */
export interface OrgSettings {
  readonly multiCurrency: boolean;
  /** Active currencies; the first is the corporate currency. */
  readonly currencies: readonly string[];
  /** Set once the Standard Price Book is seeded. */
  standardPricebookId: string;
  /** Next Order.OrderNumber (auto-number, not rolled back, as Salesforce's are not). */
  nextOrderNumber: number;
  /** Whether State and Country/Territory Picklists are on (the address rules of `address-picklists.ts`). */
  readonly stateCountryPicklists: boolean;
  /** The org's validation rules (see {@link ValidationRule}). */
  readonly validationRules: readonly ValidationRule[];
  /**
   * The statusCode of a second standard price for the same product and currency. Real orgs have
   * answered both `FIELD_INTEGRITY_EXCEPTION` (an Apex DmlException: "FIELD_INTEGRITY_EXCEPTION,
   * This price definition already exists in this price book: []") and `DUPLICATE_VALUE` with the
   * same message; which one and when is UNCONFIRMED, so the sandbox can answer either.
   */
  readonly duplicatePriceStatusCode: 'FIELD_INTEGRITY_EXCEPTION' | 'DUPLICATE_VALUE';
}

/**
 * A validation rule: when `failsWhen` is true for the record about to be saved, the save fails with
 * `FIELD_CUSTOM_VALIDATION_EXCEPTION` and the rule's error message, `fields` naming the error
 * location field (empty for "top of page"). In the per-record result of Collections/sObject
 * writes: `{"statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"<error message>","fields":[…]}`.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 * https://help.salesforce.com/s/articleView?id=sf.fields_defining_field_validation_rules.htm
 */
export interface ValidationRule {
  readonly object: string;
  /** The rule's API name (not part of the error, as in Salesforce). */
  readonly name: string;
  readonly errorMessage: string;
  /** The error location field; omitted for the top of the page. */
  readonly errorField?: string;
  /** The rule's formula: true means the record is refused. Gets the record as it would be saved. */
  readonly failsWhen: (
    record: Readonly<Record<string, unknown>>,
    previous?: Readonly<Record<string, unknown>>,
  ) => boolean;
}

/** Runs the org's validation rules of the table's object; throws on the first that fails. */
export function checkValidationRules(
  settings: OrgSettings,
  table: Table,
  row: Readonly<Record<string, unknown>>,
  prev: Row | undefined,
): void {
  for (const rule of settings.validationRules) {
    if (rule.object.toLowerCase() !== table.def.name.toLowerCase()) continue;
    if (!rule.failsWhen(row, prev)) continue;
    const field = rule.errorField ? table.field(rule.errorField)?.name : undefined;
    throw new RecordError('FIELD_CUSTOM_VALIDATION_EXCEPTION', rule.errorMessage, field ? [field] : []);
  }
}

type Draft = Record<string, unknown>;

const integrity = (field: string, detail: string) =>
  new RecordError('FIELD_INTEGRITY_EXCEPTION', `field integrity exception: ${field} (${detail})`, [field]);

const round2 = (n: number) => Math.round(n * 100) / 100;

/** The currency of a row: its CurrencyIsoCode, or the corporate currency in single-currency orgs. */
export function currencyOf(dml: Dml, row: Row | Draft): string {
  return (row.CurrencyIsoCode as string | null | undefined) ?? (dml.settings.currencies[0] as string);
}

function defaultCurrency(dml: Dml, table: Table, row: Draft): void {
  if (!table.field('CurrencyIsoCode')) return;
  if (row.CurrencyIsoCode === null) row.CurrencyIsoCode = dml.settings.currencies[0];
  if (!dml.settings.currencies.includes(row.CurrencyIsoCode as string)) {
    throw new RecordError(
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      `Currency ISO Code: invalid currency code: ${String(row.CurrencyIsoCode)}`,
      ['CurrencyIsoCode'],
    );
  }
}

function entryFor(dml: Dml, id: unknown): Row {
  const entry = typeof id === 'string' ? dml.store.get('PricebookEntry', id) : undefined;
  if (!entry)
    throw new RecordError('INVALID_CROSS_REFERENCE_KEY', 'invalid cross reference id', ['PricebookEntryId']);
  return entry;
}

/** Finds the active entry for a product in a price book and currency (used when a line gives only Product2Id). */
function findEntry(dml: Dml, productId: string, pricebookId: string, currency: string): Row | undefined {
  const entries = dml.store.table('PricebookEntry') as Table;
  for (const id of entries.children('Product2Id', productId)) {
    const e = entries.rows.get(id);
    if (e && e.Pricebook2Id === pricebookId && currencyOf(dml, e) === currency) return e;
  }
  return undefined;
}

/**
 * Checks a product line (OpportunityLineItem or OrderItem) against its parent's price book and
 * currency, fills the derived fields, and returns the parent's new Pricebook2Id when it had none.
 */
function line(dml: Dml, row: Draft, parent: Row, parentLabel: string): string | undefined {
  let pricebookId = parent.Pricebook2Id as string | null;
  const currency = currencyOf(dml, parent);
  if (row.PricebookEntryId === null && typeof row.Product2Id === 'string') {
    const found = findEntry(dml, row.Product2Id, pricebookId ?? dml.settings.standardPricebookId, currency);
    if (!found)
      throw integrity(
        'Product2Id',
        `no price book entry for this product in the ${parentLabel}'s price book`,
      );
    row.PricebookEntryId = found.Id;
  }
  if (row.PricebookEntryId === null) {
    throw new RecordError('REQUIRED_FIELD_MISSING', 'Required fields are missing: [PricebookEntryId]', [
      'PricebookEntryId',
    ]);
  }
  const entry = entryFor(dml, row.PricebookEntryId);
  if (entry.IsActive !== true) throw integrity('PricebookEntryId', 'pricebook entry is inactive');
  if (pricebookId !== null && entry.Pricebook2Id !== pricebookId) {
    throw integrity(
      'PricebookEntryId',
      `pricebook entry is in a different pricebook than the one assigned to the ${parentLabel}`,
    );
  }
  if (currencyOf(dml, entry) !== currency) {
    throw integrity(
      'PricebookEntryId',
      `pricebook entry currency code does not match ${parentLabel} currency code`,
    );
  }
  const newPricebook = pricebookId === null ? (entry.Pricebook2Id as string) : undefined;
  pricebookId = entry.Pricebook2Id as string;
  row.Product2Id = entry.Product2Id;
  row.ListPrice = entry.UnitPrice;
  if ('CurrencyIsoCode' in row) row.CurrencyIsoCode = currency;
  return newPricebook;
}

/**
 * Opportunity product pricing: give UnitPrice or TotalPrice (not both); the other follows from Quantity.
 * https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunitylineitem.htm
 */
function setPricing(row: Draft, prev: Row | undefined, changed: ReadonlySet<string>): void {
  const qty = row.Quantity as number;
  const totalGiven = changed.has('TotalPrice') && row.TotalPrice !== null;
  if (totalGiven && changed.has('UnitPrice') && row.UnitPrice !== null) {
    throw integrity('TotalPrice', 'only one of unit price or total price may be specified');
  }
  if (totalGiven) {
    row.UnitPrice = qty === 0 ? 0 : round2((row.TotalPrice as number) / qty);
  } else if (row.UnitPrice !== null) {
    row.TotalPrice = round2(qty * (row.UnitPrice as number));
  } else if (prev === undefined) {
    throw integrity('TotalPrice', 'must specify either TotalPrice or UnitPrice');
  }
}

/** Runs before a row is written; may fill derived fields or throw. `prev` is undefined on insert. */
export function beforeWrite(
  dml: Dml,
  tx: Transaction,
  table: Table,
  row: Draft,
  prev: Row | undefined,
  changed: ReadonlySet<string>,
): void {
  if (prev === undefined) defaultCurrency(dml, table, row);
  else if (changed.has('CurrencyIsoCode')) defaultCurrency(dml, table, row);
  if (dml.settings.stateCountryPicklists) {
    for (const prefix of ['Billing', 'Shipping'] as const) {
      if (table.field(`${prefix}CountryCode`))
        applyAddressPicklists(prefix, row, changed, prev === undefined);
    }
  }
  switch (table.def.name) {
    case 'PricebookEntry': {
      const product = dml.store.get('Product2', String(row.Product2Id ?? ''));
      if (product) {
        row.Name = product.Name;
        row.ProductCode = product.ProductCode;
      }
      if (prev !== undefined || !product) return;
      const currency = currencyOf(dml, row);
      if (findEntry(dml, product.Id as string, String(row.Pricebook2Id), currency)) {
        throw new RecordError(
          dml.settings.duplicatePriceStatusCode,
          'This price definition already exists in this price book',
          [],
        );
      }
      if (row.Pricebook2Id !== dml.settings.standardPricebookId) {
        if (!findEntry(dml, product.Id as string, dml.settings.standardPricebookId, currency)) {
          throw new RecordError(
            'STANDARD_PRICE_NOT_DEFINED',
            'Before creating a custom price, create a standard price.',
            [],
          );
        }
      }
      return;
    }
    case 'Pricebook2':
      if (prev === undefined) row.IsStandard = false;
      return;
    case 'Opportunity': {
      if (row.StageName !== prev?.StageName) {
        row.IsClosed = row.StageName === 'Closed Won' || row.StageName === 'Closed Lost';
        row.IsWon = row.StageName === 'Closed Won';
      }
      if (
        prev &&
        changed.has('CurrencyIsoCode') &&
        hasChildren(dml, 'OpportunityLineItem', 'OpportunityId', row.Id)
      ) {
        throw integrity('CurrencyIsoCode', 'cannot change the currency of an opportunity with products');
      }
      if (prev && hasChildren(dml, 'OpportunityLineItem', 'OpportunityId', row.Id)) row.Amount = prev.Amount;
      return;
    }
    case 'OpportunityLineItem': {
      const opp = dml.store.get('Opportunity', String(row.OpportunityId));
      if (!opp) return; // reported by the reference check
      if (prev === undefined) {
        const newPricebook = line(dml, row, opp, 'opportunity');
        const product = dml.store.get('Product2', String(row.Product2Id));
        row.ProductCode = product?.ProductCode ?? null;
        row.Name = `${String(opp.Name)} ${String(product?.Name ?? '')}`.trim();
        if (newPricebook)
          dml.apply(
            tx,
            dml.store.table('Opportunity') as Table,
            opp,
            new Map([['Pricebook2Id', newPricebook]]),
            true,
          );
      }
      setPricing(row, prev, changed);
      return;
    }
    case 'Order': {
      const statuses = table.field('Status')?.picklistValues ?? [];
      if (changed.has('Status') && !statuses.includes(String(row.Status))) {
        throw new RecordError(
          'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          `Status: bad value for restricted picklist field: ${String(row.Status)}`,
          ['Status'],
        );
      }
      if (prev === undefined) {
        if (row.Status !== 'Draft') {
          throw new RecordError(
            'FIELD_INTEGRITY_EXCEPTION',
            'You can only create orders with a status of Draft. Add products, then activate the order.',
            ['Status'],
          );
        }
        row.StatusCode = 'Draft';
        row.OrderNumber = String(dml.settings.nextOrderNumber++).padStart(8, '0');
        row.TotalAmount = 0;
        return;
      }
      if (row.Status === prev.Status) return;
      if (row.Status === 'Activated') {
        if (!hasChildren(dml, 'OrderItem', 'OrderId', row.Id)) {
          throw new RecordError(
            'FIELD_INTEGRITY_EXCEPTION',
            "You can't activate an order without any products.",
            ['Status'],
          );
        }
        // Activation must be the only change: "the Status field is the only field you can update when activating".
        const others = [...changed].filter((f) => f !== 'Status');
        if (others.length > 0) {
          throw integrity(
            others[0] as string,
            'Status is the only field you can update when activating an order',
          );
        }
        row.StatusCode = 'Activated';
        row.ActivatedDate = dml.store.clock.now();
      } else if (row.Status === 'Draft') {
        row.StatusCode = 'Draft';
        row.ActivatedDate = null;
      }
      return;
    }
    case 'OrderItem': {
      const order = dml.store.get('Order', String(row.OrderId));
      if (!order) return;
      if (order.StatusCode === 'Activated') {
        throw integrity('OrderId', "You can't add or change products on an activated order");
      }
      if (prev === undefined) {
        const newPricebook = line(dml, row, order, 'order');
        if (newPricebook)
          dml.apply(
            tx,
            dml.store.table('Order') as Table,
            order,
            new Map([['Pricebook2Id', newPricebook]]),
            true,
          );
      }
      row.TotalPrice = round2((row.Quantity as number) * (row.UnitPrice as number));
      return;
    }
    default:
      return;
  }
}

function hasChildren(dml: Dml, child: string, field: string, parentId: unknown): boolean {
  return (dml.store.table(child)?.children(field, String(parentId)).length ?? 0) > 0;
}

/** Keeps roll-ups in step: Opportunity.Amount and Order.TotalAmount are the sums of their lines. */
function rollUp(
  dml: Dml,
  tx: Transaction,
  child: string,
  field: string,
  parentType: string,
  parentId: unknown,
  target: string,
): void {
  const parent = dml.store.get(parentType, String(parentId));
  const lines = dml.store.table(child) as Table;
  if (!parent) return;
  let sum = 0;
  for (const id of lines.children(field, parent.Id as string))
    sum += Number(lines.rows.get(id)?.TotalPrice ?? 0);
  const ids = lines.children(field, parent.Id as string);
  const value = ids.length === 0 && parentType === 'Opportunity' ? parent[target] : round2(sum);
  if (parent[target] !== value)
    dml.apply(tx, dml.store.table(parentType) as Table, parent, new Map([[target, value]]), true);
}

/** Runs after a row is written (insert, update or undelete). */
export function afterWrite(
  dml: Dml,
  tx: Transaction,
  table: Table,
  row: Row | Draft,
  prev: Row | undefined,
): void {
  switch (table.def.name) {
    case 'OpportunityLineItem':
      rollUp(dml, tx, 'OpportunityLineItem', 'OpportunityId', 'Opportunity', row.OpportunityId, 'Amount');
      return;
    case 'OrderItem':
      rollUp(dml, tx, 'OrderItem', 'OrderId', 'Order', row.OrderId, 'TotalAmount');
      return;
    case 'Product2': {
      if (!prev || (prev.Name === row.Name && prev.ProductCode === row.ProductCode)) return;
      const entries = dml.store.table('PricebookEntry') as Table;
      for (const id of entries.children('Product2Id', row.Id as string)) {
        const e = entries.rows.get(id);
        if (e)
          dml.apply(
            tx,
            entries,
            e,
            new Map([
              ['Name', row.Name],
              ['ProductCode', row.ProductCode],
            ]),
            true,
          );
      }
      return;
    }
    default:
      return;
  }
}

/** Runs before a delete; throws when Salesforce refuses it. */
export function beforeDelete(dml: Dml, _tx: Transaction, table: Table, row: Row): void {
  if (table.def.name === 'PricebookEntry') {
    for (const child of ['OpportunityLineItem', 'OrderItem']) {
      for (const r of (dml.store.table(child) as Table).rows.values()) {
        if (r.PricebookEntryId === row.Id && r.IsDeleted !== true) {
          throw new RecordError(
            'DELETE_FAILED',
            'Your attempt to delete this price book entry could not be completed because it is in use. Deactivate it instead.',
            [],
          );
        }
      }
    }
  }
  if (table.def.name === 'Pricebook2' && row.IsStandard === true) {
    throw new RecordError('DELETE_FAILED', 'You cannot delete the standard price book.', []);
  }
  if (table.def.name === 'Order' && row.StatusCode === 'Activated') {
    throw new RecordError('DELETE_FAILED', "You can't delete an activated order.", []);
  }
  if (
    table.def.name === 'OrderItem' &&
    dml.store.get('Order', String(row.OrderId))?.StatusCode === 'Activated'
  ) {
    throw integrity('OrderId', "You can't add or change products on an activated order");
  }
}

/** Runs after a delete: roll-ups. */
/** Children deleted with their parent (master-detail). */
const CASCADE: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  Opportunity: [['OpportunityLineItem', 'OpportunityId']],
  Order: [['OrderItem', 'OrderId']],
};

/** Runs after a delete: master-detail children go too; roll-ups follow. */
export function afterDelete(dml: Dml, tx: Transaction, table: Table, row: Row): void {
  for (const [child, field] of CASCADE[table.def.name] ?? []) {
    const children = dml.store.table(child) as Table;
    for (const id of children.children(field, row.Id as string)) {
      const r = children.rows.get(id) as Row;
      const now = dml.store.clock.now();
      tx.write(children, id, Object.freeze({ ...r, IsDeleted: true, SystemModstamp: now }), 'DELETE');
    }
  }
  afterWrite(dml, tx, table, row, row);
}
