import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { api, mintToken, startSandbox } from './salesforce-sandbox-helpers.ts';

describe('Salesforce sandbox OAuth client credentials', () => {
  let sandbox: SalesforceSandbox;
  beforeAll(async () => {
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox.close();
  });

  const tokenRequest = (origin: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${origin}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body),
    });

  it('returns the Salesforce token body without expires_in or refresh_token', async () => {
    const res = await tokenRequest(sandbox.info.myDomainUrl, {
      grant_type: 'client_credentials',
      client_id: sandbox.info.clientId,
      client_secret: sandbox.info.clientSecret,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<
      'access_token' | 'id' | 'instance_url' | 'issued_at' | 'token_type',
      string
    >;
    expect(Object.keys(body).sort()).toEqual(
      [
        'access_token',
        'api_instance_url',
        'id',
        'instance_url',
        'issued_at',
        'scope',
        'signature',
        'token_type',
      ].sort(),
    );
    expect(body.token_type).toBe('Bearer');
    expect(body.issued_at).toMatch(/^\d{13}$/);
    expect(body.access_token.startsWith(`${sandbox.info.orgId.slice(0, 15)}!`)).toBe(true);
    expect(body.id).toMatch(
      new RegExp(`^https://login\\.salesforce\\.com/id/${sandbox.info.orgId}/005[A-Za-z0-9]{15}$`),
    );
    expect(body.instance_url).toBe(sandbox.info.instanceUrl);
    expect(new URL(body.instance_url).origin).not.toBe(new URL(sandbox.info.myDomainUrl).origin);
    expect(sandbox.verifyAccessToken(body.access_token)?.orgId).toBe(sandbox.info.orgId);
  });

  it('accepts HTTP Basic client authentication with only grant_type in the body', async () => {
    const basic = Buffer.from(`${sandbox.info.clientId}:${sandbox.info.clientSecret}`).toString('base64');
    const res = await tokenRequest(
      sandbox.info.myDomainUrl,
      { grant_type: 'client_credentials' },
      { authorization: `Basic ${basic}` },
    );
    expect(res.status).toBe(200);
  });

  it('rejects a wrong secret with invalid_client', async () => {
    const res = await tokenRequest(sandbox.info.myDomainUrl, {
      grant_type: 'client_credentials',
      client_id: sandbox.info.clientId,
      client_secret: 'wrong',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_client',
      error_description: 'invalid client credentials',
    });
  });

  it('rejects an unknown client id and an unsupported grant type', async () => {
    const unknown = await tokenRequest(sandbox.info.myDomainUrl, {
      grant_type: 'client_credentials',
      client_id: 'nope',
      client_secret: sandbox.info.clientSecret,
    });
    expect(await unknown.json()).toEqual({
      error: 'invalid_client_id',
      error_description: 'client identifier invalid',
    });
    const grant = await tokenRequest(sandbox.info.myDomainUrl, { grant_type: 'password' });
    expect(((await grant.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  it('refuses the token endpoint on the instance origin with invalid_grant', async () => {
    const res = await tokenRequest(sandbox.info.instanceUrl, {
      grant_type: 'client_credentials',
      client_id: sandbox.info.clientId,
      client_secret: sandbox.info.clientSecret,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_grant',
      error_description: 'request not supported on this domain',
    });
  });

  it('answers 401 INVALID_SESSION_ID once the clock passes the session timeout', async () => {
    const token = await mintToken(sandbox);
    expect((await api(sandbox, token, 'GET', '/limits')).status).toBe(200);
    sandbox.clock.advance(2 * 3600_000 + 1000);
    const res = await api(sandbox, token, 'GET', '/limits');
    expect(res.status).toBe(401);
    expect(res.body).toEqual([{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    expect(sandbox.verifyAccessToken(token)).toBeUndefined();
  });

  it('answers 401 for a missing or made-up token', async () => {
    expect((await api(sandbox, 'garbage', 'GET', '/limits')).status).toBe(401);
    const res = await fetch(`${sandbox.info.instanceUrl}/services/data/v63.0/limits`);
    expect(res.status).toBe(401);
  });

  it('serves the identity URL path and userinfo on My Domain for a valid token', async () => {
    const token = await mintToken(sandbox);
    const tokenBody = await (
      await tokenRequest(sandbox.info.myDomainUrl, {
        grant_type: 'client_credentials',
        client_id: sandbox.info.clientId,
        client_secret: sandbox.info.clientSecret,
      })
    ).json();
    const idPath = new URL((tokenBody as { id: string }).id).pathname;
    const res = await fetch(`${sandbox.info.myDomainUrl}${idPath}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ organization_id: sandbox.info.orgId, active: true });
    const denied = await fetch(`${sandbox.info.myDomainUrl}/services/oauth2/userinfo`, {
      headers: { authorization: 'Bearer nope' },
    });
    expect(denied.status).toBe(403);
  });

  it('serves the version list without authentication or Sforce-Limit-Info', async () => {
    const res = await fetch(`${sandbox.info.instanceUrl}/services/data`);
    expect(res.status).toBe(200);
    expect(res.headers.get('sforce-limit-info')).toBeNull();
    expect(await res.json()).toContainEqual({
      label: "Spring '25",
      url: '/services/data/v63.0',
      version: '63.0',
    });
  });

  it('lets jsforce log in with client credentials and call the instance it was given', async () => {
    const conn = new jsforce.Connection({
      oauth2: {
        loginUrl: sandbox.info.myDomainUrl,
        clientId: sandbox.info.clientId,
        clientSecret: sandbox.info.clientSecret,
      },
      version: '63.0',
    });
    const user = await conn.authorize({ grant_type: 'client_credentials' });
    expect(user.organizationId).toBe(sandbox.info.orgId);
    expect(conn.instanceUrl).toBe(sandbox.info.instanceUrl);
    const limits = await conn.limits();
    expect(limits.DailyApiRequests?.Max).toBe(100_000);
  });
});
