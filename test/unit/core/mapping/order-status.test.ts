import { describe, expect, it } from 'vitest';
import {
  invoiceOf,
  isFinal,
  orderStatusFields,
  parseSalesStatus,
  SALES_STATUSES,
} from '#core/mapping/order-status.ts';
import { testConfig } from '#test/support/config.ts';

describe('orderStatusFields', () => {
  const config = testConfig();

  it('writes the status value and clears the invoice fields of an order without invoices', () => {
    expect(orderStatusFields(config, 'Opportunity', { status: 'Backorder', invoices: [] })).toEqual({
      D365_Order_Status__c: 'Open',
      D365_Invoice_Number__c: null,
      D365_Invoice_Date__c: null,
      D365_Invoiced_Amount__c: null,
    });
  });

  it('shows the latest invoice and the total of all, whatever order they come in', () => {
    const fields = orderStatusFields(config, 'Order', {
      status: 'Invoiced',
      invoices: [
        { number: 'CIV-000012', date: '2026-11-30', amount: 0.1 },
        { number: 'CIV-000010', date: '2026-11-02', amount: 0.2 },
      ],
    });
    expect(fields).toEqual({
      D365_Order_Status__c: 'Invoiced',
      D365_Invoice_Number__c: 'CIV-000012',
      D365_Invoice_Date__c: '2026-11-30',
      D365_Invoiced_Amount__c: 0.3,
    });
  });

  it('uses the configured targets and values, leaving out targets set to null', () => {
    const custom = testConfig({
      orderStatus: {
        fields: { Opportunity: { status: 'Fulfilment__c', invoiceDate: null, invoicedAmount: null } },
        statusValues: { Canceled: 'Lost in fulfilment' },
      },
    });
    expect(orderStatusFields(custom, 'Opportunity', { status: 'Canceled', invoices: [] })).toEqual({
      Fulfilment__c: 'Lost in fulfilment',
      D365_Invoice_Number__c: null,
    });
  });
});

describe('order status helpers', () => {
  it('treats only Invoiced and Canceled as final', () => {
    expect(SALES_STATUSES.filter(isFinal)).toEqual(['Invoiced', 'Canceled']);
  });

  it('reads SalesStatus members and refuses anything else', () => {
    expect(parseSalesStatus('Delivered')).toBe('Delivered');
    expect(parseSalesStatus('Open')).toBeUndefined();
    expect(parseSalesStatus(2)).toBeUndefined();
  });

  it('reads an invoice date as the date F&O means and drops records without a number', () => {
    expect(
      invoiceOf({ InvoiceNumber: 'CIV-1', InvoiceDate: '2026-12-03T12:00:00Z', TotalInvoiceAmount: 1250.5 }),
    ).toEqual({ number: 'CIV-1', date: '2026-12-03', amount: 1250.5 });
    expect(invoiceOf({ InvoiceNumber: '', InvoiceDate: '2026-12-03T12:00:00Z' })).toBeUndefined();
  });
});
