/**
 * The Microsoft Entra ID stand-in: the v2.0 client-credentials token endpoint, the OpenID
 * discovery document MSAL reads, and validation of the access tokens it mints (HS256 with a key
 * private to this sandbox instance; claims shaped like Entra v1.0 access tokens, which F&O receives).
 * https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 * https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import type { Random } from '#sandbox/shared/random.ts';

export interface AuthorityConfig {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The F&O environment URL: the only audience tokens are issued for. */
  environmentUrl(): string;
  /** `https://host:port` of the authority itself. */
  authorityHost(): string;
  readonly clock: SandboxClock;
  readonly lifetime: number | { readonly min: number; readonly max: number };
  readonly random: Random;
}

export interface TokenResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** The claims of a sandbox access token. */
export interface AccessTokenClaims {
  readonly aud: string;
  readonly iss: string;
  readonly tid: string;
  readonly appid: string;
  readonly oid: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
}

export type TokenCheck = { ok: true; claims: AccessTokenClaims } | { ok: false; reason: string };

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** Entra's error body: error, error_description (`AADSTSnnn: ...`), error_codes, timestamp, trace and correlation ids. */
function entraError(
  status: number,
  error: string,
  code: number,
  text: string,
  correlationId: string,
): TokenResponse {
  const now = new Date();
  const traceId = randomUUID();
  const timestamp = `${now.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

/** The Entra stand-in for one tenant with one registered confidential client. */
export class Authority {
  private readonly config: AuthorityConfig;
  private readonly key = randomBytes(32);
  /** The service principal's object id (the `oid` claim, and InitiatingUserAADObjectId of events). */
  readonly servicePrincipalObjectId: string;

  constructor(config: AuthorityConfig) {
    this.config = config;
    const r = config.random;
    const hex = (n: number) => Array.from({ length: n }, () => r.int(0, 15).toString(16)).join('');
    this.servicePrincipalObjectId = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  }

  /** The OpenID configuration MSAL fetches from `{authority}/v2.0/.well-known/openid-configuration`. */
  openIdConfiguration(tenant: string): Record<string, unknown> {
    const base = `${this.config.authorityHost()}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${this.config.authorityHost()}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.config.authorityHost()}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'appid'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  /** Whether `tenant` (a path segment) names this tenant. */
  knowsTenant(tenant: string): boolean {
    return tenant.toLowerCase() === this.config.tenantId.toLowerCase();
  }

  /** Handles `POST /{tenant}/oauth2/v2.0/token` with a form body and optional Basic credentials. */
  token(
    tenant: string,
    form: URLSearchParams,
    authorization: string | undefined,
    correlationId: string,
  ): TokenResponse {
    const { tenantId, clientId } = this.config;
    if (!this.knowsTenant(tenant)) {
      return entraError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
        correlationId,
      );
    }
    let id = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        id ??= decodeURIComponent(decoded.slice(0, colon));
        secret ??= decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    const grant = form.get('grant_type');
    if (!grant) {
      return entraError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
        correlationId,
      );
    }
    if (grant !== 'client_credentials') {
      return entraError(
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grant}'.`,
        correlationId,
      );
    }
    if (!id) {
      return entraError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'client_id'.",
        correlationId,
      );
    }
    if (id.toLowerCase() !== clientId.toLowerCase()) {
      return entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${id}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
        correlationId,
      );
    }
    if (!secret) {
      return entraError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        correlationId,
      );
    }
    if (!this.secretMatches(secret)) {
      return entraError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        correlationId,
      );
    }
    const scope = form.get('scope');
    if (!scope) {
      return entraError(
        400,
        'invalid_scope',
        70011,
        "The provided request must include a 'scope' input parameter.",
        correlationId,
      );
    }
    const scopes = scope.split(' ').filter(Boolean);
    const resourceScope = scopes.find((s) => s !== 'openid' && s !== 'profile' && s !== 'offline_access');
    if (scopes.length === 0 || !resourceScope?.endsWith('/.default')) {
      return entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
        correlationId,
      );
    }
    // Entra resolves the resource loosely (case, trailing slash) but puts what was asked for into
    // `aud`; F&O then rejects anything but its exact URL. That is the "401 with a valid token" trap.
    const resource = resourceScope.slice(0, -'/.default'.length);
    const env = this.config.environmentUrl();
    if (resource.replace(/\/+$/, '').toLowerCase() !== env.toLowerCase()) {
      return entraError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
        correlationId,
      );
    }
    const lifetime = this.lifetime();
    const now = Math.floor(this.config.clock.now() / 1000);
    const claims: AccessTokenClaims & Record<string, unknown> = {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      aio: b64url(randomBytes(24)),
      appid: clientId,
      appidacr: '1',
      idp: `https://sts.windows.net/${tenantId}/`,
      oid: this.servicePrincipalObjectId,
      rh: `0.${b64url(randomBytes(18))}.`,
      sub: this.servicePrincipalObjectId,
      tid: tenantId,
      uti: b64url(randomBytes(16)),
      ver: '1.0',
    };
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: lifetime,
        ext_expires_in: lifetime,
        access_token: this.sign(claims),
      },
    };
  }

  private lifetime(): number {
    const l = this.config.lifetime;
    return typeof l === 'number' ? l : this.config.random.int(l.min, l.max);
  }

  private secretMatches(given: string): boolean {
    const a = createHmac('sha256', this.key).update(given).digest();
    const b = createHmac('sha256', this.key).update(this.config.clientSecret).digest();
    return timingSafeEqual(a, b);
  }

  private sign(claims: Record<string, unknown>): string {
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256', kid: 'sandbox' }));
    const payload = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.key).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${sig}`;
  }

  /** Validates a bearer token for the F&O environment: signature, lifetime (sandbox clock), audience, tenant, app. */
  verify(authorization: string | undefined): TokenCheck {
    if (!authorization) return { ok: false, reason: 'The request does not carry an access token.' };
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match?.[1]) return { ok: false, reason: 'The authorization header is not a bearer token.' };
    const parts = match[1].split('.');
    if (parts.length !== 3) return { ok: false, reason: 'The access token is malformed.' };
    const [header, payload, sig] = parts as [string, string, string];
    const expected = createHmac('sha256', this.key).update(`${header}.${payload}`).digest();
    const given = Buffer.from(sig, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'The access token signature is invalid.' };
    }
    let claims: AccessTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
    } catch {
      return { ok: false, reason: 'The access token is malformed.' };
    }
    const now = this.config.clock.now() / 1000;
    if (claims.exp <= now) return { ok: false, reason: 'The access token is expired.' };
    if (claims.nbf > now + 300) return { ok: false, reason: 'The access token is not yet valid.' };
    if (claims.aud !== this.config.environmentUrl()) {
      return { ok: false, reason: `The audience '${claims.aud}' is invalid.` };
    }
    if (claims.tid !== this.config.tenantId)
      return { ok: false, reason: 'The token was issued by another tenant.' };
    if (claims.appid !== this.config.clientId) {
      return {
        ok: false,
        reason: 'The application is not registered in Microsoft Entra applications of this environment.',
      };
    }
    return { ok: true, claims };
  }
}
