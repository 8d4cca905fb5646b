/**
 * The OAuth 2.0 client-credentials grant against the Microsoft identity platform's v2.0 token
 * endpoint, written out instead of taken from @azure/msal-node: the grant is one form POST, and
 * MSAL (its instance discovery, OpenID metadata read, cache plumbing) was 170 KiB of every Lambda
 * bundle (docs/BENCHMARKS.md). MSAL stays a dev dependency: the sandbox's Entra stand-in is
 * tested against it.
 *
 * Request and answers as Microsoft Learn documents them:
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 * - `POST {authority}/{tenant}/oauth2/v2.0/token`, form body `client_id`, `client_secret`,
 *   `scope` (`{resource}/.default`), `grant_type=client_credentials`;
 * - success: `{ token_type, expires_in, access_token }` (expires_in in seconds);
 * - error: `{ error, error_description, error_codes: [number], timestamp, trace_id, correlation_id }`.
 * A token is reused until five minutes before it expires (MSAL's default renewal offset), and a
 * forced request (after a 401) always goes to the endpoint.
 */
import { Agent, type Dispatcher, undiciRequest } from '#http/undici.ts';

/** One token as the provider sees it. */
export interface TokenResult {
  readonly accessToken: string;
  /** True when the token came from this process's cache, not the endpoint. */
  readonly fromCache: boolean;
  readonly expiresOn: Date;
}

/** What acquires a client-credentials token (the endpoint client below, or a fake in tests). */
export interface ClientCredentialApp {
  acquireTokenByClientCredential(request: { scopes: string[]; skipCache?: boolean }): Promise<TokenResult>;
}

/** The fields of an Entra error answer the auth provider turns into an AuthError with a hint. */
export interface TokenEndpointFailure {
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly errorNo?: string | undefined;
  readonly status?: number | undefined;
}

/** Renew this long before expiry (MSAL's default token renewal offset is 300 s). */
export const RENEWAL_OFFSET_MS = 5 * 60_000;

export interface TokenEndpointOptions {
  /** `https://login.microsoftonline.com` or a sovereign / stand-in authority host, no trailing slash. */
  readonly authorityHost: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dispatcher?: Dispatcher | undefined;
  readonly now?: (() => number) | undefined;
}

const MAX_ANSWER_BYTES = 64 * 1024;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Entra error answer (or anything else a failing endpoint sent) as a TokenEndpointFailure. */
export function tokenFailure(status: number, body: string): TokenEndpointFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isRecord(parsed) && typeof parsed.error === 'string') {
    const codes = Array.isArray(parsed.error_codes) ? parsed.error_codes : [];
    const first = codes[0];
    return {
      errorCode: parsed.error,
      errorMessage: typeof parsed.error_description === 'string' ? parsed.error_description : '',
      errorNo: typeof first === 'number' || typeof first === 'string' ? String(first) : undefined,
      status,
    };
  }
  return {
    errorCode: `http_${status}`,
    errorMessage: `the token endpoint answered HTTP ${status} without an OAuth error body`,
    status,
  };
}

/** A ClientCredentialApp that posts to the v2.0 token endpoint and caches one token per scope. */
export function createTokenEndpointApp(options: TokenEndpointOptions): ClientCredentialApp {
  const url = new URL(`${options.authorityHost}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`);
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000 });
  const now = options.now ?? Date.now;
  const cache = new Map<string, { accessToken: string; expiresAt: number }>();

  async function mint(scope: string): Promise<TokenResult> {
    const form = new URLSearchParams({
      client_id: options.clientId,
      client_secret: options.clientSecret,
      scope,
      grant_type: 'client_credentials',
    });
    const started = now();
    const response = await undiciRequest(url, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += buffer.length;
      if (size > MAX_ANSWER_BYTES) {
        response.body.destroy();
        throw tokenFailure(response.statusCode, '');
      }
      chunks.push(buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (response.statusCode !== 200) throw tokenFailure(response.statusCode, text);
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = undefined;
    }
    const accessToken = isRecord(answer) ? answer.access_token : undefined;
    const expiresIn = isRecord(answer) ? Number(answer.expires_in) : Number.NaN;
    if (typeof accessToken !== 'string' || accessToken === '' || !Number.isFinite(expiresIn)) {
      throw {
        errorCode: 'invalid_answer',
        errorMessage: 'the token endpoint answered 200 without access_token and expires_in',
        status: 200,
      } satisfies TokenEndpointFailure;
    }
    // Expiry counted from when the request left, so a slow answer never makes a token look younger.
    const expiresAt = started + expiresIn * 1000;
    cache.set(scope, { accessToken, expiresAt });
    return { accessToken, fromCache: false, expiresOn: new Date(expiresAt) };
  }

  return {
    async acquireTokenByClientCredential(request) {
      const scope = request.scopes.join(' ');
      const cached = cache.get(scope);
      if (!request.skipCache && cached && cached.expiresAt - now() > RENEWAL_OFFSET_MS) {
        return { accessToken: cached.accessToken, fromCache: true, expiresOn: new Date(cached.expiresAt) };
      }
      return mint(scope);
    },
  };
}
