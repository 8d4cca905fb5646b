import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';
import { type SandboxHttp, sandboxHttp } from '#test/support/dynamics-sandbox-http.ts';

let sandbox: DynamicsSandbox;
let http: SandboxHttp;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ customers: 300, products: 30, salesOrders: 6 });
  http = sandboxHttp(sandbox.info);
});
afterAll(async () => {
  await sandbox?.close();
});

const customer = (extra: Record<string, unknown> = {}) => ({
  dataAreaId: 'gbsi',
  OrganizationName: 'Sequence Test Ltd',
  PartyType: 'Organization',
  CustomerGroupId: '10',
  SalesCurrencyCode: 'GBP',
  ...extra,
});

const infolog = (json: Record<string, unknown>): string =>
  String(((json.error as Record<string, unknown>)?.innererror as Record<string, unknown>)?.message ?? '');

const sequence = (kind: string, company: string) =>
  sandbox.control.numberSequences().find((q) => q.kind === kind && q.company === company);

describe('dynamics sandbox number sequences', () => {
  it("assigns an omitted CustomerAccount from the company's sequence, in the example business's format", async () => {
    const next = sequence('customerAccounts', 'gbsi')?.next;
    expect(next).toBe(61); // 300 customers: gbsi holds 60, GB-000001..GB-000060.
    const created = await http.call('POST', 'CustomersV3', customer());
    expect(created.status).toBe(201);
    expect(created.json.CustomerAccount).toBe('GB-000061');
    const again = await http.call('POST', 'CustomersV3', customer());
    expect(again.json.CustomerAccount).toBe('GB-000062'); // continuous: no gaps
  });

  it("refuses a caller's CustomerAccount with F&O's validation error and creates nothing", async () => {
    const before = sequence('customerAccounts', 'gbsi')?.next ?? 0;
    const wrongFormat = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'SF-000001' }));
    expect(wrongFormat.status).toBe(400);
    expect(wrongFormat.json.error).toMatchObject({ code: '', message: 'An error has occurred.' });
    expect(infolog(wrongFormat.json)).toBe(
      "Write failed for table row of type 'CustCustomerV3Entity'. Infolog: Error: Field Customer account doesn't allow editing. Number SF-000001 doesn't match format GB-######. Validations failed.",
    );
    const higher = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'GB-000500' }));
    expect(infolog(higher.json)).toContain(
      "Field Customer account doesn't allow editing. Invalid specification of Customer account doesn't allow change to a higher number. Validations failed.",
    );
    const lower = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'GB-000001' }));
    expect(infolog(lower.json)).toContain("doesn't allow change to a lower number");
    expect(sequence('customerAccounts', 'gbsi')?.next).toBe(before);
    expect(sandbox.control.listRecords('CustomersV3', { filter: "CustomerAccount eq 'SF-000001'" })).toEqual(
      [],
    );
  });

  it('accepts a higher number when the sequence allows it, and any number when it is Manual', async () => {
    sandbox.control.configureNumberSequence('customerAccounts', { toAHigherNumber: true }, 'gbsi');
    const higher = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'GB-000500' }));
    expect(higher.json.CustomerAccount).toBe('GB-000500');
    const range = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'GB-1000000' }));
    expect(infolog(range.json)).toContain("Number GB-1000000 doesn't match format GB-######.");

    sandbox.control.configureNumberSequence('customerAccounts', { manual: true }, 'gbsi');
    const manual = await http.call('POST', 'CustomersV3', customer({ CustomerAccount: 'SF-000001' }));
    expect(manual.json.CustomerAccount).toBe('SF-000001');
    const omitted = await http.call('POST', 'CustomersV3', customer());
    expect(infolog(omitted.json)).toContain("Field 'Customer account' must be filled in.");
    sandbox.control.configureNumberSequence(
      'customerAccounts',
      { manual: false, toAHigherNumber: false },
      'gbsi',
    );
  });

  it('stops assigning when the sequence is exhausted', async () => {
    sandbox.control.configureNumberSequence('salesOrders', { format: 'X-#', continuous: true }, 'demf');
    const header = { dataAreaId: 'demf', OrderingCustomerAccountNumber: 'DE-000001' };
    for (let i = 0; i < 9; i++)
      expect((await http.call('POST', 'SalesOrderHeadersV2', header)).status).toBe(201);
    const exhausted = await http.call('POST', 'SalesOrderHeadersV2', header);
    expect(exhausted.status).toBe(400);
    expect(infolog(exhausted.json)).toContain(
      'Number sequence SalesOrd_DEMF has been exceeded. Number selection is canceled.',
    );
  });

  it('is configured over the HTTP control surface', async () => {
    const res = await fetch(`${sandbox.info.controlUrl}/number-sequences/salesOrders`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sandbox.info.controlToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ company: 'usmf', manual: true }),
    });
    expect(res.status).toBe(200);
    expect(sequence('salesOrders', 'usmf')).toMatchObject({ manual: true, format: 'SO-######' });
    const bad = await fetch(`${sandbox.info.controlUrl}/number-sequences/salesOrders`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${sandbox.info.controlToken}` },
      body: JSON.stringify({ manual: 'yes' }),
    });
    expect(bad.status).toBe(400);
    sandbox.control.configureNumberSequence('salesOrders', { manual: false }, 'usmf');
  });
});

describe('dynamics sandbox sales order lines', () => {
  it('assigns InventoryLotId, LineCreationSequenceNumber and LineNumber whatever the caller sent', async () => {
    const header = await http.call('POST', 'SalesOrderHeadersV2', {
      dataAreaId: 'usmf',
      OrderingCustomerAccountNumber: 'US-000001',
    });
    const order = String(header.json.SalesOrderNumber);
    const lines = [];
    for (const LineNumber of [10, 20]) {
      const res = await http.call('POST', 'SalesOrderLines', {
        dataAreaId: 'usmf',
        SalesOrderNumber: order,
        ItemNumber: 'P000001',
        LineNumber,
        LineCreationSequenceNumber: 99,
        OrderLineReference: `00k00000000000${LineNumber}AAA`,
      });
      expect(res.status).toBe(201);
      lines.push(res.json);
    }
    expect(lines.map((l) => [l.LineNumber, l.LineCreationSequenceNumber, l.OrderLineReference])).toEqual([
      [1, 1, '00k0000000000010AAA'],
      [2, 2, '00k0000000000020AAA'],
    ]);
    expect(lines.every((l) => l.DefaultLineNumberFromLineCreationSequenceNumber === 'Yes')).toBe(true);
    expect(String(lines[0]?.InventoryLotId)).toMatch(/^USMF-\d{9}$/);

    const lot = await http.call('POST', 'SalesOrderLines', {
      dataAreaId: 'usmf',
      SalesOrderNumber: order,
      ItemNumber: 'P000001',
      InventoryLotId: 'MY-LOT',
    });
    expect(lot.status).toBe(400);
    expect(infolog(lot.json)).toContain("Field Lot ID doesn't allow editing.");
  });

  it("keeps a caller's LineNumber when configured to", async () => {
    sandbox.control.setLineNumberFromCreationSequence(false);
    try {
      const { header, lines } = sandbox.control.createSalesOrder(
        { dataAreaId: 'usmf', OrderingCustomerAccountNumber: 'US-000002' },
        [{ ItemNumber: 'P000001', LineNumber: 10 }, { ItemNumber: 'P000002' }],
      );
      expect(header.SalesOrderNumber).toMatch(/^SO-\d{6}$/);
      expect(lines.map((l) => [l.LineNumber, l.LineCreationSequenceNumber])).toEqual([
        [10, 1],
        [11, 2],
      ]);
    } finally {
      sandbox.control.setLineNumberFromCreationSequence(true);
    }
  });
});
