/**
 * Microsoft Entra client-credentials auth for F&O: one token client per Dynamics client
 * (`token-endpoint.ts`: the token cached in memory and renewed five minutes before expiry), scope
 * `{environment}/.default`, a forced re-mint after a 401.
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
import { AuthError, ConfigError } from '#base/errors.ts';
import { type Logger, silentLogger } from '#base/logger.ts';
import type { AuthProvider } from '#http/client.ts';
import type { CallCounter } from '#http/counters.ts';
import { authorityHostFor, normaliseAuthorityHost, normaliseEnvironmentUrl } from './host.ts';
import { type ClientCredentialApp, createTokenEndpointApp, type TokenResult } from './token-endpoint.ts';

export type { ClientCredentialApp } from './token-endpoint.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers']);

/**
 * Validates an Entra tenant: a GUID or a verified domain name (`contoso.onmicrosoft.com`).
 * `common`, `organizations` and `consumers` are refused: client credentials must name the
 * customer's own tenant.
 * https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#authority
 */
export function validateTenantId(tenantId: string, key = 'dynamics.tenantId'): string {
  const text = typeof tenantId === 'string' ? tenantId.trim() : '';
  if (text === '')
    throw new ConfigError(
      key,
      'is empty; expected the tenant GUID or a domain such as contoso.onmicrosoft.com',
    );
  if (MULTI_TENANT.has(text.toLowerCase())) {
    throw new ConfigError(
      key,
      `'${text}' is a multi-tenant alias; client credentials need the customer's own tenant (its GUID or domain)`,
    );
  }
  if (!GUID.test(text) && !DOMAIN.test(text)) {
    throw new ConfigError(key, `'${text}' is neither a GUID nor a domain name`);
  }
  return text.toLowerCase();
}

/** Hints per Entra error code (AADSTS number), shown to the operator in AuthError. */
const AADSTS_HINTS: Readonly<Record<string, string>> = {
  '7000215': 'the client secret is wrong: use the secret Value (not its ID) from the app registration',
  '7000222': 'the client secret has expired: create a new one in the app registration',
  '700016': 'the application (client) id was not found in this tenant: check clientId and tenantId',
  '90002': 'the tenant was not found: check tenantId',
  '900023': 'the tenant id is malformed: use the tenant GUID or its domain',
  '500011':
    'the resource (the F&O environment URL, the token audience) was not found in the tenant: check the environment URL',
  '70011': 'the scope is invalid: it must be the environment URL followed by /.default',
  '700024': 'the client assertion is not within its valid time range: check the machine clock',
  '53003': 'a Conditional Access policy blocked the service principal',
};

const ERROR_HINTS: Readonly<Record<string, string>> = {
  invalid_client: 'the client id or secret is wrong',
  unauthorized_client: 'the application is not allowed to use client credentials in this tenant',
  invalid_scope:
    'the scope (environment URL + /.default) is not a resource in this tenant: check the environment URL',
  invalid_resource: 'the environment URL is not a resource in this tenant: check the environment URL',
  invalid_request: 'the token request was rejected: check tenantId and clientId',
  http_404: 'the authority has no token endpoint for this tenant: check tenantId and authorityHost',
};

/** A token endpoint failure (token-endpoint.ts) or a network error, as the mapping reads them. */
interface TokenLikeError {
  readonly errorCode?: unknown;
  readonly errorMessage?: unknown;
  readonly errorNo?: unknown;
  readonly message?: unknown;
}

/** Maps a token request failure to an AuthError with a hint; never includes the secret or a token. */
export function toAuthError(error: unknown): AuthError {
  const e = (error ?? {}) as TokenLikeError;
  const code = typeof e.errorCode === 'string' && e.errorCode !== '' ? e.errorCode : undefined;
  const detail =
    typeof e.errorMessage === 'string' ? e.errorMessage : typeof e.message === 'string' ? e.message : '';
  const aadsts =
    typeof e.errorNo === 'string' || typeof e.errorNo === 'number'
      ? String(e.errorNo)
      : /AADSTS(\d+)/.exec(detail)?.[1];
  const hint = (aadsts ? AADSTS_HINTS[aadsts] : undefined) ?? (code ? ERROR_HINTS[code] : undefined);
  // Older clients formatted server errors as "Error(s): … - Description: … - Correlation ID: …".
  const description = /Description: ([\s\S]*?)(?: - Correlation ID:|$)/.exec(detail)?.[1] ?? detail;
  const first = (description.split(/\r?\n/)[0] ?? '').replace(/\s*Trace ID:[\s\S]*$/, '').trim();
  const label = [code, aadsts ? `AADSTS${aadsts}` : undefined].filter(Boolean).join(' ');
  const message = `Entra token request failed${label ? ` [${label}]` : ''}${first ? `: ${first.slice(0, 300)}` : ''}`;
  return new AuthError('dynamics', message, {
    cause: error,
    errorCode: aadsts ? `AADSTS${aadsts}` : code,
    hint,
  });
}

/** Options of {@link createEntraAuth}; every value is validated up front. */
export interface EntraAuthOptions {
  readonly environment: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default https://login.microsoftonline.com. */
  readonly authorityHost?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Records every token minted over the network as operation `token`. */
  readonly counter?: CallCounter | undefined;
  /** Replaces the token endpoint client (tests only). */
  readonly app?: ClientCredentialApp | undefined;
  /** Longest wait for a token, ms. Default 30 000. */
  readonly timeoutMs?: number | undefined;
}

/** Token counts since the provider was created. */
export interface EntraAuthStats {
  /** Tokens fetched from the token endpoint. */
  readonly minted: number;
  /** Token requests answered from the in-memory cache. */
  readonly cached: number;
  /** Forced re-mints (after a 401). */
  readonly forced: number;
}

/** An AuthProvider for the HTTP layer, plus token statistics. */
export interface EntraAuth extends AuthProvider {
  readonly scope: string;
  stats(): EntraAuthStats;
}

/**
 * Creates the Entra auth provider. Validates tenant, client id, secret and hosts up front
 * (ConfigError); token failures become AuthError with a hint per AADSTS code.
 */
export function createEntraAuth(options: EntraAuthOptions): EntraAuth {
  const environment = normaliseEnvironmentUrl(options.environment);
  const authorityHost = normaliseAuthorityHost(authorityHostFor(environment, options.authorityHost));
  const tenantId = validateTenantId(options.tenantId);
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') {
    throw new ConfigError(
      'dynamics.clientId',
      'is empty; expected the application (client) id of the app registration',
    );
  }
  if (typeof options.clientSecret !== 'string' || options.clientSecret === '') {
    throw new ConfigError('dynamics.clientSecret', 'is empty');
  }
  const logger = options.logger ?? silentLogger;
  const scope = `${environment}/.default`;
  const app: ClientCredentialApp =
    options.app ??
    createTokenEndpointApp({
      authorityHost,
      tenantId,
      clientId: options.clientId.trim(),
      clientSecret: options.clientSecret,
    });
  const counterHost = new URL(authorityHost).host;
  let minted = 0;
  let cached = 0;
  let forced = 0;
  let inflight: Promise<string> | undefined;
  let inflightForced = false;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function acquire(force: boolean): Promise<string> {
    let result: TokenResult | null;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AuthError('dynamics', `Entra token request timed out after ${timeoutMs} ms`, {
              errorCode: 'TIMEOUT',
            }),
          ),
        timeoutMs,
      );
    });
    try {
      result = await Promise.race([
        app.acquireTokenByClientCredential({ scopes: [scope], ...(force ? { skipCache: true } : {}) }),
        timeout,
      ]);
    } catch (error) {
      throw error instanceof AuthError ? error : toAuthError(error);
    } finally {
      clearTimeout(timer);
    }
    if (!result?.accessToken)
      throw new AuthError('dynamics', 'Entra returned no access token', { errorCode: 'NO_TOKEN' });
    if (result.fromCache) {
      cached += 1;
    } else {
      minted += 1;
      options.counter?.record(counterHost, 'token', false);
      logger.debug('dynamics.token', { forced: force, expiresOn: result.expiresOn.toISOString() });
    }
    return result.accessToken;
  }

  /** Concurrent callers share one acquisition; a forced one is shared by everyone who saw the 401. */
  function token(force: boolean): Promise<string> {
    if (inflight && (inflightForced || !force)) return inflight;
    if (force) forced += 1;
    const p = acquire(force).finally(() => {
      if (inflight === p) inflight = undefined;
    });
    inflight = p;
    inflightForced = force;
    return p;
  }

  return {
    scope,
    async headers({ force }) {
      return { authorization: `Bearer ${await token(force)}` };
    },
    stats: () => ({ minted, cached, forced }),
  };
}
