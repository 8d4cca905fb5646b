/**
 * OAuth 2.0 client credentials flow on the My Domain origin, and access-token validation.
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
 * Tokens are opaque (`<orgId15>!<random>`), carry no expiry in the response (no `expires_in`, no
 * refresh token) and lapse after the session timeout of inactivity on the sandbox clock.
 * https://help.salesforce.com/s/articleView?id=sf.admin_sessions.htm
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SandboxClock } from '#sandbox/shared/clock.ts';

export interface TokenResponse {
  readonly access_token: string;
  readonly signature: string;
  readonly scope: string;
  readonly instance_url: string;
  readonly api_instance_url: string;
  readonly id: string;
  readonly token_type: 'Bearer';
  readonly issued_at: string;
}

/** An OAuth error as the token endpoint returns it (HTTP 400 unless `status` says otherwise). */
export interface OAuthError {
  readonly status: number;
  readonly error: string;
  readonly error_description: string;
}

export interface AuthOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly orgId: string;
  /** The run-as user of the connected app's client credentials flow. */
  readonly userId: string;
  readonly instanceUrl: string;
  readonly clock: SandboxClock;
  readonly sessionTimeoutMs: number;
}

interface Session {
  readonly orgId: string;
  readonly userId: string;
  lastActivity: number;
}

const safeEqual = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Mints and validates the sandbox org's access tokens. */
export class AuthServer {
  readonly options: AuthOptions;
  private readonly sessions = new Map<string, Session>();

  constructor(options: AuthOptions) {
    this.options = options;
  }

  /**
   * Handles a token request body (form fields) plus an optional `Authorization: Basic` header.
   * https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_flow_errors.htm
   */
  token(form: URLSearchParams, authorization: string | undefined): TokenResponse | OAuthError {
    const grant = form.get('grant_type');
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    if (authorization?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId = decodeURIComponent(decoded.slice(0, colon));
        clientSecret = decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    if (grant !== 'client_credentials') {
      return { status: 400, error: 'unsupported_grant_type', error_description: 'grant type not supported' };
    }
    if (!clientId || !safeEqual(clientId, this.options.clientId)) {
      return { status: 400, error: 'invalid_client_id', error_description: 'client identifier invalid' };
    }
    if (!clientSecret || !safeEqual(clientSecret, this.options.clientSecret)) {
      return { status: 400, error: 'invalid_client', error_description: 'invalid client credentials' };
    }
    const { orgId, userId, instanceUrl } = this.options;
    const accessToken = `${orgId.slice(0, 15)}!${randomBytes(72).toString('base64url')}`;
    const now = this.options.clock.now();
    this.sessions.set(accessToken, { orgId, userId, lastActivity: now });
    const id = `https://login.salesforce.com/id/${orgId}/${userId}`;
    const issuedAt = String(now);
    // signature: HMAC-SHA256 of id + issued_at keyed by the client secret, base64.
    // https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
    const signature = createHmac('sha256', this.options.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    return {
      access_token: accessToken,
      signature,
      scope: 'api',
      instance_url: instanceUrl,
      api_instance_url: instanceUrl,
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }

  /** The session of a valid token (refreshing its inactivity timer when `touch`), or undefined. */
  verify(token: string, touch = true): { orgId: string; userId: string } | undefined {
    const session = this.sessions.get(token);
    if (!session) return undefined;
    const now = this.options.clock.now();
    if (now - session.lastActivity > this.options.sessionTimeoutMs) {
      this.sessions.delete(token);
      return undefined;
    }
    if (touch) session.lastActivity = now;
    return { orgId: session.orgId, userId: session.userId };
  }

  /** Ends a session (as the `token-expiry` fault and revocation do). */
  revoke(token: string): void {
    this.sessions.delete(token);
  }
}
