import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '#base/errors.ts';
import {
  Currencies,
  CustomersV3,
  type EntityKey,
  ReleasedProductsV2,
  SalesOrderHeadersV2,
  SalesOrderLines,
} from '#core/ports/dynamics/entities.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { eq } from '#core/ports/dynamics/odata.ts';
import { createDynamicsClient, type DynamicsClient } from '#dynamics/client.ts';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';

type CustomerKey = EntityKey<typeof CustomersV3>;

async function firstItems(client: DynamicsClient, company: string): Promise<string[]> {
  const items: string[] = [];
  for await (const p of client.read(ReleasedProductsV2, { company, select: ['ItemNumber'], top: 1 })) {
    items.push(String(p.ItemNumber));
  }
  return items;
}

const CURRENCY: Readonly<Record<string, string>> = { usmf: 'USD', demf: 'EUR', gbsi: 'GBP' };

const customer = (dataAreaId: string, CustomerAccount: string) => ({
  dataAreaId,
  CustomerAccount,
  PartyType: 'Organization',
  CustomerGroupId: '10',
  SalesCurrencyCode: CURRENCY[dataAreaId] ?? 'USD',
  OrganizationName: `Org ${CustomerAccount}`,
});

describe('DynamicsClient writes and key reads against the sandbox', () => {
  let sandbox: DynamicsSandbox;
  let client: DynamicsClient;

  beforeAll(async () => {
    sandbox = await startDynamicsSandbox({
      customers: 300,
      products: 60,
      salesOrders: 20,
      // These tests choose their customer numbers (quotes, slashes, duplicates): a Manual sequence.
      numberSequences: { customerAccounts: { manual: true } },
    });
    const { info } = sandbox;
    client = createDynamicsClient({
      environment: info.environmentUrl,
      authorityHost: info.authorityHost,
      tenantId: info.tenantId,
      clientId: info.clientId,
      clientSecret: info.clientSecret,
    });
  });
  afterAll(async () => {
    await client?.close();
    await sandbox?.close();
  });

  it('creates a customer in a non-default company and reads it back by key', async () => {
    const created = await client.create(CustomersV3, customer('DEMF', "DE-O'Brien & Co"));
    expect(created).toMatchObject({ dataAreaId: 'demf', CustomerAccount: "DE-O'Brien & Co" });
    expect(String(created['@odata.etag'])).toMatch(/^W\//);
    const read = await client.get(CustomersV3, { dataAreaId: 'demf', CustomerAccount: "DE-O'Brien & Co" });
    expect(read?.OrganizationName).toBe("Org DE-O'Brien & Co");
    expect(await client.get(CustomersV3, { dataAreaId: 'demf', CustomerAccount: 'NOPE' })).toBeUndefined();
  });

  it('surfaces a refused POST with its Infolog text', async () => {
    const error = await client
      .create(CustomersV3, { ...customer('usmf', 'US-BAD-GROUP'), CustomerGroupId: '99' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamicsWriteError);
    const e = error as DynamicsWriteError;
    expect(e.status).toBe(400);
    expect(e.infolog).toMatch(/99/);
    expect(e.message).toContain(e.infolog ?? '');
    expect(e.isDuplicate).toBe(false);
    expect(e.entity).toBe('CustomersV3');
  });

  it('reports a duplicate create as a duplicate, sending it once', async () => {
    await client.create(CustomersV3, customer('usmf', 'US-DUP-1'));
    client.counter.reset();
    const error = await client.create(CustomersV3, customer('usmf', 'US-DUP-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamicsWriteError);
    expect((error as DynamicsWriteError).isDuplicate).toBe(true);
    expect((error as DynamicsWriteError).infolog).toMatch(/already exists/);
    expect(client.counter.snapshot().byOperation).toEqual({ 'odata.create': 1 });
  });

  it('reads by keys across three legal entities, quotes in key values, in one call', async () => {
    const wanted: CustomerKey[] = [];
    for (const company of ['usmf', 'demf', 'gbsi']) {
      for (const account of [`${company}-O'Neil`, `${company}-'quoted'`, `${company}-a+b&c#d%e/f?`]) {
        await client.create(CustomersV3, customer(company, account));
        wanted.push({ dataAreaId: company.toUpperCase(), CustomerAccount: account });
      }
    }
    const absent: CustomerKey = { dataAreaId: 'gbsi', CustomerAccount: "nobody's" };
    client.counter.reset();
    const result = await client.readByKeys(CustomersV3, [...wanted, absent], {
      select: ['OrganizationName'],
    });
    expect(result.found.size).toBe(9);
    for (const key of wanted) {
      const formatted = `CustomersV3(dataAreaId='${key.dataAreaId.toLowerCase()}',CustomerAccount='${key.CustomerAccount.replaceAll("'", "''")}')`;
      expect(result.found.get(formatted)?.OrganizationName).toBe(`Org ${key.CustomerAccount}`);
    }
    expect(result.missing).toEqual([absent]);
    expect(result.requests).toBe(1);
    expect(client.counter.snapshot().byOperation).toEqual({ 'odata.read': 1 });
  });

  it('reads hundreds of keys across companies in one $batch call', async () => {
    const keys = ['usmf', 'demf', 'gbsi'].flatMap((company) =>
      Array.from({ length: 60 }, (_, i) => ({
        dataAreaId: company,
        CustomerAccount: `${company.slice(0, 2).toUpperCase()}-${String(i + 1).padStart(6, '0')}`,
      })),
    );
    keys.push({ dataAreaId: 'usmf', CustomerAccount: "NOT-THERE'S" });
    const before = client.counter.snapshot().byOperation;
    const result = await client.readByKeys(CustomersV3, keys, { batch: true, select: ['OrganizationName'] });
    const after = client.counter.snapshot().byOperation;
    expect(result.found.size).toBe(180);
    expect(result.missing).toEqual([{ dataAreaId: 'usmf', CustomerAccount: "NOT-THERE'S" }]);
    expect((after['odata.batch'] ?? 0) - (before['odata.batch'] ?? 0)).toBe(1);
    expect(after['odata.read']).toBe(before['odata.read']);
    const unbatched = await client.readByKeys(CustomersV3, keys, { select: ['OrganizationName'] });
    expect(unbatched.requests).toBeGreaterThan(3);
    expect([...unbatched.found.keys()].sort()).toEqual([...result.found.keys()].sort());
  });

  it('reads many keys in ceil(n / per-call) calls, each URL within the limit', async () => {
    const keys: CustomerKey[] = [];
    for await (const c of client.read(CustomersV3, {
      company: { crossCompany: true },
      select: ['dataAreaId', 'CustomerAccount'],
    })) {
      keys.push({ dataAreaId: String(c.dataAreaId), CustomerAccount: String(c.CustomerAccount) });
    }
    expect(keys.length).toBeGreaterThan(300);
    client.counter.reset();
    const result = await client.readByKeys(CustomersV3, keys);
    expect(result.found.size).toBe(keys.length);
    expect(result.missing).toEqual([]);
    expect(result.requests).toBeGreaterThan(1);
    expect(result.requests).toBeLessThan(keys.length / 20);
  });

  it('updates with If-Match and deletes by key', async () => {
    const created = await client.create(CustomersV3, customer('gbsi', 'GB-UPD-1'));
    const key = { dataAreaId: 'gbsi', CustomerAccount: 'GB-UPD-1' };
    await client.update(
      CustomersV3,
      key,
      { OrganizationName: 'Renamed' },
      { ifMatch: String(created['@odata.etag']) },
    );
    expect((await client.get(CustomersV3, key))?.OrganizationName).toBe('Renamed');
    const stale = await client
      .update(CustomersV3, key, { OrganizationName: 'Again' }, { ifMatch: String(created['@odata.etag']) })
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 412 });
    expect(await client.delete(CustomersV3, key)).toBe(true);
    expect(await client.delete(CustomersV3, key)).toBe(false);
    expect(await client.get(CustomersV3, key)).toBeUndefined();
  });

  it('addresses keys containing slash, plus, percent and spaces by path for get, update and delete', async () => {
    const account = "GB-A/B+C 100% O'K";
    await client.create(CustomersV3, customer('gbsi', account));
    const key = { dataAreaId: 'gbsi', CustomerAccount: account };
    expect((await client.get(CustomersV3, key))?.CustomerAccount).toBe(account);
    await client.update(CustomersV3, key, { OrganizationName: 'Slashed' });
    expect((await client.get(CustomersV3, key))?.OrganizationName).toBe('Slashed');
    expect(await client.delete(CustomersV3, key)).toBe(true);
    expect(await client.get(CustomersV3, key)).toBeUndefined();
  });

  it('creates a sales order header with a generated number and a line, and reads them with $expand', async () => {
    const [item] = await firstItems(client, 'usmf');
    await client.create(CustomersV3, customer('usmf', 'US-SO-1'));
    const header = await client.create(SalesOrderHeadersV2, {
      dataAreaId: 'usmf',
      OrderingCustomerAccountNumber: 'US-SO-1',
      CustomersOrderReference: 'SF-0065g00000abcDE',
    });
    const number = String(header.SalesOrderNumber);
    expect(number).not.toBe('');
    const line = await client.create(SalesOrderLines, {
      dataAreaId: 'usmf',
      SalesOrderNumber: number,
      ItemNumber: item,
      OrderedSalesQuantity: 3,
    });
    expect(String(line.InventoryLotId)).not.toBe('');
    const pages = [];
    for await (const h of client.read(SalesOrderHeadersV2, {
      company: { crossCompany: true },
      filter: eq('CustomersOrderReference', 'SF-0065g00000abcDE'),
      expand: ['SalesOrderLines'],
    })) {
      pages.push(h);
    }
    expect(pages).toHaveLength(1);
    expect(pages[0]?.SalesOrderLines).toEqual([
      expect.objectContaining({ ItemNumber: item, OrderedSalesQuantity: 3 }),
    ]);
  });

  it('applies creates, updates and deletes in one change set, or none with the failing request named', async () => {
    const [item] = await firstItems(client, 'usmf');
    await client.create(CustomersV3, customer('usmf', 'US-CS-1'));
    const header = await client.create(SalesOrderHeadersV2, {
      dataAreaId: 'usmf',
      OrderingCustomerAccountNumber: 'US-CS-1',
    });
    const number = String(header.SalesOrderNumber);
    const line = (quantity: number) => ({
      kind: 'create' as const,
      entity: SalesOrderLines,
      record: {
        dataAreaId: 'usmf',
        SalesOrderNumber: number,
        ItemNumber: item,
        OrderedSalesQuantity: quantity,
      },
    });
    sandbox.control.resetCounters();
    const created = await client.changeSet([line(1), line(2)]);
    expect(sandbox.control.counters()['odata.batch']).toBe(1);
    const lots = created.map((r) => String(r?.InventoryLotId));
    expect(lots.every((l) => l !== 'undefined' && l !== '')).toBe(true);
    const key = (lot: string) => ({ dataAreaId: 'usmf', InventoryLotId: lot });

    const failing = client.changeSet([
      {
        kind: 'update',
        entity: SalesOrderLines,
        key: key(lots[0] as string),
        patch: { OrderedSalesQuantity: 9 },
      },
      { kind: 'delete', entity: SalesOrderLines, key: key(lots[1] as string) },
      { ...line(1), record: { ...line(1).record, ItemNumber: 'NO-SUCH-ITEM' } },
    ]);
    await expect(failing).rejects.toBeInstanceOf(DynamicsWriteError);
    await expect(failing).rejects.toMatchObject({
      entity: 'SalesOrderLines',
      writeOperation: 'create',
      status: 400,
    });
    expect(sandbox.control.salesOrderLines('usmf', number).map((l) => l.OrderedSalesQuantity)).toEqual([
      1, 2,
    ]);

    const answers = await client.changeSet([
      {
        kind: 'update',
        entity: SalesOrderLines,
        key: key(lots[0] as string),
        patch: { OrderedSalesQuantity: 9 },
      },
      { kind: 'delete', entity: SalesOrderLines, key: key(lots[1] as string) },
    ]);
    expect(answers).toEqual([undefined, undefined]);
    expect(sandbox.control.salesOrderLines('usmf', number).map((l) => l.OrderedSalesQuantity)).toEqual([9]);
  });

  it('reads a global entity without a company scope', async () => {
    const codes: string[] = [];
    for await (const c of client.read(Currencies, { select: ['CurrencyCode'] }))
      codes.push(String(c.CurrencyCode));
    expect(codes).toEqual(expect.arrayContaining(['EUR', 'GBP', 'USD']));
  });

  it('maps a wrong client secret, client id, tenant or audience to an AuthError with a hint', async () => {
    const { info } = sandbox;
    const cases = [
      [{ clientId: '11111111-1111-1111-1111-111111111111' }, 'AADSTS700016'],
      [{ tenantId: '22222222-2222-2222-2222-222222222222' }, 'AADSTS90002'],
      [{ environment: 'https://127.0.0.1:1' }, 'AADSTS500011'],
    ] as const;
    for (const [override, code] of cases) {
      const bad = createDynamicsClient({
        environment: info.environmentUrl,
        authorityHost: info.authorityHost,
        tenantId: info.tenantId,
        clientId: info.clientId,
        clientSecret: info.clientSecret,
        ...override,
      });
      try {
        const error = await bad.count(CustomersV3).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AuthError);
        expect((error as AuthError).errorCode).toBe(code);
        expect((error as AuthError).hint).toBeDefined();
      } finally {
        await bad.close();
      }
    }
  });

  it('maps a wrong client secret to an AuthError with a hint', async () => {
    const { info } = sandbox;
    const bad = createDynamicsClient({
      environment: info.environmentUrl,
      authorityHost: info.authorityHost,
      tenantId: info.tenantId,
      clientId: info.clientId,
      clientSecret: 'wrong-secret',
    });
    try {
      const error = await bad.count(CustomersV3, { company: 'usmf' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthError);
      expect((error as AuthError).hint).toMatch(/secret/);
      expect((error as AuthError).message).not.toContain('wrong-secret');
    } finally {
      await bad.close();
    }
  });
});
