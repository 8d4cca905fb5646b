/**
 * The demo's last act: finance posts the invoice of the won opportunity's sales order in the F&O
 * sandbox (as F&O's posting does: an invoice journal and the posting's business event), and the
 * connector brings the invoice back to the Opportunity. What it prints is read back from
 * Salesforce and Dynamics through the connector's clients.
 */
import type { ConnectorClients } from '#adapters/clients.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orderStatusTargets } from '#core/mapping/order-status.ts';
import { SalesInvoiceHeadersV2 } from '#core/ports/dynamics/entities.ts';
import { eq } from '#core/ports/dynamics/odata.ts';
import type { Sandboxes } from '#sandbox/index.ts';
import type { DemoSay } from './demo.ts';
import { waitFor } from './demo-wait.ts';

/** Posts the invoice of `salesOrderNumber` in the F&O sandbox and shows it arriving on the Opportunity. */
export async function runInvoiceStory(
  sandboxes: Sandboxes,
  clients: ConnectorClients,
  config: ConnectorConfig,
  say: DemoSay,
  order: { readonly opportunityId: string; readonly dataAreaId: string; readonly salesOrderNumber: string },
): Promise<void> {
  const targets = orderStatusTargets(config, 'Opportunity');
  if (!config.orderStatus.enabled || !targets.invoiceNumber) return;
  say('');
  say(`Finance posts the invoice of sales order ${order.salesOrderNumber} in Dynamics...`);
  sandboxes.dynamics.control.advanceSalesOrder(order.dataAreaId, order.salesOrderNumber, 'invoice');
  let invoice: Record<string, unknown> | undefined;
  for await (const record of clients.dynamics.read(SalesInvoiceHeadersV2, {
    company: order.dataAreaId,
    filter: eq('SalesOrderNumber', order.salesOrderNumber),
    select: ['InvoiceNumber', 'InvoiceDate', 'TotalInvoiceAmount', 'CurrencyCode'],
  })) {
    invoice = record;
  }
  say(
    `  Dynamics: invoice ${String(invoice?.InvoiceNumber)} of ${String(invoice?.InvoiceDate).slice(0, 10)}, ${String(invoice?.TotalInvoiceAmount)} ${String(invoice?.CurrencyCode)}.`,
  );
  const fields = [targets.status, targets.invoiceNumber, targets.invoiceDate, targets.invoicedAmount].filter(
    (f): f is string => typeof f === 'string',
  );
  // The invoice-posted business event reaches the receiver; the worker reads the order and writes it back.
  const opportunity = await waitFor('the invoice on the Opportunity', async () => {
    const record = await clients.salesforce.get<Record<string, unknown>>('Opportunity', order.opportunityId, {
      fields,
    });
    return record?.[targets.invoiceNumber as string] ? record : undefined;
  });
  say('  the Opportunity now shows it (read back from Salesforce):');
  for (const field of fields) say(`    ${field} = ${String(opportunity[field])}`);
}
