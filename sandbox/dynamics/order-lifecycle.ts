/**
 * Moving a sales order on as F&O's posting does, for the entities the connector reads: confirm
 * (a confirmation journal: SalesOrderConfirmationHeaders), deliver (a packing slip: the order and
 * its lines become Delivered), invoice (an invoice journal: SalesInvoiceHeadersV2 and
 * SalesInvoiceLines rows, the order and its lines Invoiced) and cancel (the deliver remainder
 * cancelled: Canceled). Each raises the business event F&O raises, in the real envelope.
 * https://learn.microsoft.com/en-us/dynamics365/supply-chain/sales-marketing/sales-order-processing
 *
 * The sandbox posts whole orders (every line, full quantity). Rules, the stricter side where the
 * sources are silent:
 * - nothing is posted on an order that is Invoiced or Canceled;
 * - a packing slip needs an open (Backorder) order; an invoice posts what is not yet invoiced
 *   (an open order is delivered and invoiced at once, as posting an invoice for quantity All does);
 * - only an order with nothing delivered or invoiced can be cancelled.
 * UNCONFIRMED: the Infolog texts of the refusals, the number formats of confirmations, invoices and
 * vouchers (per-company number sequences here), and the date format inside event payloads.
 */
import { dateOnly, pad, type Rec } from './data.ts';
import { type Database, linesOf } from './entities.ts';
import type { Change } from './writes.ts';
import { WriteError } from './writes.ts';

/** What can be done to an order. */
export const ORDER_ACTIONS = ['confirm', 'deliver', 'invoice', 'cancel'] as const;
export type OrderAction = (typeof ORDER_ACTIONS)[number];

/**
 * F&O's standard business event ids. SalesInvoicePostedBusinessEvent and its contract
 * (InvoiceAccount, InvoiceId, SalesOrderId, InvoiceDate, InvoiceDueDate,
 * InvoiceAmountInAccountingCurrency, InvoiceTaxAmount, LegalEntity) are from Learn's business
 * events developer documentation. The confirmation and packing slip ids and their `SalesOrderId`
 * field are UNCONFIRMED (the connector's defaults match; both are configurable there).
 */
export const ORDER_EVENT_IDS = {
  confirm: 'SalesOrderConfirmedBusinessEvent',
  deliver: 'SalesOrderPackingSlipPostedBusinessEvent',
  invoice: 'SalesInvoicePostedBusinessEvent',
} as const;

/** What posting produced. */
export interface PostingResult {
  readonly header: Rec;
  /** The document number (confirmation, packing slip journal or invoice), when one was posted. */
  readonly documentNumber?: string;
}

export interface LifecycleContext {
  readonly db: Database;
  readonly now: () => number;
  readonly onChange: (change: Change) => void;
  /** Raises a business event (envelope fields beyond the standard ones). */
  readonly raise: (businessEventId: string, company: string, fields: Record<string, unknown>) => void;
}

const ROW_TYPE = 'SalesOrderHeaderV2Entity';

function refuse(message: string): never {
  throw new WriteError(ROW_TYPE, [message]);
}

const money = (n: number) => Math.round(n * 100) / 100;
/** The order's amount: its lines' LineAmount summed, to the cent. */
const linesAmount = (lines: readonly Record<string, unknown>[]) =>
  money(lines.reduce((s, l) => s + Number(l.LineAmount ?? 0), 0));

function setStatus(ctx: LifecycleContext, header: Rec, status: string): Rec {
  const company = String(header.dataAreaId);
  const updated = { ...header, SalesOrderStatus: status };
  ctx.db.stores.SalesOrderHeadersV2?.replace(updated);
  for (const line of linesOf(ctx.db, company, String(header.SalesOrderNumber))) {
    const changed = { ...line, SalesOrderLineStatus: status };
    ctx.db.stores.SalesOrderLines?.replace(changed);
  }
  ctx.onChange({ entitySet: 'SalesOrderHeadersV2', kind: 'updated', rec: updated });
  return updated;
}

/** Posts `action` on the order; throws WriteError (F&O's Infolog shape) when F&O would refuse. */
export function advanceOrder(
  ctx: LifecycleContext,
  company: string,
  salesOrderNumber: string,
  action: OrderAction,
): PostingResult {
  if (!(ORDER_ACTIONS as readonly string[]).includes(action))
    throw new RangeError(`action must be one of ${ORDER_ACTIONS.join(', ')}`);
  const le = company.toLowerCase();
  const stored = ctx.db.stores.SalesOrderHeadersV2?.get([le, salesOrderNumber]);
  if (!stored) throw new RangeError(`no sales order ${salesOrderNumber} in ${le}`);
  const header = stored.rec;
  const number = String(header.SalesOrderNumber);
  const status = String(header.SalesOrderStatus);
  if (status === 'Invoiced' || status === 'Canceled')
    refuse(`Sales order ${number} has status ${status} and can no longer be changed.`);
  const lines = linesOf(ctx.db, le, number);
  const today = dateOnly(ctx.now());
  switch (action) {
    case 'confirm': {
      const confirmationNumber = `${number}-${ctx.db.nextNumber(`Confirmation:${le}:${number}`)}`;
      const total = linesAmount(lines);
      ctx.db.stores.SalesOrderConfirmationHeaders?.insert({
        dataAreaId: le,
        SalesOrderNumber: number,
        ConfirmationDate: today,
        ConfirmationNumber: confirmationNumber,
        CustomersOrderReference: header.CustomersOrderReference ?? '',
        CustomerRequisitionNumber: header.CustomerRequisitionNumber ?? '',
        OrderingCustomerAccountNumber: header.OrderingCustomerAccountNumber ?? '',
        InvoiceCustomerAccountNumber: header.InvoiceCustomerAccountNumber ?? '',
        CurrencyCode: header.CurrencyCode ?? '',
        TotalConfirmedAmount: total,
        SubTotalAmount: total,
        TotalQuantity: lines.reduce((s, l) => s + Number(l.OrderedSalesQuantity ?? 0), 0),
        LanguageId: header.LanguageId ?? '',
      });
      // UNCONFIRMED payload: only the order number the connector reads is sent.
      ctx.raise(ORDER_EVENT_IDS.confirm, le, { SalesOrderId: number });
      return { header, documentNumber: confirmationNumber };
    }
    case 'deliver': {
      if (status !== 'Backorder') refuse(`Sales order ${number} has nothing left to deliver.`);
      if (lines.length === 0) refuse(`Sales order ${number} has no lines to post.`);
      const packingSlipId = `PS-${pad(ctx.db.nextNumber(`PackingSlip:${le}`), 6)}`;
      const updated = setStatus(ctx, header, 'Delivered');
      // UNCONFIRMED payload: only the order number the connector reads is sent.
      ctx.raise(ORDER_EVENT_IDS.deliver, le, { SalesOrderId: number });
      return { header: updated, documentNumber: packingSlipId };
    }
    case 'invoice': {
      if (lines.length === 0) refuse(`Sales order ${number} has no lines to post.`);
      const invoiceNumber = `CIV-${pad(ctx.db.nextNumber(`Invoice:${le}`), 6)}`;
      const voucher = `ARI-${pad(ctx.db.nextNumber(`Voucher:${le}`), 6)}`;
      const total = linesAmount(lines);
      ctx.db.stores.SalesInvoiceHeadersV2?.insert({
        dataAreaId: le,
        InvoiceNumber: invoiceNumber,
        InvoiceDate: today,
        LedgerVoucher: voucher,
        SalesOrderNumber: number,
        CustomersOrderReference: header.CustomersOrderReference ?? '',
        InvoiceCustomerAccountNumber: header.InvoiceCustomerAccountNumber ?? '',
        CurrencyCode: header.CurrencyCode ?? '',
        PaymentTermsName: header.PaymentTermsName ?? '',
        TotalInvoiceAmount: total,
        TotalTaxAmount: 0,
        TotalDiscountAmount: 0,
        TotalChargeAmount: 0,
      });
      lines.forEach((line, i) => {
        ctx.db.stores.SalesInvoiceLines?.insert({
          dataAreaId: le,
          InvoiceNumber: invoiceNumber,
          LineCreationSequenceNumber: i + 1,
          InvoiceDate: today,
          ProductNumber: line.ItemNumber ?? '',
          ProductName: line.LineDescription ?? '',
          InvoicedQuantity: Number(line.OrderedSalesQuantity ?? 0),
          SalesPrice: Number(line.SalesPrice ?? 0),
          SalesUnitSymbol: line.SalesUnitSymbol ?? '',
          LineAmount: Number(line.LineAmount ?? 0),
          CurrencyCode: line.CurrencyCode ?? '',
          InventorySiteId: line.ShippingSiteId ?? '',
          InventoryWarehouseId: line.ShippingWarehouseId ?? '',
        });
      });
      const updated = setStatus(ctx, header, 'Invoiced');
      // The contract of SalesInvoicePostedBusinessEventContract. UNCONFIRMED: how the payload
      // serializes dates (the sandbox sends the OData date form); the amounts are the order's
      // currency here (the sandbox has no exchange rates; F&O sends accounting currency).
      ctx.raise(ORDER_EVENT_IDS.invoice, le, {
        InvoiceAccount: header.InvoiceCustomerAccountNumber ?? '',
        InvoiceId: invoiceNumber,
        SalesOrderId: number,
        InvoiceDate: today,
        InvoiceDueDate: dateOnly(ctx.now() + 30 * 86_400_000),
        InvoiceAmountInAccountingCurrency: total,
        InvoiceTaxAmount: 0,
      });
      return { header: updated, documentNumber: invoiceNumber };
    }
    case 'cancel': {
      if (status !== 'Backorder')
        refuse(
          `Sales order ${number} has status ${status}: only an order with nothing delivered or invoiced can be cancelled.`,
        );
      return { header: setStatus(ctx, header, 'Canceled') };
    }
  }
}
