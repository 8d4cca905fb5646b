/**
 * Flows 3 and 4 (won Opportunity / activated Order → Dynamics sales order): the one SOQL that
 * reads the object with its lines and its Account, and the pure mapping to SalesOrderHeadersV2
 * and SalesOrderLines. The header carries the Salesforce id in CustomersOrderReference
 * (SalesTable.PurchOrderFormNum, 20 characters: an 18-character id fits).
 *
 * Lines carry the Salesforce line id (OpportunityLineItem / OrderItem Id) in a SalesOrderLines text
 * field that F&O keeps as sent, `salesOrders.lineIdField`, and a retry matches existing lines on it.
 * LineNumber is not sent and never trusted: F&O numbers lines from LineCreationSequenceNumber when
 * DefaultLineNumberFromLineCreationSequenceNumber is Yes, and whether a caller's LineNumber
 * survives is undocumented. Default field OrderLineReference, because among the real entity's
 * fields it is free text that F&O does not fill itself, while CustomerRequisitionNumber is the
 * customer's purchase order number (F&O copies the header's into each line, and the example
 * business uses it) and CustomersLineNumber is an Int32 that cannot hold an id.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { soql, soqlFields, soqlIdent } from '#salesforce/soql.ts';
import { parseExternalIdValue } from './keys.ts';
import { type OrgFacts, resolutionFields } from './legal-entity.ts';

export type SalesSource = 'Opportunity' | 'Order';

/** One Salesforce line, numbered by its position. */
export interface SourceLine {
  readonly id: string;
  /** 1-based position in Id order (lines are created in this order; used in messages). */
  readonly lineNumber: number;
  /** The Dynamics ItemNumber from the product's External ID, or its ProductCode. */
  readonly itemNumber: string | undefined;
  readonly quantity: number;
  readonly unitPrice: number | undefined;
}

/** A won Opportunity or an activated Order as the flow needs it. */
export interface SourceOrder {
  readonly sobject: SalesSource;
  readonly id: string;
  readonly eligible: boolean;
  /** The sales order number already written back, if any. */
  readonly writtenBack: string | undefined;
  readonly name: string | undefined;
  readonly accountId: string | undefined;
  /** The Account's fields (key, resolution fields). */
  readonly account: Readonly<Record<string, unknown>>;
  readonly currency: unknown;
  readonly lines: readonly SourceLine[];
  /** The whole record, for configured extra header fields. */
  readonly raw: Readonly<Record<string, unknown>>;
}

const CHILDREN: Readonly<Record<SalesSource, string>> = {
  Opportunity: 'OpportunityLineItems',
  Order: 'OrderItems',
};

/** The write-back field of the source object. */
export function salesOrderField(sobject: SalesSource, config: ConnectorConfig): string {
  return sobject === 'Opportunity'
    ? config.externalIds.opportunitySalesOrder
    : config.externalIds.orderSalesOrder;
}

/** The SOQL reading one Opportunity/Order with its lines and Account fields (one call). */
export function salesOrderQuery(
  sobject: SalesSource,
  id: string,
  config: ConnectorConfig,
  org: OrgFacts,
): string {
  const fields = new Set(['Id', 'AccountId', salesOrderField(sobject, config)]);
  fields.add(sobject === 'Opportunity' ? 'IsWon' : 'StatusCode');
  if (sobject === 'Opportunity') fields.add('Name');
  else fields.add('OrderNumber').add('OpportunityId');
  if (org.multiCurrency) fields.add('CurrencyIsoCode');
  for (const sf of Object.values(config.mappings.salesOrders)) fields.add(sf);
  fields.add('Account.Name');
  fields.add(`Account.${config.externalIds.account}`);
  for (const f of resolutionFields(config, org)) fields.add(`Account.${f}`);
  const lineFields = soqlFields([
    'Id',
    'Quantity',
    'UnitPrice',
    'Product2Id',
    `Product2.${config.externalIds.product}`,
    'Product2.ProductCode',
  ]);
  // An Opportunity's Orders (Order.OpportunityId), when Orders become sales orders too: one deal, one order.
  const orders =
    sobject === 'Opportunity' && config.flows.activatedOrders.enabled ? ', (SELECT Id FROM Orders)' : '';
  return `SELECT ${soqlFields([...fields]).text}, (SELECT ${lineFields.text} FROM ${soqlIdent(CHILDREN[sobject]).text})${orders} FROM ${soqlIdent(sobject).text} WHERE ${soql`Id = ${id}`}`;
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
const obj = (v: unknown): Readonly<Record<string, unknown>> =>
  v && typeof v === 'object' ? (v as Record<string, unknown>) : {};

/** The Dynamics ItemNumber of a line's product: its External ID (the id part of `le:item`), else ProductCode. */
export function itemNumberOf(
  product: Readonly<Record<string, unknown>>,
  config: ConnectorConfig,
): string | undefined {
  const key = str(product[config.externalIds.product]);
  if (key) return parseExternalIdValue(key, config.legalEntities[0]).id;
  return str(product.ProductCode);
}

/** Numbers lines by their position in Id order (Ids of one org sort by creation), so numbering is stable. */
export function numberLines(
  records: readonly Readonly<Record<string, unknown>>[],
  config: ConnectorConfig,
): SourceLine[] {
  return [...records]
    .sort((a, b) => String(a.Id).localeCompare(String(b.Id)))
    .map((r, i) => ({
      id: String(r.Id),
      lineNumber: i + 1,
      itemNumber: itemNumberOf(obj(r.Product2), config),
      quantity: Number(r.Quantity ?? 0),
      unitPrice: typeof r.UnitPrice === 'number' ? r.UnitPrice : undefined,
    }));
}

/** Reads the query result into a SourceOrder. */
export function parseSourceOrder(
  sobject: SalesSource,
  record: Readonly<Record<string, unknown>>,
  config: ConnectorConfig,
): SourceOrder {
  const children = obj(record[CHILDREN[sobject]]);
  const lineRecords = Array.isArray(children.records) ? (children.records as Record<string, unknown>[]) : [];
  return {
    sobject,
    id: String(record.Id),
    eligible: sobject === 'Opportunity' ? record.IsWon === true : record.StatusCode === 'Activated',
    writtenBack: str(record[salesOrderField(sobject, config)]),
    name: str(record.Name) ?? str(record.OrderNumber),
    accountId: str(record.AccountId),
    account: obj(record.Account),
    currency: record.CurrencyIsoCode,
    lines: numberLines(lineRecords, config),
    raw: record,
  };
}

/** An existing Dynamics line as matching needs it: its Salesforce line id (in `lineIdField`) and item. */
export interface ExistingLine {
  readonly salesforceId: string | undefined;
  readonly ItemNumber?: unknown;
  readonly LineNumber?: unknown;
}

/** The outcome of matching: lines still to create, and lines Dynamics holds with another item. */
export interface LinePlan {
  readonly missing: readonly SourceLine[];
  readonly conflicts: readonly string[];
}

/**
 * Compares wanted lines with the order's existing lines by Salesforce line id (case-sensitive:
 * 15/18-character Ids differ only in case). Lines without an id (added in Dynamics) are not ours.
 */
export function planLines(wanted: readonly SourceLine[], existing: readonly ExistingLine[]): LinePlan {
  const byId = new Map<string, ExistingLine>();
  for (const line of existing) if (line.salesforceId) byId.set(line.salesforceId, line);
  const missing: SourceLine[] = [];
  const conflicts: string[] = [];
  for (const line of wanted) {
    const found = byId.get(line.id);
    if (!found) missing.push(line);
    else if (String(found.ItemNumber ?? '').toLowerCase() !== (line.itemNumber ?? '').toLowerCase()) {
      conflicts.push(
        `line ${String(found.LineNumber ?? '?')} (${line.id}) is ${String(found.ItemNumber)} in Dynamics but ${line.itemNumber} in Salesforce`,
      );
    }
  }
  return { missing, conflicts };
}

/** The SalesOrderHeadersV2 create body (no SalesOrderNumber: the number sequence assigns it). */
export function headerRecord(
  order: SourceOrder,
  target: { readonly dataAreaId: string; readonly customerAccount: string; readonly currency: string },
  config: ConnectorConfig,
): Record<string, unknown> {
  const header: Record<string, unknown> = {
    dataAreaId: target.dataAreaId,
    OrderingCustomerAccountNumber: target.customerAccount,
    InvoiceCustomerAccountNumber: target.customerAccount,
    CurrencyCode: target.currency,
    CustomersOrderReference: order.id,
  };
  if (order.name) header.SalesOrderName = order.name.slice(0, 60);
  for (const [dynamics, sf] of Object.entries(config.mappings.salesOrders)) {
    const value = order.raw[sf];
    if (value !== undefined && value !== null) header[dynamics] = value;
  }
  return header;
}

/** The SalesOrderLines create body for one line: no LineNumber (F&O assigns it), the Salesforce id in `lineIdField`. */
export function lineRecord(
  line: SourceLine,
  target: { readonly dataAreaId: string; readonly salesOrderNumber: string; readonly currency: string },
  product: Readonly<Record<string, unknown>> | undefined,
  lineIdField: string,
): Record<string, unknown> {
  const record: Record<string, unknown> = {
    dataAreaId: target.dataAreaId,
    SalesOrderNumber: target.salesOrderNumber,
    [lineIdField]: line.id,
    ItemNumber: line.itemNumber,
    OrderedSalesQuantity: line.quantity,
    CurrencyCode: target.currency,
  };
  if (line.unitPrice !== undefined) record.SalesPrice = line.unitPrice;
  const unit = product?.SalesUnitSymbol;
  if (typeof unit === 'string' && unit) record.SalesUnitSymbol = unit;
  return record;
}
