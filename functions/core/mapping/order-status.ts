/**
 * What the sales order's life writes back to Salesforce: a pure function of the order's status,
 * its invoices and the configuration (`orderStatus`). Kept apart from the flow so the integrator
 * can later express the same targets in the declarative mapping language.
 *
 * SalesOrderHeadersV2.SalesOrderStatus is the enum SalesStatus; its members (None 0, Backorder 1,
 * Delivered 2, Invoiced 3, Canceled 4) are the published X++ base enum:
 * https://learn.microsoft.com/en-us/previous-versions/dynamics/ax-2012/reference/gg850643(v=ax.60)
 * (the table sandbox/dynamics/schema.ts serves). "Backorder" is F&O's name for an open order.
 */
import {
  type ConnectorConfig,
  DEFAULT_ORDER_EVENTS,
  DEFAULT_ORDER_STATUS_TARGETS,
  DEFAULT_STATUS_VALUES,
} from '#core/config/schema.ts';

/** The SalesStatus members. */
export const SALES_STATUSES = ['None', 'Backorder', 'Delivered', 'Invoiced', 'Canceled'] as const;
export type SalesStatus = (typeof SALES_STATUSES)[number];

/** The Salesforce objects a sales order comes from. */
export type OrderSource = 'Opportunity' | 'Order';

/** One posted invoice of the order (SalesInvoiceHeadersV2). */
export interface InvoiceFact {
  readonly number: string;
  /** YYYY-MM-DD. */
  readonly date: string;
  /** TotalInvoiceAmount, in the invoice's currency. */
  readonly amount: number;
}

/** What Dynamics says about one order now. */
export interface OrderSnapshot {
  readonly status: SalesStatus;
  readonly invoices: readonly InvoiceFact[];
}

/** The target fields of `sobject`, defaults applied; null: that one is not written. */
export function orderStatusTargets(
  config: ConnectorConfig,
  sobject: OrderSource,
): Readonly<Record<keyof typeof DEFAULT_ORDER_STATUS_TARGETS, string | null>> {
  const given = config.orderStatus.fields?.[sobject];
  const pick = (k: keyof typeof DEFAULT_ORDER_STATUS_TARGETS) =>
    given?.[k] === undefined ? DEFAULT_ORDER_STATUS_TARGETS[k] : given[k];
  return {
    status: pick('status'),
    invoiceNumber: pick('invoiceNumber'),
    invoiceDate: pick('invoiceDate'),
    invoicedAmount: pick('invoicedAmount'),
  };
}

/** The value written for a SalesStatus member, defaults applied. */
export function statusValueOf(config: ConnectorConfig, status: SalesStatus): string {
  return config.orderStatus.statusValues?.[status] ?? DEFAULT_STATUS_VALUES[status];
}

/** BusinessEventId → the payload field holding the sales order number (the configured map, else the defaults). */
export function orderEventsOf(
  config: ConnectorConfig,
): Readonly<Record<string, { readonly salesOrderField: string }>> {
  return config.orderStatus.events ?? DEFAULT_ORDER_EVENTS;
}

/** Reads a SalesStatus member from an OData value; undefined when it is not one. */
export function parseSalesStatus(value: unknown): SalesStatus | undefined {
  return typeof value === 'string' && (SALES_STATUSES as readonly string[]).includes(value)
    ? (value as SalesStatus)
    : undefined;
}

/**
 * An invoice from a SalesInvoiceHeadersV2 record; undefined when it lacks a number or a date.
 * InvoiceDate is a date: F&O serves it as `YYYY-MM-DDT12:00:00Z`.
 */
export function invoiceOf(record: Readonly<Record<string, unknown>>): InvoiceFact | undefined {
  const number = record.InvoiceNumber;
  const date = record.InvoiceDate;
  if (typeof number !== 'string' || number === '' || typeof date !== 'string') return undefined;
  const day = /^\d{4}-\d{2}-\d{2}/.exec(date)?.[0];
  if (!day) return undefined;
  const amount = Number(record.TotalInvoiceAmount ?? 0);
  return { number, date: day, amount: Number.isFinite(amount) ? amount : 0 };
}

/** An order is final once fully invoiced or cancelled: nothing about it changes any more. */
export function isFinal(status: SalesStatus): boolean {
  return status === 'Invoiced' || status === 'Canceled';
}

/** Adds decimal amounts without binary noise (F&O amounts have at most 6 decimals). */
function total(amounts: readonly number[]): number {
  return Math.round(amounts.reduce((sum, a) => sum + a * 1e6, 0)) / 1e6;
}

/**
 * The fields to set on the Opportunity or Order, by API name: the status value, the latest
 * invoice's number and date (latest by date, then number), and the total of every invoice. With no
 * invoice the invoice fields are null (cleared). Targets configured as null are left out.
 */
export function orderStatusFields(
  config: ConnectorConfig,
  sobject: OrderSource,
  snapshot: OrderSnapshot,
): Record<string, string | number | null> {
  const targets = orderStatusTargets(config, sobject);
  const invoices = [...snapshot.invoices].sort(
    (a, b) => a.date.localeCompare(b.date) || a.number.localeCompare(b.number),
  );
  const latest = invoices.at(-1);
  const out: Record<string, string | number | null> = {};
  if (targets.status) out[targets.status] = statusValueOf(config, snapshot.status);
  if (targets.invoiceNumber) out[targets.invoiceNumber] = latest?.number ?? null;
  if (targets.invoiceDate) out[targets.invoiceDate] = latest?.date ?? null;
  if (targets.invoicedAmount) {
    out[targets.invoicedAmount] = latest ? total(invoices.map((i) => i.amount)) : null;
  }
  return out;
}
