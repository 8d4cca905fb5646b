import type { AuthenticationResult } from '@azure/msal-node';
import { ServerError } from '@azure/msal-node';
import { describe, expect, it } from 'vitest';
import { AuthError, ConfigError } from '#base/errors.ts';
import {
  type ClientCredentialApp,
  createEntraAuth,
  msalConfiguration,
  toAuthError,
  validateTenantId,
} from '#dynamics/auth.ts';
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
      return { accessToken: `token-${n}`, fromCache, expiresOn: new Date() } as AuthenticationResult;
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

describe('msalConfiguration', () => {
  it('keeps MSAL discovery for the Microsoft authority', () => {
    const config = msalConfiguration({ ...base, authorityHost: 'https://login.microsoftonline.com' });
    expect(config.auth.authority).toBe(`https://login.microsoftonline.com/${base.tenantId}`);
    expect(config.auth.knownAuthorities).toBeUndefined();
  });

  it('trusts a custom authority host as known, so MSAL skips instance discovery', () => {
    const config = msalConfiguration({ ...base, authorityHost: 'https://127.0.0.1:9443' });
    expect(config.auth.authority).toBe(`https://127.0.0.1:9443/${base.tenantId}`);
    expect(config.auth.knownAuthorities).toEqual(['https://127.0.0.1:9443']);
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

  it('maps an MSAL failure to an AuthError without the secret', async () => {
    const app: ClientCredentialApp = {
      async acquireTokenByClientCredential() {
        throw new ServerError(
          'invalid_client',
          'corr',
          "Error(s): 7000215 - Timestamp: x - Description: AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00000000'.",
          '',
          '7000215',
          401,
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

  it('gives a hint when MSAL cannot resolve the tenant endpoints', () => {
    expect(
      toAuthError({ errorCode: 'endpoints_resolution_error', errorMessage: 'See https://aka.ms/...' }).hint,
    ).toMatch(/tenantId/);
  });

  it('gives a hint for invalid_scope without an AADSTS number', () => {
    expect(toAuthError({ errorCode: 'invalid_scope', errorMessage: 'bad scope' }).hint).toMatch(
      /environment URL/,
    );
  });
});
