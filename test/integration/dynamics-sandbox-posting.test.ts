import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';
import { sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ customers: 30, products: 20, salesOrders: 0 });
});
afterAll(async () => {
  await sandbox?.close();
});

const control = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${sandbox.info.controlUrl}/${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.info.controlToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
};

/** Asks the control surface to advance usmf's sales order `salesOrderNumber` by `action`. */
const advanceOverControl = (salesOrderNumber: string, action: string) =>
  control('POST', 'sales-orders/advance', { company: 'usmf', salesOrderNumber, action });

function newOrder(): string {
  const { header } = sandbox.control.createSalesOrder(
    { dataAreaId: 'usmf', OrderingCustomerAccountNumber: 'US-000002' },
    [
      { ItemNumber: 'P000001', OrderedSalesQuantity: 2 },
      { ItemNumber: 'P000002', OrderedSalesQuantity: 1 },
    ],
  );
  return String(header.SalesOrderNumber);
}

describe('posting sales orders in the dynamics sandbox', () => {
  it('posts an invoice over the control surface: invoice header and lines over OData, the order Invoiced, the event raised', async () => {
    const number = newOrder();
    const lines = sandbox.control.salesOrderLines('usmf', number);
    const posted = await advanceOverControl(number, 'invoice');
    expect(posted.status).toBe(200);
    const invoiceNumber = String(posted.json.documentNumber);
    expect(posted.json.header).toMatchObject({ SalesOrderNumber: number, SalesOrderStatus: 'Invoiced' });

    const http = sandboxHttp(sandbox.info);
    const q = (filter: string) => encodeURIComponent(filter);
    const invoices = (await http.get(
      `SalesInvoiceHeadersV2?cross-company=true&$filter=${q(`SalesOrderNumber eq '${number}'`)}`,
    )) as { value: Record<string, unknown>[] };
    const total = lines.reduce((s, l) => s + Number(l.LineAmount), 0);
    expect(invoices.value).toEqual([
      expect.objectContaining({
        dataAreaId: 'usmf',
        InvoiceNumber: invoiceNumber,
        SalesOrderNumber: number,
        InvoiceDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T12:00:00Z$/),
        TotalInvoiceAmount: total,
      }),
    ]);
    const invoiceLines = (await http.get(
      `SalesInvoiceLines?cross-company=true&$filter=${q(`InvoiceNumber eq '${invoiceNumber}'`)}`,
    )) as { value: Record<string, unknown>[] };
    expect(invoiceLines.value.map((l) => [l.ProductNumber, l.InvoicedQuantity])).toEqual([
      ['P000001', 2],
      ['P000002', 1],
    ]);
    expect(
      sandbox.control.salesOrderLines('usmf', number).every((l) => l.SalesOrderLineStatus === 'Invoiced'),
    ).toBe(true);
    const event = sandbox.control.businessEvents().at(-1);
    expect(event).toMatchObject({
      BusinessEventId: 'SalesInvoicePostedBusinessEvent',
      BusinessEventLegalEntity: 'USMF',
      InvoiceId: invoiceNumber,
      SalesOrderId: number,
      InvoiceAccount: 'US-000002',
      InvoiceAmountInAccountingCurrency: total,
    });
    expect(typeof event?.ControlNumber).toBe('number');
  });

  it('refuses what F&O refuses: a second invoice, a cancellation after delivery, writes to posted documents', async () => {
    const invoiced = newOrder();
    sandbox.control.advanceSalesOrder('usmf', invoiced, 'invoice');
    const again = await advanceOverControl(invoiced, 'invoice');
    expect(again.status).toBe(400);
    expect(JSON.stringify(again.json)).toMatch(/has status Invoiced and can no longer be changed/);

    const delivered = newOrder();
    sandbox.control.advanceSalesOrder('usmf', delivered, 'confirm');
    sandbox.control.advanceSalesOrder('usmf', delivered, 'deliver');
    const cancel = await advanceOverControl(delivered, 'cancel');
    expect(cancel.status).toBe(400);
    expect(
      sandbox.control.listRecords('SalesOrderConfirmationHeaders', {
        filter: `SalesOrderNumber eq '${delivered}'`,
      }),
    ).toHaveLength(1);

    const bad = await advanceOverControl(delivered, 'ship');
    expect(bad).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/action must be one of/) },
    });

    const write = await sandboxHttp(sandbox.info).call('POST', 'SalesInvoiceHeadersV2', {
      dataAreaId: 'usmf',
      InvoiceNumber: 'CIV-999999',
    });
    expect(write.status).toBe(405);
  });

  it('cancels an open order', () => {
    const number = newOrder();
    expect(sandbox.control.advanceSalesOrder('usmf', number, 'cancel').header.SalesOrderStatus).toBe(
      'Canceled',
    );
  });
});
