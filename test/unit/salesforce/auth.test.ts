import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuthError } from '#base/errors.ts';
import { createHttpClient } from '#http/client.ts';
import { createClientCredentialsTokenSource, parseTokenResponse, tokenError } from '#salesforce/auth.ts';
import { INSTANCE, MY_DOMAIN, newAgent, ORG_ID, tokenBody, USER_ID } from './support.ts';

describe('createClientCredentialsTokenSource', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = newAgent();
  });
  afterEach(async () => {
    await agent.close();
  });

  const source = () =>
    createClientCredentialsTokenSource({
      myDomainUrl: MY_DOMAIN,
      clientId: 'cid',
      clientSecret: 's3cr3t',
      http: createHttpClient({ dispatcher: agent, sleep: async () => {} }),
    });

  it('posts the client-credentials form to My Domain and derives the session from the answer', async () => {
    let form = '';
    agent
      .get(MY_DOMAIN)
      .intercept({ path: '/services/oauth2/token', method: 'POST' })
      .reply((opts) => {
        form = String(opts.body);
        return { statusCode: 200, data: tokenBody('tok-1') };
      });
    const session = await source().getSession();
    expect(new URLSearchParams(form).get('grant_type')).toBe('client_credentials');
    expect(new URLSearchParams(form).get('client_id')).toBe('cid');
    expect(session).toEqual({
      accessToken: 'tok-1',
      instanceUrl: INSTANCE,
      orgId: ORG_ID,
      userId: USER_ID,
      issuedAt: 1764158400000,
    });
  });

  it('shares one token request among concurrent callers, forced or not', async () => {
    let mints = 0;
    agent
      .get(MY_DOMAIN)
      .intercept({ path: '/services/oauth2/token', method: 'POST' })
      .reply(() => {
        mints += 1;
        return { statusCode: 200, data: tokenBody(`tok-${mints}`) };
      })
      .delay(20)
      .persist();
    const tokens = source();
    const sessions = await Promise.all([
      tokens.getSession(),
      tokens.getSession({ forceRefresh: true }),
      tokens.getSession(),
      tokens.getSession({ forceRefresh: true }),
    ]);
    expect(mints).toBe(1);
    expect(new Set(sessions.map((s) => s.accessToken))).toEqual(new Set(['tok-1']));
    expect((await tokens.getSession()).accessToken).toBe('tok-1');
    const forced = await Promise.all([
      tokens.getSession({ forceRefresh: true }),
      tokens.getSession({ forceRefresh: true }),
    ]);
    expect(mints).toBe(2);
    expect(forced.map((s) => s.accessToken)).toEqual(['tok-2', 'tok-2']);
  });

  it('lets the next caller retry after a failed mint', async () => {
    const pool = agent.get(MY_DOMAIN);
    pool.intercept({ path: '/services/oauth2/token', method: 'POST' }).reply(400, {
      error: 'invalid_grant',
      error_description: 'authentication failure',
    });
    pool.intercept({ path: '/services/oauth2/token', method: 'POST' }).reply(200, tokenBody('tok-9'));
    const tokens = source();
    await expect(tokens.getSession()).rejects.toBeInstanceOf(AuthError);
    expect((await tokens.getSession()).accessToken).toBe('tok-9');
  });

  it('never puts the client secret in the error', async () => {
    agent.get(MY_DOMAIN).intercept({ path: '/services/oauth2/token', method: 'POST' }).reply(400, {
      error: 'invalid_client',
      error_description: 'invalid client credentials',
    });
    const error = (await source()
      .getSession()
      .catch((e: unknown) => e)) as AuthError;
    expect(error.hint).toMatch(/client secret/);
    expect(JSON.stringify({ m: error.message, s: error.stack })).not.toContain('s3cr3t');
  });
});

describe('tokenError', () => {
  it.each([
    ['invalid_client', 'invalid client credentials', /client secret .* wrong/],
    ['invalid_client_id', 'client identifier invalid', /consumer key/],
    ['invalid_grant', 'request not supported on this domain', /My Domain URL/],
    ['invalid_grant', 'authentication failure', /Run As user/],
    ['invalid_grant', 'no client credentials user enabled', /Run As user/],
    ['unsupported_grant_type', 'grant type not supported', /client credentials flow/],
  ])('maps %s "%s" to a hint', (error, description, hint) => {
    const mapped = tokenError(400, JSON.stringify({ error, error_description: description }));
    expect(mapped).toBeInstanceOf(AuthError);
    expect(mapped.errorCode).toBe(error);
    expect(mapped.hint).toMatch(hint);
    expect(mapped.message).toContain(description);
  });

  it('reports an unknown body by status', () => {
    const mapped = tokenError(401, '<html>');
    expect(mapped.message).toMatch(/status 401/);
    expect(mapped.hint).toBeUndefined();
  });
});

describe('parseTokenResponse', () => {
  it('refuses a response without instance_url or with a non-https one', () => {
    expect(() => parseTokenResponse({ ...tokenBody(), instance_url: undefined }, 0)).toThrow(/instance_url/);
    expect(() => parseTokenResponse({ ...tokenBody(), instance_url: 'http://x.test' }, 0)).toThrow(/https/);
  });

  it('refuses an id that is not an identity URL', () => {
    expect(() => parseTokenResponse({ ...tokenBody(), id: 'nope' }, 0)).toThrow(/identity URL/);
  });

  it('falls back to the local time when issued_at is missing', () => {
    expect(parseTokenResponse({ ...tokenBody(), issued_at: undefined }, 42).issuedAt).toBe(42);
  });
});
