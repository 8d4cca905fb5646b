/**
 * The wonOpportunities and activatedOrders flows (won Opportunity / activated Order → Dynamics sales order): the one SOQL that
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
import { soql, soqlFields, soqlIdent } from '#core/ports/salesforce/soql.ts';
import { applyMapping } from './expression.ts';
import { flowMapping, mappingPaths, PARENT_ROOT } from './flow-mappings.ts';
import { parseExternalIdValue } from './keys.ts';
import { type OrgFacts, ParkedError, resolutionFields } from './legal-entity.ts';

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
  /** The SalesOrderLines fields of the salesOrderLines mapping (evaluated when the order is read, before any write). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Why the line's mapping failed, thrown when the order is written (an ineligible order is still skipped). */
  readonly mappingError?: ParkedError;
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
  /** The SalesOrderHeadersV2 fields of the salesOrders mapping (evaluated when the order is read, before any write). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Why the header's mapping failed, thrown when the order is written (an ineligible order is still skipped). */
  readonly mappingError?: ParkedError;
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
  for (const f of mappingPaths(flowMapping('salesOrders', config, { sobject }))) fields.add(f);
  for (const f of mappingPaths(flowMapping('salesOrderLines', config))) {
    if (f.startsWith(`${PARENT_ROOT}.`)) fields.add(f.slice(PARENT_ROOT.length + 1));
  }
  fields.add('Account.Name');
  fields.add(`Account.${config.externalIds.account}`);
  for (const f of resolutionFields(config, org)) fields.add(`Account.${f}`);
  const lineFields = soqlFields([
    ...new Set([
      'Id',
      'Quantity',
      'UnitPrice',
      'Product2Id',
      `Product2.${config.externalIds.product}`,
      'Product2.ProductCode',
      ...mappingPaths(flowMapping('salesOrderLines', config), [PARENT_ROOT]),
    ]),
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

/**
 * Numbers lines by their position in Id order (Ids of one org sort by creation), so numbering is
 * stable, and evaluates the salesOrderLines mapping of each (`parent.` paths read `parent`, the
 * Opportunity / Order). Throws ParkedError when the mapping fails for a line.
 */
export function numberLines(
  records: readonly Readonly<Record<string, unknown>>[],
  config: ConnectorConfig,
  parent: Readonly<Record<string, unknown>> = {},
): SourceLine[] {
  const mapping = flowMapping('salesOrderLines', config);
  return [...records]
    .sort((a, b) => String(a.Id).localeCompare(String(b.Id)))
    .map((r, i) => ({
      id: String(r.Id),
      lineNumber: i + 1,
      itemNumber: itemNumberOf(obj(r.Product2), config),
      quantity: Number(r.Quantity ?? 0),
      unitPrice: typeof r.UnitPrice === 'number' ? r.UnitPrice : undefined,
      ...mapped(
        () => applyMapping(mapping, { ...r, [PARENT_ROOT]: parent }, 'mappings.salesOrderLines'),
        `line ${i + 1} (${String(r.Id)}): `,
      ),
    }));
}

/** Evaluates a mapping: its non-empty fields, or the ParkedError that says why it failed. */
function mapped(
  run: () => Record<string, unknown>,
  context = '',
): { fields: Record<string, unknown> } | { mappingError: ParkedError } {
  try {
    return { fields: withoutEmpty(run()) };
  } catch (error) {
    if (!(error instanceof ParkedError)) throw error;
    return { mappingError: new ParkedError(error.parkCode, `${context}${error.message}`, { cause: error }) };
  }
}

/** F&O fills its own defaults for fields a create leaves out: empty mapped values are not sent. */
function withoutEmpty(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined && v !== '') out[k] = v;
  return out;
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
    lines: numberLines(lineRecords, config, record),
    raw: record,
    ...mapped(() =>
      applyMapping(flowMapping('salesOrders', config, { sobject }), record, 'mappings.salesOrders'),
    ),
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

/**
 * The SalesOrderHeadersV2 create body: the salesOrders mapping's fields, then the connector's (the
 * legal entity, customer, currency and the Salesforce id in CustomersOrderReference, which a
 * mapping cannot change). No SalesOrderNumber: the number sequence assigns it.
 */
export function headerRecord(
  order: SourceOrder,
  target: { readonly dataAreaId: string; readonly customerAccount: string; readonly currency: string },
  config: ConnectorConfig,
): Record<string, unknown> {
  // Every mapping of the order is checked before its first write, so a failing line parks it whole.
  const failed = order.mappingError ?? order.lines.find((l) => l.mappingError)?.mappingError;
  if (failed) throw failed;
  const fields =
    order.fields ??
    withoutEmpty(
      applyMapping(
        flowMapping('salesOrders', config, { sobject: order.sobject }),
        order.raw,
        'mappings.salesOrders',
      ),
    );
  return {
    ...fields,
    dataAreaId: target.dataAreaId,
    OrderingCustomerAccountNumber: target.customerAccount,
    InvoiceCustomerAccountNumber: target.customerAccount,
    CurrencyCode: target.currency,
    CustomersOrderReference: order.id,
  };
}

/**
 * The SalesOrderLines create body for one line: the salesOrderLines mapping's fields (SalesUnitSymbol
 * from the Dynamics product unless the mapping sets it), then the connector's: no LineNumber (F&O
 * assigns it), the Salesforce id in `lineIdField`, the item, the order's keys and currency.
 */
export function lineRecord(
  line: SourceLine,
  target: { readonly dataAreaId: string; readonly salesOrderNumber: string; readonly currency: string },
  product: Readonly<Record<string, unknown>> | undefined,
  lineIdField: string,
): Record<string, unknown> {
  if (line.mappingError) throw line.mappingError;
  const fields = line.fields ?? {
    OrderedSalesQuantity: line.quantity,
    ...(line.unitPrice !== undefined ? { SalesPrice: line.unitPrice } : {}),
  };
  const unit = product?.SalesUnitSymbol;
  return {
    ...(typeof unit === 'string' && unit ? { SalesUnitSymbol: unit } : {}),
    ...fields,
    dataAreaId: target.dataAreaId,
    SalesOrderNumber: target.salesOrderNumber,
    [lineIdField]: line.id,
    ItemNumber: line.itemNumber,
    CurrencyCode: target.currency,
  };
}
