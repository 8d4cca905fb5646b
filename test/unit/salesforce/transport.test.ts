import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiBudgetError, SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import {
  DATA,
  headerOf,
  INSTANCE,
  limitInfo,
  MY_DOMAIN,
  newAgent,
  serveTokens,
  testClient,
  tokenBody,
} from './support.ts';

describe('Salesforce REST transport', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = newAgent();
  });
  afterEach(async () => {
    await agent.close();
  });

  it('sends REST calls to instance_url from the token answer, not to My Domain', async () => {
    serveTokens(agent);
    let auth: string | undefined;
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply((opts) => {
        auth = headerOf(opts, 'authorization');
        return {
          statusCode: 200,
          data: { DailyApiRequests: { Max: 15000, Remaining: 14000 } },
          responseOptions: { headers: limitInfo(1000) },
        };
      });
    const client = testClient(agent);
    const limits = await client.limits();
    expect(limits.DailyApiRequests).toEqual({ Max: 15000, Remaining: 14000 });
    expect(auth).toBe('Bearer tok-1');
    expect(client.counter.snapshot().byHost).toEqual({
      'acme.my.salesforce.com': 1,
      'acme-rest.salesforce.test': 1,
    });
    expect(client.budget.state()).toMatchObject({ used: 1000, max: 15000 });
  });

  it('re-mints once on 401 INVALID_SESSION_ID and replays the call', async () => {
    const tokens = serveTokens(agent);
    const seen: (string | undefined)[] = [];
    agent
      .get(INSTANCE)
      .intercept({ path: /\/query\?q=/, method: 'GET' })
      .reply<object>((opts) => {
        const auth = headerOf(opts, 'authorization');
        seen.push(auth);
        return auth === 'Bearer tok-1'
          ? {
              statusCode: 401,
              data: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
            }
          : { statusCode: 200, data: { totalSize: 0, done: true, records: [] } };
      })
      .persist();
    const client = testClient(agent);
    const rows = [];
    for await (const r of client.query('SELECT Id FROM Account')) rows.push(r);
    expect(rows).toEqual([]);
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-2']);
    expect(tokens.mints).toBe(2);
  });

  it('follows instance_url to a new instance when the re-minted session moved (org migration)', async () => {
    const moved = 'https://acme-new.salesforce.test';
    let mints = 0;
    agent
      .get(MY_DOMAIN)
      .intercept({ path: '/services/oauth2/token', method: 'POST' })
      .reply(() => {
        mints += 1;
        return { statusCode: 200, data: tokenBody(`tok-${mints}`, mints === 1 ? INSTANCE : moved) };
      })
      .persist();
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
      .persist();
    agent
      .get(moved)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(200, { DailyApiRequests: { Max: 5, Remaining: 4 } });
    const limits = await testClient(agent).limits();
    expect(limits.DailyApiRequests.Remaining).toBe(4);
    expect(mints).toBe(2);
  });

  it('fails with SalesforceApiError after a second 401 (one re-mint only)', async () => {
    const tokens = serveTokens(agent);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }])
      .persist();
    const error = await testClient(agent)
      .limits()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect(error).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
    expect(tokens.mints).toBe(2);
  });

  it('coalesces a burst of concurrent 401s into one re-mint', async () => {
    const tokens = serveTokens(agent);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply<object>((opts) =>
        headerOf(opts, 'authorization') === 'Bearer tok-1'
          ? {
              statusCode: 401,
              data: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
            }
          : { statusCode: 200, data: { DailyApiRequests: { Max: 10, Remaining: 9 } } },
      )
      .persist();
    const client = testClient(agent);
    await Promise.all(Array.from({ length: 8 }, () => client.limits()));
    expect(tokens.mints).toBe(2);
  });

  it('tags writes with Sforce-Call-Options and leaves reads untagged', async () => {
    serveTokens(agent);
    const tags: Record<string, string | undefined> = {};
    const pool = agent.get(INSTANCE);
    pool.intercept({ path: `${DATA}/sobjects/Account/001000000000001AAA`, method: 'PATCH' }).reply((opts) => {
      tags.write = headerOf(opts, 'sforce-call-options');
      return { statusCode: 204, data: '' };
    });
    pool.intercept({ path: `${DATA}/sobjects/Account/001000000000001AAA`, method: 'GET' }).reply((opts) => {
      tags.read = headerOf(opts, 'sforce-call-options');
      return { statusCode: 200, data: { Id: '001000000000001AAA' } };
    });
    const client = testClient(agent, { callOptionsClient: 'ml-connector-test' });
    await client.update('Account', '001000000000001AAA', { D365_Customer_Key__c: 'C-1' });
    await client.get('Account', '001000000000001AAA');
    expect(tags).toEqual({ write: 'client=ml-connector-test', read: undefined });
  });

  it('turns Salesforce error arrays into SalesforceApiError with code, message and fields', async () => {
    serveTokens(agent);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/sobjects/Account/`, method: 'POST' })
      .reply(400, [
        {
          message: 'Required fields are missing: [Name]',
          errorCode: 'REQUIRED_FIELD_MISSING',
          fields: ['Name'],
        },
      ]);
    const error = (await testClient(agent)
      .create('Account', { Phone: '1' })
      .catch((e: unknown) => e)) as SalesforceApiError;
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect(error).toMatchObject({
      status: 400,
      errorCode: 'REQUIRED_FIELD_MISSING',
      fields: ['Name'],
      operation: 'rest.sobject.create',
    });
    expect(error.message).toContain('Required fields are missing');
  });

  it('stops calling after 403 REQUEST_LIMIT_EXCEEDED instead of hammering', async () => {
    serveTokens(agent);
    let calls = 0;
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(() => {
        calls += 1;
        return {
          statusCode: 403,
          data: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
          responseOptions: { headers: limitInfo(15001) },
        };
      })
      .persist();
    const client = testClient(agent);
    const first = await client.limits().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ApiBudgetError);
    expect(first).toMatchObject({ reason: 'limit-exceeded' });
    expect((first as Error).cause).toBeInstanceOf(SalesforceApiError);
    const second = await client.limits().catch((e: unknown) => e);
    expect(second).toMatchObject({ reason: 'cooldown' });
    expect(calls).toBe(1);
    expect(client.budget.state().blockedReason).toBe('daily-limit');
  });

  it('refuses a call before sending it once only the reserve is left', async () => {
    serveTokens(agent);
    let calls = 0;
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(() => {
        calls += 1;
        return {
          statusCode: 200,
          data: { DailyApiRequests: { Max: 100, Remaining: 10 } },
          responseOptions: { headers: limitInfo(90, 100) },
        };
      })
      .persist();
    const client = testClient(agent, { budgetOptions: { reserveCalls: 10 } });
    await client.limits();
    const error = await client.limits().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiBudgetError);
    expect(error).toMatchObject({ reason: 'reserve', used: 90, max: 100 });
    expect(calls).toBe(1);
  });

  it('retries idempotent calls on 503 through the shared policy', async () => {
    serveTokens(agent);
    const pool = agent.get(INSTANCE);
    pool.intercept({ path: `${DATA}/limits/`, method: 'GET' }).reply(503, 'busy');
    pool
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(200, { DailyApiRequests: { Max: 1, Remaining: 1 } });
    const client = testClient(agent);
    await client.limits();
    expect(client.counter.snapshot()).toMatchObject({ retries: 1, byOperation: { 'rest.limits': 2 } });
  });

  it('submits retries to the budget too, so a retry never eats into the reserve', async () => {
    serveTokens(agent);
    const pool = agent.get(INSTANCE);
    pool
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(503, 'busy', { headers: limitInfo(90, 100) });
    pool
      .intercept({ path: `${DATA}/limits/`, method: 'GET' })
      .reply(200, { DailyApiRequests: { Max: 100, Remaining: 9 } });
    const client = testClient(agent, { budgetOptions: { reserveCalls: 10 } });
    const error = await client.limits().catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: 'reserve', operation: 'rest.limits' });
    // The retry was refused before it left: its reply is still pending.
    expect(agent.pendingInterceptors().filter((i) => i.path === `${DATA}/limits/`)).toHaveLength(1);
  });

  it('refuses an http My Domain before any call', () => {
    expect(() => testClient(agent, { myDomainUrl: 'http://acme.my.salesforce.com' })).toThrow(/https/);
    expect(MY_DOMAIN).toMatch(/^https:/);
  });
});
