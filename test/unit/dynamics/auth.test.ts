import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { AuthError, ConfigError } from '#base/errors.ts';
import { type ClientCredentialApp, createEntraAuth, toAuthError, validateTenantId } from '#dynamics/auth.ts';
import { createTokenEndpointApp, RENEWAL_OFFSET_MS, tokenFailure } from '#dynamics/token-endpoint.ts';
import { createCallCounter } from '#http/counters.ts';

const base = {
  environment: 'contoso.operations.dynamics.com',
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '00000000-0000-0000-0000-000000000001',
  clientSecret: 'super-secret-value',
};

function fakeApp(): ClientCredentialApp & { calls: { scopes: string[]; skipCache?: boolean }[] } {
  const calls: { scopes: string[]; skipCache?: boolean }[] = [];
  let n = 0;
  return {
    calls,
    async acquireTokenByClientCredential(request) {
      calls.push(request);
      const fromCache = n > 0 && !request.skipCache;
      if (!fromCache) n += 1;
      return { accessToken: `token-${n}`, fromCache, expiresOn: new Date() };
    },
  };
}

describe('validateTenantId', () => {
  it('accepts a GUID or a domain', () => {
    expect(validateTenantId(base.tenantId)).toBe(base.tenantId);
    expect(validateTenantId('Contoso.onmicrosoft.com')).toBe('contoso.onmicrosoft.com');
  });

  it.each(['common', 'organizations', 'Consumers'])('refuses the multi-tenant alias %s', (tenant) => {
    expect(() => validateTenantId(tenant)).toThrow(/multi-tenant alias/);
  });

  it.each(['', 'not a tenant', 'contoso', '72f988bf-86f1'])('refuses %j', (tenant) => {
    expect(() => validateTenantId(tenant)).toThrow(ConfigError);
  });
});

describe('createEntraAuth', () => {
  it.each([
    'https://contoso.operations.eu.dynamics.com',
    'https://contoso-uat.sandbox.operations.eu.dynamics.com',
    'https://contosoaos.cloudax.dynamics.com',
    'https://contoso.operations.dynamics.us',
  ])('requests the token for the environment it calls: %s', async (environment) => {
    const app = fakeApp();
    const auth = createEntraAuth({ ...base, environment, app });
    await auth.headers({ force: false });
    expect(app.calls[0]).toEqual({ scopes: [`${environment}/.default`] });
  });

  it('requests the environment /.default scope and counts minted and cached tokens', async () => {
    const app = fakeApp();
    const counter = createCallCounter();
    const auth = createEntraAuth({
      ...base,
      environment: 'https://Contoso.operations.dynamics.com/',
      app,
      counter,
    });
    expect(await auth.headers({ force: false })).toEqual({ authorization: 'Bearer token-1' });
    expect(await auth.headers({ force: false })).toEqual({ authorization: 'Bearer token-1' });
    expect(app.calls[0]).toEqual({ scopes: ['https://contoso.operations.dynamics.com/.default'] });
    expect(auth.stats()).toEqual({ minted: 1, cached: 1, forced: 0 });
    expect(counter.snapshot().byOperation).toEqual({ token: 1 });
  });

  it('bypasses the cache when forced after a 401, once for concurrent callers', async () => {
    const app = fakeApp();
    const auth = createEntraAuth({ ...base, app });
    await auth.headers({ force: false });
    const [a, b] = await Promise.all([auth.headers({ force: true }), auth.headers({ force: true })]);
    expect(a).toEqual({ authorization: 'Bearer token-2' });
    expect(b).toEqual(a);
    expect(app.calls.filter((c) => c.skipCache)).toHaveLength(1);
    expect(auth.stats()).toMatchObject({ minted: 2, forced: 1 });
  });

  it('gives up on a token request that hangs', async () => {
    const app: ClientCredentialApp = { acquireTokenByClientCredential: () => new Promise(() => {}) };
    const error = await createEntraAuth({ ...base, app, timeoutMs: 20 })
      .headers({ force: false })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthError', errorCode: 'TIMEOUT' });
  });

  it('refuses bad configuration before any token request', () => {
    expect(() => createEntraAuth({ ...base, tenantId: 'common', app: fakeApp() })).toThrow(ConfigError);
    expect(() => createEntraAuth({ ...base, clientId: ' ', app: fakeApp() })).toThrow(/clientId/);
    expect(() => createEntraAuth({ ...base, clientSecret: '', app: fakeApp() })).toThrow(/clientSecret/);
    expect(() =>
      createEntraAuth({ ...base, authorityHost: 'http://login.microsoftonline.com', app: fakeApp() }),
    ).toThrow(ConfigError);
  });

  it('maps a token endpoint failure to an AuthError without the secret', async () => {
    const app: ClientCredentialApp = {
      async acquireTokenByClientCredential() {
        throw tokenFailure(
          401,
          JSON.stringify({
            error: 'invalid_client',
            error_description:
              "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000'.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: 2026-12-03 18:00:00Z",
            error_codes: [7000215],
          }),
        );
      },
    };
    const error = await createEntraAuth({ ...base, app })
      .headers({ force: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).errorCode).toBe('AADSTS7000215');
    expect((error as AuthError).hint).toMatch(/client secret is wrong/);
    expect((error as AuthError).message).toContain('AADSTS7000215: Invalid client secret provided.');
    expect((error as AuthError).message).not.toContain('Timestamp');
    expect((error as AuthError).message).not.toContain(base.clientSecret);
  });
});

describe('toAuthError', () => {
  it.each([
    ['700016', /not found in this tenant/],
    ['90002', /tenant was not found/],
    ['500011', /environment URL/],
  ])('gives a hint for AADSTS%s', (code, hint) => {
    const e = toAuthError({
      errorCode: 'invalid_request',
      errorMessage: `AADSTS${code}: something`,
      errorNo: code,
    });
    expect(e.hint).toMatch(hint);
    expect(e.system).toBe('dynamics');
  });

  it('gives a hint when the authority has no token endpoint for the tenant', () => {
    expect(toAuthError(tokenFailure(404, '<html>Not Found</html>')).hint).toMatch(/tenantId/);
  });

  it('gives a hint for invalid_scope without an AADSTS number', () => {
    expect(toAuthError({ errorCode: 'invalid_scope', errorMessage: 'bad scope' }).hint).toMatch(
      /environment URL/,
    );
  });
});

describe('createTokenEndpointApp', () => {
  const authorityHost = 'https://login.example.test';
  const tokenPath = `/${base.tenantId}/oauth2/v2.0/token`;

  function endpoint(answers: { status: number; body: unknown }[]) {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const forms: URLSearchParams[] = [];
    const pool = agent.get(authorityHost);
    for (const answer of answers) {
      pool.intercept({ path: tokenPath, method: 'POST' }).reply(({ body }) => {
        forms.push(new URLSearchParams(String(body)));
        return {
          statusCode: answer.status,
          data: typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body),
        };
      });
    }
    return { agent, forms };
  }

  it('posts the client-credentials form and reuses the token until five minutes before expiry', async () => {
    const { agent, forms } = endpoint([
      { status: 200, body: { token_type: 'Bearer', expires_in: 3599, access_token: 'a1' } },
      { status: 200, body: { token_type: 'Bearer', expires_in: '3599', access_token: 'a2' } },
    ]);
    let clock = 1_000_000;
    const app = createTokenEndpointApp({ ...base, authorityHost, dispatcher: agent, now: () => clock });
    const scopes = ['https://contoso.operations.dynamics.com/.default'];
    const first = await app.acquireTokenByClientCredential({ scopes });
    expect(first).toMatchObject({ accessToken: 'a1', fromCache: false });
    expect(Object.fromEntries(forms[0] ?? [])).toEqual({
      client_id: base.clientId,
      client_secret: base.clientSecret,
      scope: scopes[0],
      grant_type: 'client_credentials',
    });
    clock += 3599_000 - RENEWAL_OFFSET_MS - 1000;
    expect(await app.acquireTokenByClientCredential({ scopes })).toMatchObject({
      accessToken: 'a1',
      fromCache: true,
    });
    clock += 2000;
    expect(await app.acquireTokenByClientCredential({ scopes })).toMatchObject({
      accessToken: 'a2',
      fromCache: false,
    });
    expect(forms).toHaveLength(2);
  });

  it('goes to the endpoint when the cache is skipped', async () => {
    const { agent, forms } = endpoint([
      { status: 200, body: { expires_in: 3599, access_token: 'a1' } },
      { status: 200, body: { expires_in: 3599, access_token: 'a2' } },
    ]);
    const app = createTokenEndpointApp({ ...base, authorityHost, dispatcher: agent });
    const scopes = ['https://contoso.operations.dynamics.com/.default'];
    await app.acquireTokenByClientCredential({ scopes });
    const fresh = await app.acquireTokenByClientCredential({ scopes, skipCache: true });
    expect(fresh.accessToken).toBe('a2');
    expect(forms).toHaveLength(2);
  });

  it('throws the Entra error code and AADSTS number, and refuses an answer without a token', async () => {
    const { agent } = endpoint([
      {
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'AADSTS90002: Tenant not found.',
          error_codes: [90002],
        },
      },
      { status: 200, body: { token_type: 'Bearer' } },
    ]);
    const app = createTokenEndpointApp({ ...base, authorityHost, dispatcher: agent });
    const scopes = ['https://contoso.operations.dynamics.com/.default'];
    const failure = await app.acquireTokenByClientCredential({ scopes }).catch((e: unknown) => e);
    expect(failure).toEqual({
      errorCode: 'invalid_request',
      errorMessage: 'AADSTS90002: Tenant not found.',
      errorNo: '90002',
      status: 400,
    });
    expect(toAuthError(failure).hint).toMatch(/tenant was not found/);
    const empty = await app.acquireTokenByClientCredential({ scopes }).catch((e: unknown) => e);
    expect(empty).toMatchObject({ errorCode: 'invalid_answer' });
  });
});
