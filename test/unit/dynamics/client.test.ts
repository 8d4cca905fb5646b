import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, ValidationError } from '#base/errors.ts';
import { Currencies, CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { DynamicsResponseError, DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { createDynamicsClient, type DynamicsClient } from '#dynamics/client.ts';

const origin = 'https://contoso.operations.dynamics.com';
const json = { headers: { 'content-type': 'application/json; odata.metadata=minimal' } };

describe('createDynamicsClient', () => {
  let agent: MockAgent;
  let waits: number[];
  let client: DynamicsClient;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    waits = [];
    client = createDynamicsClient({
      environment: 'Contoso.operations.dynamics.com/',
      tenantId: 'contoso.onmicrosoft.com',
      clientId: 'app',
      clientSecret: 'secret',
      auth: { headers: async () => ({ authorization: 'Bearer t' }) },
      http: {
        dispatcher: agent,
        random: () => 0.5,
        sleep: async (ms) => {
          waits.push(ms);
        },
      },
    });
  });
  afterEach(async () => {
    await client.close();
    await agent.close();
  });

  const pool = () => agent.get(origin);

  it('follows every nextLink exactly as given until there is none', async () => {
    const next1 = `${origin}/data/CustomersV3?cross-company=true&$skip=2`;
    const next2 = `${origin}/data/CustomersV3?cross-company=true&$skip=4`;
    // MockAgent normalises the query string before matching, so match on the decoded options.
    const reply = (skip: string | null, body: object) =>
      pool()
        .intercept({
          path: (p) => {
            const q = new URLSearchParams(p.split('?')[1]);
            return (
              p.startsWith('/data/CustomersV3?') &&
              q.get('cross-company') === 'true' &&
              q.get('$skip') === skip
            );
          },
          method: 'GET',
        })
        .reply(200, body, json);
    reply(null, { value: [{ n: 1 }, { n: 2 }], '@odata.nextLink': next1 });
    reply('2', { value: [{ n: 3 }, { n: 4 }], '@odata.nextLink': next2 });
    reply('4', { value: [{ n: 5 }] });
    const records = [];
    for await (const r of client.read(CustomersV3, { company: { crossCompany: true } })) records.push(r.n);
    expect(records).toEqual([1, 2, 3, 4, 5]);
    expect(client.counter.snapshot().byOperation).toEqual({ 'odata.read': 3 });
  });

  it('refuses a nextLink that leaves the environment, so the token never goes elsewhere', async () => {
    pool()
      .intercept({ path: '/data/Currencies', method: 'GET' })
      .reply(200, { value: [], '@odata.nextLink': 'https://evil.example.com/data/Currencies?$skip=1' }, json);
    const pages = client.readPages(Currencies);
    await expect(pages[Symbol.asyncIterator]().next()).rejects.toThrow(DynamicsResponseError);
  });

  it('reports an HTML answer and a body without value as bad responses', async () => {
    pool()
      .intercept({ path: '/data/Currencies', method: 'GET' })
      .reply(200, '<html>Sign in</html>', { headers: { 'content-type': 'text/html' } });
    pool().intercept({ path: '/data/Currencies', method: 'GET' }).reply(200, { result: [] }, json);
    const first = async () => {
      for await (const _ of client.read(Currencies)) return;
    };
    await expect(first()).rejects.toThrow(/expected JSON, got text\/html/);
    await expect(first()).rejects.toThrow(/not an OData collection/);
  });

  it('honours Retry-After on 429 (through the HTTP layer) and succeeds', async () => {
    pool()
      .intercept({ path: '/data/Currencies', method: 'GET' })
      .reply(429, '', { headers: { 'retry-after': '2' } });
    pool()
      .intercept({ path: '/data/Currencies', method: 'GET' })
      .reply(200, { value: [{ CurrencyCode: 'EUR' }] }, json);
    const all = [];
    for await (const r of client.read(Currencies)) all.push(r);
    expect(all).toHaveLength(1);
    expect(waits).toEqual([2000]);
  });

  it('waits 30 s on a 429 without Retry-After', async () => {
    pool().intercept({ path: '/data/Currencies', method: 'GET' }).reply(429, '');
    pool().intercept({ path: '/data/Currencies', method: 'GET' }).reply(200, { value: [] }, json);
    for await (const _ of client.read(Currencies)) {
      // drain
    }
    expect(waits).toEqual([30_000]);
  });

  it('gets a record by key with cross-company and returns undefined on 404', async () => {
    pool()
      .intercept({
        path: "/data/CustomersV3(dataAreaId='demf',CustomerAccount='DE-001')?cross-company=true",
        method: 'GET',
      })
      .reply(200, { dataAreaId: 'demf', CustomerAccount: 'DE-001' }, json);
    pool()
      .intercept({
        path: "/data/CustomersV3(dataAreaId='demf',CustomerAccount='NOPE')?cross-company=true",
        method: 'GET',
      })
      .reply(404, { error: { code: '', message: 'Resource not found' } }, json);
    expect(await client.get(CustomersV3, { dataAreaId: 'DEMF', CustomerAccount: 'DE-001' })).toMatchObject({
      CustomerAccount: 'DE-001',
    });
    expect(await client.get(CustomersV3, { dataAreaId: 'demf', CustomerAccount: 'NOPE' })).toBeUndefined();
  });

  it('gets a key containing a slash by path, double-encoded so IIS routing keeps it whole', async () => {
    pool()
      .intercept({
        path: (p) => p.startsWith("/data/CustomersV3(dataAreaId='usmf',CustomerAccount='A%252FB')"),
        method: 'GET',
      })
      .reply(200, { dataAreaId: 'usmf', CustomerAccount: 'A/B' }, json);
    expect(await client.get(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A/B' })).toMatchObject({
      CustomerAccount: 'A/B',
    });
  });

  it('reads by keys in one call and reports the missing ones', async () => {
    pool()
      .intercept({
        path: (p) =>
          new URLSearchParams(p.split('?')[1]).get('$filter') ===
          "dataAreaId eq 'usmf' and (CustomerAccount eq 'O''Neil' or CustomerAccount eq 'GONE')",
        method: 'GET',
      })
      .reply(
        200,
        // F&O compares keys case-insensitively and returns its own casing.
        { value: [{ dataAreaId: 'usmf', CustomerAccount: "O'NEIL" }] },
        json,
      );
    const result = await client.readByKeys(CustomersV3, [
      { dataAreaId: 'USMF', CustomerAccount: "O'Neil" },
      { dataAreaId: 'usmf', CustomerAccount: 'GONE' },
    ]);
    expect([...result.found.keys()]).toEqual(["CustomersV3(dataAreaId='usmf',CustomerAccount='O''Neil')"]);
    expect(result.missing).toEqual([{ dataAreaId: 'usmf', CustomerAccount: 'GONE' }]);
    expect(result.requests).toBe(1);
  });

  it('counts with $count=true and $top=0', async () => {
    pool()
      .intercept({
        path: (p) => {
          const q = new URLSearchParams(p.split('?')[1]);
          return (
            q.get('$count') === 'true' && q.get('$top') === '0' && q.get('$filter') === "dataAreaId eq 'usmf'"
          );
        },
        method: 'GET',
      })
      .reply(200, { '@odata.count': 1234, value: [] }, json);
    expect(await client.count(CustomersV3, { company: 'usmf' })).toBe(1234);
  });

  it('creates a record and returns the created entity', async () => {
    pool()
      .intercept({ path: '/data/CustomersV3?cross-company=true', method: 'POST' })
      .reply(201, { dataAreaId: 'usmf', CustomerAccount: 'US-900', '@odata.etag': 'W/"x"' }, json);
    const created = await client.create(CustomersV3, { dataAreaId: 'USMF', CustomerAccount: 'US-900' });
    expect(created['@odata.etag']).toBe('W/"x"');
  });

  it('surfaces the Infolog of a failed create and recognises a duplicate', async () => {
    const body = (infolog: string) => ({
      error: {
        code: '',
        message: 'An error has occurred.',
        innererror: {
          message: `Write failed for table row of type 'CustCustomerV3Entity'. Infolog: ${infolog}`,
          type: 'Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException',
        },
      },
    });
    pool()
      .intercept({ path: '/data/CustomersV3?cross-company=true', method: 'POST' })
      .reply(400, body('Error: Customer group 99 does not exist.'), json);
    pool()
      .intercept({ path: '/data/CustomersV3?cross-company=true', method: 'POST' })
      .reply(500, body('Error: The record already exists.'), json);
    const e1 = await client
      .create(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' })
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(DynamicsWriteError);
    expect(e1).toMatchObject({
      status: 400,
      infolog: 'Error: Customer group 99 does not exist.',
      isDuplicate: false,
    });
    expect((e1 as DynamicsWriteError).key).toBe("CustomersV3(dataAreaId='usmf',CustomerAccount='A')");
    const e2 = await client
      .create(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' })
      .catch((e: unknown) => e);
    expect(e2).toMatchObject({ isDuplicate: true });
    expect(client.counter.snapshot().byOperation).toEqual({ 'odata.create': 2 });
  });

  it('never replays a create after a 503', async () => {
    pool().intercept({ path: '/data/CustomersV3?cross-company=true', method: 'POST' }).reply(503, 'busy');
    const e = await client
      .create(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(client.counter.snapshot().total).toBe(1);
  });

  it('refuses a create without dataAreaId for a company-specific entity', async () => {
    await expect(client.create(CustomersV3, { CustomerAccount: 'A' })).rejects.toThrow(ValidationError);
  });

  it('updates with PATCH and If-Match, and refuses a key change', async () => {
    pool()
      .intercept({
        path: "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='A')?cross-company=true",
        method: 'PATCH',
        headers: { 'if-match': 'W/"abc"' },
        body: '{"OrganizationName":"New"}',
      })
      .reply(204, '');
    await client.update(
      CustomersV3,
      { dataAreaId: 'usmf', CustomerAccount: 'A' },
      { OrganizationName: 'New' },
      { ifMatch: 'W/"abc"' },
    );
    await expect(
      client.update(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' }, { CustomerAccount: 'B' }),
    ).rejects.toThrow(/cannot be changed/);
  });

  it('deletes and reports whether the record existed', async () => {
    const path = "/data/CustomersV3(dataAreaId='usmf',CustomerAccount='A')?cross-company=true";
    pool().intercept({ path, method: 'DELETE' }).reply(204, '');
    pool().intercept({ path, method: 'DELETE' }).reply(404, '');
    expect(await client.delete(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' })).toBe(true);
    expect(await client.delete(CustomersV3, { dataAreaId: 'usmf', CustomerAccount: 'A' })).toBe(false);
    expect(client.counter.snapshot().byOperation).toEqual({ 'odata.delete': 2 });
  });

  it('refuses a host that is not an F&O environment', () => {
    expect(() =>
      createDynamicsClient({
        environment: 'http://example.com',
        tenantId: 't.com',
        clientId: 'a',
        clientSecret: 'b',
      }),
    ).toThrow(/expected an https F&O environment/);
  });
});
