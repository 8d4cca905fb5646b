import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiBudgetError, SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import { soql } from '#core/ports/salesforce/soql.ts';
import { createApiBudget } from '#salesforce/budget.ts';
import {
  createSalesforceClient,
  type SalesforceClient,
  type SalesforceClientOptions,
} from '#salesforce/rest.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '#sandbox/salesforce/index.ts';

function clientFor(
  sandbox: SalesforceSandbox,
  extra: Partial<SalesforceClientOptions> = {},
): SalesforceClient {
  return createSalesforceClient({
    myDomainUrl: sandbox.info.myDomainUrl,
    clientId: sandbox.info.clientId,
    clientSecret: sandbox.info.clientSecret,
    budget: createApiBudget({ reserveCalls: 0 }),
    ...extra,
  });
}

const KEY = 'D365_Customer_Key__c';

describe('Salesforce client against the sandbox org', () => {
  let sandbox: SalesforceSandbox;
  const clients: SalesforceClient[] = [];
  const track = (c: SalesforceClient) => {
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    sandbox.control.setFaultPlan({ rules: [] });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('mints at My Domain and sends REST to instance_url, a different origin', async () => {
    const client = track(clientFor(sandbox));
    const session = await client.tokenSource.getSession();
    expect(session.instanceUrl).toBe(sandbox.info.instanceUrl);
    expect(session.orgId).toBe(sandbox.info.orgId);
    const limits = await client.limits();
    expect(limits.DailyApiRequests.Max).toBe(100_000);
    const hosts = client.counter.snapshot().byHost;
    expect(hosts[new URL(sandbox.info.myDomainUrl).host]).toBe(1);
    expect(hosts[new URL(sandbox.info.instanceUrl).host]).toBe(1);
    expect(client.budget.state().max).toBe(100_000);
  });

  it('re-mints exactly once when the session times out on the sandbox clock', async () => {
    const client = track(clientFor(sandbox));
    await client.limits();
    sandbox.clock.advance(3 * 3600_000);
    const limits = await client.limits();
    expect(limits.DailyApiRequests.Remaining).toBeGreaterThan(0);
    expect(client.counter.snapshot().byOperation).toMatchObject({ 'oauth.token': 2, 'rest.limits': 3 });
  });

  it('re-mints exactly once for concurrent calls hit by a revoked token', async () => {
    const client = track(clientFor(sandbox));
    await client.limits();
    sandbox.control.setFaultPlan({ rules: [{ kind: 'token-expiry', match: 'rest.limits', count: 1 }] });
    await Promise.all(Array.from({ length: 5 }, () => client.limits()));
    expect(client.counter.snapshot().byOperation['oauth.token']).toBe(2);
  });

  it('pages a query of more than 2,000 records with batchSize 200, one call per page', async () => {
    const city = `Pagetown-${Date.now()}`;
    for (let i = 0; i < 2_150; i++)
      sandbox.control.insert('Account', { Name: `Page ${i}`, BillingCity: city });
    const client = track(clientFor(sandbox));
    await client.tokenSource.getSession();
    client.counter.reset();
    let pages = 0;
    let records = 0;
    for await (const page of client.queryPages(
      soql`SELECT Id, Name FROM Account WHERE BillingCity = ${city}`,
      { batchSize: 200 },
    )) {
      pages += 1;
      records += page.records.length;
      expect(page.records.length).toBeLessThanOrEqual(200);
    }
    expect(records).toBe(2_150);
    expect(pages).toBe(11);
    const ops = client.counter.snapshot().byOperation;
    expect((ops['rest.query'] ?? 0) + (ops['rest.queryMore'] ?? 0)).toBe(pages);
  });

  it('returns what was stored for a hostile string through the escaping', async () => {
    const name = `O'Brien \\ "x" \n\t% _ 😀 ${Date.now()}`;
    const id = sandbox.control.insert('Account', { Name: name });
    const client = track(clientFor(sandbox));
    const found = [];
    for await (const r of client.query<{ Id: string }>(soql`SELECT Id FROM Account WHERE Name = ${name}`))
      found.push(r.Id);
    expect(found).toEqual([id]);
  });

  it('upserts 450 Accounts via Collections with per-record results mapped back, then updates on re-run', async () => {
    const run = Date.now();
    const bad = new Set([7, 201, 333]);
    const records = Array.from({ length: 450 }, (_, i) => ({
      [KEY]: `C-${run}-${i}`,
      Name: bad.has(i) ? 'x'.repeat(300) : `Customer ${i}`,
      Phone: `+1 555 ${String(i).padStart(4, '0')}`,
    }));
    const origins: string[] = [];
    const stop = sandbox.changeFeed.subscribe((c) => origins.push(c.changeOrigin));
    const client = track(clientFor(sandbox));
    const first = await client.upsert('Account', KEY, records);
    stop();
    expect(first.filter((r) => r.outcome === 'failed').map((r) => r.index)).toEqual([7, 201, 333]);
    expect(first[7]?.errors?.[0]).toMatchObject({ statusCode: 'STRING_TOO_LONG', fields: ['Name'] });
    expect(first.filter((r) => r.outcome === 'created')).toHaveLength(447);
    expect(first.every((r, i) => r.index === i && r.key === `C-${run}-${i}`)).toBe(true);
    expect(client.counter.snapshot().byOperation['rest.collections.upsert']).toBe(3);
    expect(origins.length).toBeGreaterThan(0);
    expect(origins.every((o) => o.includes('client=ml-connector'))).toBe(true);
    const stored = sandbox.control.get('Account', first[10]?.id as string);
    expect(stored).toMatchObject({ Name: 'Customer 10', [KEY]: `C-${run}-10` });

    const second = await client.upsert('Account', KEY, records);
    expect(second.filter((r) => r.outcome === 'updated')).toHaveLength(447);
    expect(second.map((r) => r.id)).toEqual(first.map((r) => r.id));
  });

  it('retries an upsert chunk after a 503 and keeps going', async () => {
    sandbox.control.setFaultPlan({
      rules: [{ kind: 'error', status: 503, match: 'rest.composite', count: 1 }],
    });
    const client = track(clientFor(sandbox, { http: { retry: { baseDelayMs: 10 } } }));
    const run = Date.now();
    const results = await client.upsert('Account', KEY, [{ [KEY]: `R-${run}`, Name: 'Retry me' }]);
    expect(results[0]?.outcome).toBe('created');
    expect(client.counter.snapshot().retries).toBe(1);
  });

  it('sends repeated keys in separate rounds so the last input wins', async () => {
    const key = `DUP-${Date.now()}`;
    const client = track(clientFor(sandbox));
    const results = await client.upsert('Account', KEY, [
      { [KEY]: key, Name: 'first' },
      { [KEY]: key.toLowerCase(), Name: 'second' },
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['created', 'updated']);
    expect(sandbox.control.get('Account', results[0]?.id as string)).toMatchObject({ Name: 'second' });
  });

  it('describes Account and checks External ID fields', async () => {
    const client = track(clientFor(sandbox));
    expect(await client.checkExternalIdField('Account', KEY)).toMatchObject({ ok: true });
    expect(await client.checkExternalIdField('Account', 'D365_Legal_Entity__c')).toMatchObject({
      ok: false,
      problem: 'not-external-id',
    });
    expect(await client.checkExternalIdField('Account', 'Nope__c')).toMatchObject({
      ok: false,
      problem: 'field-missing',
    });
    expect(await client.checkExternalIdField('Nope__c', KEY)).toMatchObject({
      ok: false,
      problem: 'object-missing',
    });
    const product = await client.describe('Product2');
    expect(product?.field('D365_Item_Key__c')).toMatchObject({
      externalId: true,
      unique: true,
      type: 'string',
    });
  });

  it('writes back one field by Id and reads it', async () => {
    const client = track(clientFor(sandbox));
    const id = await client.create('Account', { Name: `Writeback ${Date.now()}` });
    await client.update('Account', id, { [KEY]: `WB-${id}` });
    expect(await client.get('Account', id, { fields: ['Id', KEY] })).toMatchObject({ [KEY]: `WB-${id}` });
    const error = await client.create('Account', { Phone: '1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect(error).toMatchObject({ status: 400, errorCode: 'REQUIRED_FIELD_MISSING' });
  });
});

describe('Salesforce client API budget against the sandbox org', () => {
  let sandbox: SalesforceSandbox;
  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ dailyApiLimit: 40 });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('stops before the reserve is touched, then cools down after 403 REQUEST_LIMIT_EXCEEDED', async () => {
    const budget = createApiBudget({ reserveCalls: 10 });
    const client = clientFor(sandbox, { budget });
    let error: unknown;
    let calls = 0;
    while (calls < 100) {
      try {
        await client.limits();
        calls += 1;
      } catch (e) {
        error = e;
        break;
      }
    }
    expect(error).toBeInstanceOf(ApiBudgetError);
    expect(error).toMatchObject({ reason: 'reserve', max: 40, reserve: 10 });
    expect(sandbox.control.apiUsage()).toMatchObject({ used: 30, remaining: 10 });
    expect(calls).toBe(30);

    // Someone else spends the rest: Salesforce answers 403 and the client stops calling.
    sandbox.control.setApiUsage({ used: 40 });
    const greedy = clientFor(sandbox, { budget: createApiBudget({ reserveCalls: 0 }) });
    const limited = await greedy.limits().catch((e: unknown) => e);
    expect(limited).toMatchObject({ reason: 'limit-exceeded' });
    sandbox.control.resetCounters();
    const paused = await greedy.limits().catch((e: unknown) => e);
    expect(paused).toMatchObject({ reason: 'cooldown' });
    expect(sandbox.control.counters()['rest.limits'] ?? 0).toBe(0);
    await Promise.all([client.close(), greedy.close()]);
  });
});
