/**
 * The demo `ml-connector start` runs when nothing is configured: the example business in both
 * sandboxes, the initial sync, then scripted sales activity in Salesforce (a rep closes an
 * opportunity with lines, activates an order, creates an account) that flows back into Dynamics,
 * and finally an invoice posted in Dynamics that flows back onto the Opportunity.
 * Everything it prints is read back from the systems through the connector's own clients.
 */
import type { ConnectorClients } from '#adapters/clients.ts';
import { ConnectorError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import {
  CustomersV3,
  ReleasedProductsV2,
  SalesOrderHeadersV2,
  SalesOrderLines,
} from '#core/ports/dynamics/entities.ts';
import { and, eq } from '#core/ports/dynamics/odata.ts';
import { soql, soqlIdent, soqlLike } from '#core/ports/salesforce/soql.ts';
import type { Sandboxes } from '#sandbox/index.ts';
import { runInvoiceStory } from './demo-invoice.ts';
import { waitFor } from './demo-wait.ts';

export type DemoSay = (line: string) => void;

async function first<T>(iterable: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of iterable) return item;
  return undefined;
}

/** Counts the records of the example business (one page of $count each). */
export async function describeBusiness(
  clients: ConnectorClients,
  config: ConnectorConfig,
  say: DemoSay,
): Promise<void> {
  const company = { crossCompany: true } as const;
  const customers = await clients.dynamics.count(CustomersV3, { company });
  const products = await clients.dynamics.count(ReleasedProductsV2, { company });
  say(
    `Dynamics 365 F&O sandbox: ${customers.toLocaleString('en-US')} customers and ${products.toLocaleString('en-US')} released products`,
  );
  say(`  in legal entities ${config.legalEntities.join(', ')}.`);
}

/** Salesforce record counts after the initial sync, read with SOQL. */
export async function describeSalesforce(
  clients: ConnectorClients,
  config: ConnectorConfig,
  say: DemoSay,
): Promise<void> {
  const count = async (q: string) => {
    const page = await first(clients.salesforce.queryPages(q));
    return page?.totalSize ?? 0;
  };
  const accounts = await count(`SELECT COUNT() FROM Account WHERE ${config.externalIds.account} != null`);
  const products = await count(`SELECT COUNT() FROM Product2 WHERE ${config.externalIds.product} != null`);
  const entries = await count(
    'SELECT COUNT() FROM PricebookEntry WHERE Pricebook2.IsStandard = true AND IsActive = true',
  );
  say(
    `Salesforce now has ${accounts} Accounts and ${products} Products keyed by Dynamics, with ${entries} active standard price book entries.`,
  );
}

/** Acts as a sales rep in the Salesforce sandbox, then shows what arrived in Dynamics. */
export async function runSalesStory(
  sandboxes: Sandboxes,
  clients: ConnectorClients,
  config: ConnectorConfig,
  say: DemoSay,
): Promise<void> {
  const rep = sandboxes.salesforce.control;
  const account = await first(
    clients.salesforce.query<{ Id: string; Name: string; [k: string]: unknown }>(
      soql`SELECT Id, Name FROM Account WHERE ${soqlIdent(config.externalIds.account)} LIKE ${soqlLike('usmf:', 'startsWith')} ORDER BY Name LIMIT 1`,
    ),
  );
  if (!account) {
    throw new ConnectorError('the initial sync left no usmf Account to sell to', { code: 'DEMO_NO_ACCOUNT' });
  }
  const products: { Id: string; ProductCode: string }[] = [];
  for await (const p of clients.salesforce.query<{ Id: string; ProductCode: string }>(
    soql`SELECT Id, ProductCode FROM Product2 WHERE ${soqlIdent(config.externalIds.product)} LIKE ${soqlLike('usmf:', 'startsWith')} ORDER BY ProductCode LIMIT 3`,
  )) {
    products.push(p);
  }

  say('');
  say(`A rep closes an opportunity with ${account.Name} for three products...`);
  const opportunity = rep.createOpportunity({
    accountId: account.Id,
    name: `${account.Name} - pump overhaul`,
    lines: products.map((p, i) => ({ product2Id: p.Id, quantity: i + 2 })),
  });
  rep.closeOpportunityWon(opportunity.id);

  say('...activates an order for two products...');
  const order = rep.createOrder({
    accountId: account.Id,
    lines: products.slice(0, 2).map((p) => ({ product2Id: p.Id, quantity: 5 })),
  });
  rep.activateOrder(order.id);

  say('...and creates a new account in Germany.');
  const newAccount = rep.createAccount({
    Name: 'Rheinmetall Pumpen GmbH',
    BillingCity: 'Düsseldorf',
    BillingCountry: 'Germany',
    Phone: '+49 211 000000',
  });

  const salesOrderOf = async (reference: string) =>
    first(
      clients.dynamics.read(SalesOrderHeadersV2, {
        company: { crossCompany: true },
        filter: eq('CustomersOrderReference', reference),
        select: ['dataAreaId', 'SalesOrderNumber', 'OrderingCustomerAccountNumber', 'CurrencyCode'],
      }),
    );
  const showOrder = async (label: string, sobject: 'Opportunity' | 'Order', id: string, field: string) => {
    // The number is written back last, once the header and every line exist: wait for it first.
    const written = await waitFor(`the order number on the ${sobject}`, async () => {
      const record = await clients.salesforce.get<Record<string, unknown>>(sobject, id, { fields: [field] });
      return record?.[field] ? String(record[field]) : undefined;
    });
    const header = await waitFor(`the ${label} in Dynamics`, () => salesOrderOf(id));
    const number = String(header.SalesOrderNumber);
    const lines: string[] = [];
    for await (const line of clients.dynamics.read(SalesOrderLines, {
      company: String(header.dataAreaId),
      filter: and(eq('SalesOrderNumber', number)),
      select: ['ItemNumber', 'OrderedSalesQuantity', 'SalesPrice'],
    })) {
      lines.push(`${line.ItemNumber} x ${line.OrderedSalesQuantity} @ ${line.SalesPrice}`);
    }
    say(
      `  ${label}: Dynamics sales order ${number} in ${header.dataAreaId} for ${header.OrderingCustomerAccountNumber}, ${lines.length} lines (${lines.join(', ')});`,
    );
    say(`    the ${sobject} now carries ${field} = ${written}.`);
    return { dataAreaId: String(header.dataAreaId), salesOrderNumber: number };
  };

  say('');
  say('What arrived in Dynamics:');
  const won = await showOrder(
    'won opportunity',
    'Opportunity',
    opportunity.id,
    config.externalIds.opportunitySalesOrder,
  );
  await showOrder('activated order', 'Order', order.id, config.externalIds.orderSalesOrder);
  const key = await waitFor('the new customer', async () => {
    const record = await clients.salesforce.get<Record<string, unknown>>('Account', newAccount, {
      fields: [config.externalIds.account],
    });
    const value = record?.[config.externalIds.account];
    return typeof value === 'string' && value ? value : undefined;
  });
  const [dataAreaId, customerAccount] = key.includes(':')
    ? key.split(':', 2)
    : [config.legalEntities[0], key];
  const customer = await clients.dynamics.get(CustomersV3, {
    dataAreaId: String(dataAreaId),
    CustomerAccount: String(customerAccount),
  });
  say(
    `  new account: Dynamics customer ${customer?.CustomerAccount} in ${customer?.dataAreaId} (${customer?.SalesCurrencyCode}, group ${customer?.CustomerGroupId}); the Account's key is ${key}.`,
  );
  await runInvoiceStory(sandboxes, clients, config, say, { opportunityId: opportunity.id, ...won });
}
