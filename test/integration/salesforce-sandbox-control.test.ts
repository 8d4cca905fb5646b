import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { api, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

describe('Salesforce sandbox limits, faults and control surface', () => {
  let sandbox: SalesforceSandbox;
  let token: string;
  beforeAll(async () => {
    sandbox = await startSandbox({ dailyApiLimit: 1000 });
    token = await mintToken(sandbox);
  });
  afterAll(async () => {
    await sandbox.close();
  });

  const control = (method: string, path: string, body?: unknown, auth = sandbox.info.controlToken) =>
    fetch(`${sandbox.info.controlUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('answers 403 REQUEST_LIMIT_EXCEEDED with Sforce-Limit-Info once the allocation is spent', async () => {
    sandbox.control.setApiUsage({ used: 998 });
    const ok = await api(sandbox, token, 'GET', '/limits');
    expect(ok.headers.get('sforce-limit-info')).toBe('api-usage=999/1000');
    expect(ok.body).toMatchObject({ DailyApiRequests: { Max: 1000, Remaining: 1 } });
    expect((await api(sandbox, token, 'GET', '/sobjects')).status).toBe(200);
    const refused = await api(sandbox, token, 'GET', '/sobjects');
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual([
      { message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' },
    ]);
    expect(refused.headers.get('sforce-limit-info')).toBe('api-usage=1000/1000');
    sandbox.clock.advance(24 * 3600_000 + 60_000);
    const token2 = await mintToken(sandbox);
    expect((await api(sandbox, token2, 'GET', '/limits')).status).toBe(200);
    token = token2;
  });

  it('injects 503 errors, resets and token expiry by operation name', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'error', match: 'rest.query', status: 503, count: 1 }] });
    const q = `/query?q=${encodeURIComponent('SELECT Id FROM Account')}`;
    const failed = await api(sandbox, token, 'GET', q);
    expect(failed.status).toBe(503);
    expect((failed.body as { errorCode: string }[])[0]?.errorCode).toBe('SERVER_UNAVAILABLE');
    expect((await api(sandbox, token, 'GET', q)).status).toBe(200);

    sandbox.control.setFaultPlan({ rules: [{ kind: 'reset', match: 'rest.limits', count: 1 }] });
    await expect(api(sandbox, token, 'GET', '/limits')).rejects.toThrow();

    sandbox.control.setFaultPlan({ rules: [{ kind: 'token-expiry', match: 'rest.*', count: 1 }] });
    const expired = await api(sandbox, token, 'GET', q);
    expect(expired.status).toBe(401);
    expect((await api(sandbox, token, 'GET', q)).status).toBe(401);
    token = await mintToken(sandbox);
    expect((await api(sandbox, token, 'GET', q)).status).toBe(200);
    sandbox.control.setFaultPlan({ rules: [] });
  });

  it('counts calls per operation and resets the counters', async () => {
    sandbox.control.resetCounters();
    await api(sandbox, token, 'GET', '/sobjects/Account/describe');
    await api(sandbox, token, 'GET', `/query?q=${encodeURIComponent('SELECT Id FROM Account')}`);
    expect(sandbox.control.counters()).toEqual({ 'rest.describe': 1, 'rest.query': 1 });
    sandbox.control.resetCounters();
    expect(sandbox.control.counters()).toEqual({});
  });

  it('describes objects with External ID, reference and compound metadata', async () => {
    const res = await api<{ keyPrefix: string; fields: Record<string, unknown>[] }>(
      sandbox,
      token,
      'GET',
      '/sobjects/Account/describe',
    );
    expect(res.body.keyPrefix).toBe('001');
    const field = (n: string) => res.body.fields.find((f) => f.name === n);
    expect(field('D365_Customer_Key__c')).toMatchObject({
      externalId: true,
      unique: true,
      type: 'string',
      length: 80,
      idLookup: true,
    });
    expect(field('BillingCity')).toMatchObject({ compoundFieldName: 'BillingAddress' });
    expect(field('OwnerId')).toMatchObject({
      type: 'reference',
      referenceTo: ['User'],
      relationshipName: 'Owner',
    });
    expect(field('CurrencyIsoCode')).toBeUndefined();
  });

  it('acts as a sales rep over HTTP and injects GAP events', async () => {
    const changes: SandboxChange[] = [];
    const stop = sandbox.changeFeed.subscribe((c) => changes.push(c));
    expect((await control('POST', '/accounts', { Name: 'x' }, 'wrong')).status).toBe(401);
    const created = await control('POST', '/accounts', { fields: { Name: 'Rep account' } });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    expect(changes.at(-1)).toMatchObject({ changeType: 'CREATE', changeOrigin: '', recordIds: [id] });
    const bad = await control('POST', '/opportunities', { accountId: id });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('name must be a non-empty string');
    const gap = await control('POST', '/changes/gap', {
      entityName: 'Account',
      changeType: 'GAP_UPDATE',
      recordIds: [id],
    });
    expect(gap.status).toBe(200);
    expect(changes.at(-1)).toMatchObject({ changeType: 'GAP_UPDATE', recordIds: [id], changedFields: [] });
    await control('POST', '/changes/gap', { entityName: 'Account', changeType: 'GAP_OVERFLOW' });
    expect(changes.at(-1)).toMatchObject({ changeType: 'GAP_OVERFLOW', recordIds: [] });
    const usage = await control('PUT', '/api-usage', { used: 5 });
    expect(await usage.json()).toMatchObject({ used: 5, max: 1000 });
    const query = await control('GET', `/query?q=${encodeURIComponent('SELECT Name FROM Account')}`);
    expect(((await query.json()) as { records: { Name: string }[] }).records.map((r) => r.Name)).toContain(
      'Rep account',
    );
    stop();
  });
});
