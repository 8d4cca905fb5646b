import { describe, expect, it } from 'vitest';
import type { Rec } from '#sandbox/dynamics/data.ts';
import { createDatabase, ENTITY_SETS, type EntitySetDef } from '#sandbox/dynamics/entities.ts';
import { parseQueryString, parseReadQuery, ReadEngine } from '#sandbox/dynamics/query.ts';
import { EntityStore, type VirtualBlock } from '#sandbox/dynamics/store.ts';

const customers = ENTITY_SETS.CustomersV3 as EntitySetDef;

/** A virtual block of `count` customers in `company` that counts how often records are generated. */
function countingBlock(company: string, count: number, generated: { n: number }): VirtualBlock {
  const account = (i: number) => `C-${String(i + 1).padStart(7, '0')}`;
  return {
    company,
    count,
    keyAt: (i) => [company, account(i)],
    recordAt: (i) => {
      generated.n += 1;
      return {
        dataAreaId: company,
        CustomerAccount: account(i),
        OrganizationName: `Org ${i}`,
        CustomerGroupId: String(i % 3),
      };
    },
    indexOf: (key) => {
      const m = /^c-(\d{7})$/.exec((key[1] ?? '').toLowerCase());
      const i = m ? Number(m[1]) - 1 : -1;
      return i >= 0 && i < count ? i : undefined;
    },
  };
}

const accounts = (it: Iterable<{ rec: Rec }>) =>
  [...it].map((s) => `${s.rec.dataAreaId}/${s.rec.CustomerAccount}`);

describe('EntityStore', () => {
  it('merges created records into key order and hides deleted ones', () => {
    const generated = { n: 0 };
    const store = new EntityStore(
      ['dataAreaId', 'CustomerAccount'],
      [countingBlock('usmf', 3, generated), countingBlock('demf', 2, generated)],
    );
    store.insert({ dataAreaId: 'usmf', CustomerAccount: 'C-0000001A' });
    store.insert({ dataAreaId: 'gbsi', CustomerAccount: 'A-1' });
    store.remove(['USMF', 'c-0000002']);
    expect(accounts(store.scan(undefined))).toEqual([
      'demf/C-0000001',
      'demf/C-0000002',
      'gbsi/A-1',
      'usmf/C-0000001',
      'usmf/C-0000001A',
      'usmf/C-0000003',
    ]);
    expect(accounts(store.scan(new Set(['usmf']), 'usmf\u0000c-0000001'))).toEqual([
      'usmf/C-0000001A',
      'usmf/C-0000003',
    ]);
  });

  it('undoes every change of a rolled-back transaction', () => {
    const store = new EntityStore(['dataAreaId', 'CustomerAccount'], [countingBlock('usmf', 3, { n: 0 })]);
    store.insert({ dataAreaId: 'usmf', CustomerAccount: 'X-1' });
    const before = accounts(store.scan(undefined));
    store.begin();
    store.insert({ dataAreaId: 'usmf', CustomerAccount: 'X-2' });
    store.remove(['usmf', 'X-1']);
    store.remove(['usmf', 'C-0000002']);
    store.replace({ dataAreaId: 'usmf', CustomerAccount: 'C-0000003', OrganizationName: 'Changed' });
    store.rollback();
    expect(accounts(store.scan(undefined))).toEqual(before);
    expect(store.get(['usmf', 'C-0000003'])?.rec.OrganizationName).toBe('Org 2');
  });

  it('finds records case-insensitively and refuses duplicate keys', () => {
    const store = new EntityStore(['dataAreaId', 'CustomerAccount'], [countingBlock('usmf', 5, { n: 0 })]);
    expect(store.get(['USMF', 'c-0000004'])?.rec.CustomerAccount).toBe('C-0000004');
    expect(store.insert({ dataAreaId: 'usmf', CustomerAccount: 'C-0000004' })).toBeUndefined();
    const before = store.get(['usmf', 'C-0000004'])?.version;
    store.replace({ dataAreaId: 'usmf', CustomerAccount: 'C-0000004', OrganizationName: 'Changed' });
    expect(store.get(['usmf', 'C-0000004'])).toMatchObject({ rec: { OrganizationName: 'Changed' } });
    expect(store.get(['usmf', 'C-0000004'])?.version).not.toBe(before);
  });
});

describe('ReadEngine', () => {
  it('generates each record once when a client follows every nextLink (O(N) paging)', () => {
    const generated = { n: 0 };
    const store = new EntityStore(customers.keys, [
      countingBlock('usmf', 120_000, generated),
      countingBlock('demf', 80_000, generated),
    ]);
    const engine = new ReadEngine();
    let skip = 0;
    let total = 0;
    let pages = 0;
    for (;;) {
      const query = parseReadQuery(
        parseQueryString(`cross-company=true${skip ? `&$skip=${skip}` : ''}`),
        customers,
      );
      const page = engine.read(customers, store, query, 'usmf', 10_000);
      total += page.records.length;
      pages += 1;
      if (page.nextSkip === undefined) break;
      skip = page.nextSkip;
    }
    expect([total, pages]).toEqual([200_000, 20]);
    // One extra record per page is generated to learn whether another page exists.
    expect(generated.n).toBeLessThanOrEqual(200_000 + pages);
  });

  it('continues after the last key returned when a write lands between pages', () => {
    const generated = { n: 0 };
    const store = new EntityStore(customers.keys, [countingBlock('usmf', 50_000, generated)]);
    const engine = new ReadEngine();
    const page = (skip: number) =>
      engine.read(
        customers,
        store,
        parseReadQuery(parseQueryString(skip ? `$skip=${skip}` : ''), customers),
        'usmf',
        10_000,
      );
    const first = page(0);
    store.insert({ dataAreaId: 'usmf', CustomerAccount: 'A-0' });
    generated.n = 0;
    const second = page(first.nextSkip ?? 0);
    expect(second.records[0]?.rec.CustomerAccount).toBe('C-0010001');
    expect(generated.n).toBeLessThanOrEqual(10_001);
  });

  it('seeks OR-chains of keys by key, with the same result as a scan', () => {
    const generated = { n: 0 };
    const store = new EntityStore(customers.keys, [
      countingBlock('demf', 100_000, generated),
      countingBlock('usmf', 100_000, generated),
    ]);
    const chain = [7, 99_999, 3, 3, 250_000]
      .map((i) => `(dataAreaId eq 'DEMF' and CustomerAccount eq 'C-${String(i).padStart(7, '0')}')`)
      .join(' or ');
    const read = (filter: string) =>
      new ReadEngine().read(
        customers,
        store,
        parseReadQuery(
          parseQueryString(`cross-company=true&$count=true&$filter=${encodeURIComponent(filter)}`),
          customers,
        ),
        'usmf',
        10_000,
      );
    const sought = read(chain);
    expect(generated.n).toBeLessThan(10);
    expect(sought.records.map((s) => s.rec.CustomerAccount)).toEqual(['C-0000003', 'C-0000007', 'C-0099999']);
    expect(sought.count).toBe(3);
    // An or-ed clause that is not a key comparison forces a scan; the answer is the same.
    const scanned = read(`(${chain}) or OrganizationName eq 'nobody'`);
    expect(generated.n).toBeGreaterThan(100_000);
    expect(scanned.records.map((s) => s.rec.CustomerAccount)).toEqual([
      'C-0000003',
      'C-0000007',
      'C-0099999',
    ]);
  });

  it('honours a client-chosen $skip without a cursor', () => {
    const store = new EntityStore(customers.keys, [countingBlock('usmf', 50, { n: 0 })]);
    // 33 of the 50 records have a group other than '1'; skipping 30 leaves the last three.
    const query = parseReadQuery(parseQueryString(`$skip=30&$filter=CustomerGroupId%20ne%20'1'`), customers);
    const page = new ReadEngine().read(customers, store, query, 'usmf', 10_000);
    expect(page.records.map((s) => s.rec.CustomerAccount)).toEqual(['C-0000046', 'C-0000048', 'C-0000049']);
    expect(page.nextSkip).toBeUndefined();
  });
});

describe('createDatabase', () => {
  it('generates the same data for the same seed and different data for another', () => {
    const a = createDatabase({ seed: 5, customers: 100, products: 50, salesOrders: 10 });
    const b = createDatabase({ seed: 5, customers: 100, products: 50, salesOrders: 10 });
    const c = createDatabase({ seed: 6, customers: 100, products: 50, salesOrders: 10 });
    const names = (db: typeof a) =>
      [...(db.stores.CustomersV3?.scan(undefined) ?? [])].map((s) => s.rec.OrganizationName);
    expect(names(a)).toEqual(names(b));
    expect(names(a)).not.toEqual(names(c));
    const orders = (db: typeof a) =>
      [...(db.stores.SalesOrderLines?.scan(undefined) ?? [])].map((s) => s.rec);
    expect(orders(a)).toEqual(orders(b));
  });

  it('seeds orders whose lines reference existing customers and products of the same legal entity', () => {
    const db = createDatabase({ seed: 2, customers: 300, products: 60, salesOrders: 40 });
    const headers = [...(db.stores.SalesOrderHeadersV2?.scan(undefined) ?? [])];
    expect(headers).toHaveLength(40);
    for (const { rec } of headers) {
      expect(
        db.stores.CustomersV3?.get([String(rec.dataAreaId), String(rec.OrderingCustomerAccountNumber)]),
      ).toBeDefined();
    }
    for (const { rec } of db.stores.SalesOrderLines?.scan(undefined) ?? []) {
      expect(
        db.stores.ReleasedProductsV2?.get([String(rec.dataAreaId), String(rec.ItemNumber)]),
      ).toBeDefined();
      expect(
        db.stores.SalesOrderHeadersV2?.get([String(rec.dataAreaId), String(rec.SalesOrderNumber)]),
      ).toBeDefined();
    }
  });
});
