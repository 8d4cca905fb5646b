/**
 * OAuth 2.0 client credentials against the org's My Domain, as a {@link SalesforceTokenSource}.
 * The response has no refresh token and no `expires_in`: a stale session is replaced by minting a
 * new one. https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm&type=5
 * Token response fields: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_web_server_oauth_flow.htm
 */

import type { Dispatcher } from 'undici';
import { AuthError, HttpError } from '#base/errors.ts';
import { type Logger, silentLogger } from '#base/logger.ts';
import { createHttpClient, type HttpClient } from '#http/client.ts';
import { normalizeMyDomainUrl } from './my-domain.ts';
import type { SalesforceSession, SalesforceTokenSource } from './session.ts';

export interface ClientCredentialsOptions {
  /** The My Domain origin, already validated with `normalizeMyDomainUrl`. */
  readonly myDomainUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** An HTTP client without an auth provider (the token request authenticates itself). */
  readonly http: HttpClient;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/** A token source that can also replace one specific stale token (for bursts of 401s). */
export interface ClientCredentialsTokenSource extends SalesforceTokenSource {
  /**
   * Mints a new session only if `staleToken` is still the cached one (or joins the mint in
   * flight); otherwise returns the session that already replaced it. N concurrent calls that got
   * 401 with the same token thus cost one mint.
   */
  replaceStale(staleToken: string): Promise<SalesforceSession>;
  /** Drops the cached session; the next call mints. */
  invalidate(): void;
}

interface TokenResponse {
  readonly access_token?: unknown;
  readonly instance_url?: unknown;
  readonly id?: unknown;
  readonly issued_at?: unknown;
}

const ID_URL = /\/id\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})\/?$/;

/** What to check for each documented token error (error code + lower-cased description fragment). */
const HINTS: readonly { error: string; match?: string; hint: string }[] = [
  {
    error: 'invalid_grant',
    match: 'request not supported on this domain',
    hint: "use the org's My Domain URL (https://<name>.my.salesforce.com), not login.salesforce.com or test.salesforce.com",
  },
  {
    error: 'invalid_grant',
    match: 'no client credentials user enabled',
    hint: "set the Run As user in the external client app's client-credentials policy",
  },
  {
    error: 'invalid_grant',
    match: 'authentication failure',
    hint: "set an active Run As user with API access in the external client app's client-credentials policy",
  },
  {
    error: 'invalid_client',
    match: 'invalid client credentials',
    hint: 'the client secret (consumer secret) is wrong for this client id',
  },
  {
    error: 'invalid_client_id',
    hint: "the client id (consumer key) is unknown to this org; check it and that the My Domain URL is this org's",
  },
  {
    error: 'unsupported_grant_type',
    hint: 'enable the client credentials flow in the external client app OAuth settings',
  },
];

/** Maps a token endpoint error body to an AuthError with a hint (never echoing credentials). */
export function tokenError(status: number, body: string): AuthError {
  let error: string | undefined;
  let description: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    if (typeof parsed.error === 'string') error = parsed.error;
    if (typeof parsed.error_description === 'string') description = parsed.error_description;
  } catch {
    // not JSON: reported by status alone
  }
  const lower = description?.toLowerCase() ?? '';
  const found = HINTS.find((h) => h.error === error && (h.match === undefined || lower.includes(h.match)));
  const detail = error ? `${error}${description ? `: ${description}` : ''}` : `status ${status}`;
  return new AuthError('salesforce', `Salesforce token request failed (${detail})`, {
    errorCode: error,
    hint: found?.hint,
  });
}

/** Parses a successful token response into a session; throws AuthError when a field is missing. */
export function parseTokenResponse(body: TokenResponse, now: number): SalesforceSession {
  const bad = (what: string) => new AuthError('salesforce', `Salesforce token response: ${what}`);
  if (typeof body.access_token !== 'string' || body.access_token === '') throw bad('no access_token');
  if (typeof body.instance_url !== 'string') throw bad('no instance_url');
  let instance: URL;
  try {
    instance = new URL(body.instance_url);
  } catch {
    throw bad('instance_url is not a URL');
  }
  if (instance.protocol !== 'https:') throw bad('instance_url is not https');
  const match = typeof body.id === 'string' ? ID_URL.exec(body.id) : null;
  if (!match) throw bad('id is not an identity URL ending in /id/<orgId>/<userId>');
  const issuedAt = typeof body.issued_at === 'string' ? Number(body.issued_at) : Number.NaN;
  return Object.freeze({
    accessToken: body.access_token,
    instanceUrl: instance.origin,
    orgId: match[1] as string,
    userId: match[2] as string,
    issuedAt: Number.isFinite(issuedAt) ? issuedAt : now,
  });
}

/**
 * Creates the client-credentials token source: caches the session, `forceRefresh` mints a new
 * one, and concurrent callers (forced or not) share one in-flight token request.
 */
export function createClientCredentialsTokenSource(
  options: ClientCredentialsOptions,
): ClientCredentialsTokenSource {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const tokenUrl = `${options.myDomainUrl}/services/oauth2/token`;
  let cached: SalesforceSession | undefined;
  let inflight: Promise<SalesforceSession> | undefined;

  async function mint(): Promise<SalesforceSession> {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
    });
    let response: Awaited<ReturnType<HttpClient['send']>>;
    try {
      response = await options.http.send({
        method: 'POST',
        url: tokenUrl,
        operation: 'oauth.token',
        authenticate: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        accept: [400, 401, 403],
      });
    } catch (cause) {
      const status = cause instanceof HttpError ? `answered ${cause.status}` : 'could not be reached';
      throw new AuthError('salesforce', `Salesforce token endpoint ${options.myDomainUrl} ${status}`, {
        cause,
      });
    }
    if (response.status !== 200) throw tokenError(response.status, response.text);
    let body: TokenResponse;
    try {
      body = JSON.parse(response.text) as TokenResponse;
    } catch (cause) {
      throw new AuthError('salesforce', 'Salesforce token response is not JSON', { cause });
    }
    const session = parseTokenResponse(body, now());
    logger.info('salesforce.token.minted', { orgId: session.orgId, instanceUrl: session.instanceUrl });
    return session;
  }

  function getSession(request?: { readonly forceRefresh?: boolean }): Promise<SalesforceSession> {
    if (inflight) return inflight;
    if (cached && !request?.forceRefresh) return Promise.resolve(cached);
    const pending = mint().then((session) => {
      cached = session;
      return session;
    });
    inflight = pending;
    const clear = () => {
      if (inflight === pending) inflight = undefined;
    };
    pending.then(clear, clear);
    return pending;
  }

  return {
    getSession,
    replaceStale(staleToken) {
      if (!inflight && cached && cached.accessToken !== staleToken) return Promise.resolve(cached);
      return getSession({ forceRefresh: true });
    },
    invalidate() {
      cached = undefined;
    },
  };
}

/** Options for a standalone token source (e.g. for the Pub/Sub subscriber without a REST client). */
export interface SalesforceTokenSourceOptions {
  /** The org's My Domain URL; validated (https, no generic login host). */
  readonly myDomainUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dispatcher?: Dispatcher;
  readonly allowCustomDomain?: boolean;
  readonly logger?: Logger;
}

/**
 * A client-credentials token source with its own HTTP client. Prefer sharing
 * `createSalesforceClient(...).tokenSource` when a REST client exists, so both mint once.
 */
export function createSalesforceTokenSource(
  options: SalesforceTokenSourceOptions,
): ClientCredentialsTokenSource & { close(): Promise<void> } {
  const myDomainUrl = normalizeMyDomainUrl(options.myDomainUrl, {
    allowCustomDomain: options.allowCustomDomain ?? false,
  });
  const logger = options.logger ?? silentLogger;
  const http = createHttpClient({
    logger,
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  const source = createClientCredentialsTokenSource({
    myDomainUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    http,
    logger,
  });
  return { ...source, close: () => http.close() };
}
