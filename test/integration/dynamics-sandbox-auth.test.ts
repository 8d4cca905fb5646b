import { ConfidentialClientApplication, LogLevel } from '@azure/msal-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthError } from '#base/errors.ts';
import { createEntraAuth } from '#dynamics/auth.ts';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';

let sandbox: DynamicsSandbox;

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ customers: 30, products: 20, salesOrders: 3 });
});
afterAll(async () => {
  await sandbox?.close();
});

/** The MSAL configuration the connector's client uses against the sandbox; logs go to `log`. */
function msalApp(log: string[]): ConfidentialClientApplication {
  const { clientId, clientSecret, authorityHost, tenantId } = sandbox.info;
  return new ConfidentialClientApplication({
    auth: {
      clientId,
      clientSecret,
      authority: `${authorityHost}/${tenantId}`,
      knownAuthorities: [new URL(authorityHost).host],
    },
    system: {
      loggerOptions: {
        logLevel: LogLevel.Verbose,
        piiLoggingEnabled: false,
        loggerCallback: (_level, message) => log.push(message),
      },
    },
  });
}

async function tokenRequest(form: Record<string, string>, tenant = sandbox.info.tenantId) {
  const res = await fetch(`${sandbox.info.authorityHost}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const clientCredentials = () => ({
  grant_type: 'client_credentials',
  client_id: sandbox.info.clientId,
  client_secret: sandbox.info.clientSecret,
  scope: `${sandbox.info.environmentUrl}/.default`,
});

const decodeClaims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

describe('dynamics sandbox Entra stand-in', () => {
  it('issues a token to the real msal-node and a fresh one with skipCache', async () => {
    const log: string[] = [];
    const app = msalApp(log);
    const scopes = [`${sandbox.info.environmentUrl}/.default`];
    const first = await app.acquireTokenByClientCredential({ scopes });
    expect(first?.accessToken).toBeTruthy();
    const cached = await app.acquireTokenByClientCredential({ scopes });
    expect(cached?.accessToken).toBe(first?.accessToken);
    const fresh = await app.acquireTokenByClientCredential({ scopes, skipCache: true });
    expect(fresh?.accessToken).not.toBe(first?.accessToken);
    expect(sandbox.control.counters().token).toBeGreaterThanOrEqual(2);
    // MSAL took the authority from knownAuthorities and only ever talked to the loopback stand-in.
    expect(log.some((m) => m.includes('The host is included in knownAuthorities'))).toBe(true);
    const urls = log.flatMap((m) => m.match(/https?:\/\/[^\s'"]+/g) ?? []);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) expect(new URL(url).hostname).toBe('127.0.0.1');

    const claims = decodeClaims(fresh?.accessToken ?? '');
    expect(claims).toMatchObject({
      aud: sandbox.info.environmentUrl,
      tid: sandbox.info.tenantId,
      appid: sandbox.info.clientId,
    });
    const lifetime = Number(claims.exp) - Number(claims.iat);
    expect(lifetime).toBeGreaterThanOrEqual(3600);
    expect(lifetime).toBeLessThanOrEqual(5400);

    const res = await fetch(`${sandbox.info.odataUrl}LegalEntities`, {
      headers: { authorization: `Bearer ${fresh?.accessToken}` },
    });
    expect(res.status).toBe(200);
  });

  it("issues a token to the connector's own token client, and a fresh one when forced", async () => {
    const { clientId, clientSecret, authorityHost, tenantId, environmentUrl } = sandbox.info;
    const auth = createEntraAuth({
      environment: environmentUrl,
      tenantId,
      clientId,
      clientSecret,
      authorityHost,
    });
    const first = await auth.headers({ force: false });
    expect(await auth.headers({ force: false })).toEqual(first);
    const forced = await auth.headers({ force: true });
    expect(forced).not.toEqual(first);
    expect(auth.stats()).toEqual({ minted: 2, cached: 1, forced: 1 });
    const res = await fetch(`${sandbox.info.odataUrl}LegalEntities`, { headers: forced });
    expect(res.status).toBe(200);

    const wrong = createEntraAuth({
      environment: environmentUrl,
      tenantId,
      clientId,
      clientSecret: 'not-the-secret',
      authorityHost,
    });
    const error = await wrong.headers({ force: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({
      errorCode: 'AADSTS7000215',
      hint: expect.stringMatching(/client secret is wrong/),
    });
    expect(String((error as Error).message)).not.toContain('not-the-secret');
  });

  it('answers a wrong client secret with invalid_client and AADSTS7000215', async () => {
    const { status, body } = await tokenRequest({ ...clientCredentials(), client_secret: 'nope' });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(String(body.error_description)).toMatch(/^AADSTS7000215: Invalid client secret provided/);
    expect(body).toHaveProperty('trace_id');
    expect(body).toHaveProperty('correlation_id');
    expect(JSON.stringify(body)).not.toContain(sandbox.info.clientSecret);
  });

  it('answers an unknown app, tenant and resource with their AADSTS codes', async () => {
    const app = await tokenRequest({
      ...clientCredentials(),
      client_id: '00000000-0000-0000-0000-000000000001',
    });
    expect([app.status, app.body.error, app.body.error_codes]).toEqual([
      400,
      'unauthorized_client',
      [700016],
    ]);
    const tenant = await tokenRequest(clientCredentials(), 'contoso.onmicrosoft.com');
    expect([tenant.status, tenant.body.error, tenant.body.error_codes]).toEqual([
      400,
      'invalid_request',
      [90002],
    ]);
    const resource = await tokenRequest({
      ...clientCredentials(),
      scope: 'https://other.operations.dynamics.com/.default',
    });
    expect([resource.status, resource.body.error, resource.body.error_codes]).toEqual([
      400,
      'invalid_resource',
      [500011],
    ]);
    const scope = await tokenRequest({ ...clientCredentials(), scope: sandbox.info.environmentUrl });
    expect([scope.status, scope.body.error, scope.body.error_codes]).toEqual([
      400,
      'invalid_scope',
      [1002012],
    ]);
  });

  it('rejects OData calls without a token, with a wrong audience and after expiry with a Bearer challenge', async () => {
    const url = `${sandbox.info.odataUrl}CustomersV3?$top=1`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);

    // A trailing slash in the scope still gets a token from Entra, but its aud is not the environment URL.
    const slash = await tokenRequest({
      ...clientCredentials(),
      scope: `${sandbox.info.environmentUrl}//.default`,
    });
    expect(slash.status).toBe(200);
    const wrongAud = await fetch(url, {
      headers: { authorization: `Bearer ${String(slash.body.access_token)}` },
    });
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.headers.get('www-authenticate')).toMatch(/audience/);

    const good = await tokenRequest(clientCredentials());
    const auth = { authorization: `Bearer ${String(good.body.access_token)}` };
    expect((await fetch(url, { headers: auth })).status).toBe(200);
    sandbox.control.advanceClock((Number(good.body.expires_in) + 1) * 1000);
    const expired = await fetch(url, { headers: auth });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toMatch(/^Bearer .*expired/);
  });

  it('answers 401 for a valid token when a token-expiry fault fires', async () => {
    const good = await tokenRequest(clientCredentials());
    const auth = { authorization: `Bearer ${String(good.body.access_token)}` };
    sandbox.control.setFaultPlan({ rules: [{ kind: 'token-expiry', match: 'odata.read', count: 1 }] });
    try {
      const first = await fetch(`${sandbox.info.odataUrl}Currencies`, { headers: auth });
      expect(first.status).toBe(401);
      expect(first.headers.get('www-authenticate')).toMatch(/invalid_token/);
      expect((await fetch(`${sandbox.info.odataUrl}Currencies`, { headers: auth })).status).toBe(200);
    } finally {
      sandbox.control.setFaultPlan({ rules: [] });
    }
  });

  it('applies faults to the token endpoint', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'error', match: 'token', count: 1 }] });
    try {
      expect((await tokenRequest(clientCredentials())).status).toBe(503);
      expect((await tokenRequest(clientCredentials())).status).toBe(200);
    } finally {
      sandbox.control.setFaultPlan({ rules: [] });
    }
  });
});
