/**
 * What every Salesforce API surface (REST, Bulk, Pub/Sub) needs from authentication. The
 * client-credentials flow produces it; there is no refresh token, so a stale session is replaced
 * by minting a new one (`forceRefresh`).
 */
export interface SalesforceSession {
  readonly accessToken: string;
  /** The REST base origin from the token response's `instance_url` (never from configuration). */
  readonly instanceUrl: string;
  /** The 18-character org id, parsed from the token response's `id` URL (the Pub/Sub `tenantid`). */
  readonly orgId: string;
  /** The integration user's id, parsed from the same `id` URL. */
  readonly userId: string;
  /** When the token was issued (`issued_at`, epoch ms). */
  readonly issuedAt: number;
}

/** Hands out the current session; concurrent callers share one in-flight token request. */
export interface SalesforceTokenSource {
  /**
   * The current session, minting one if none is cached. With `forceRefresh` (after a 401 or
   * UNAUTHENTICATED), mints a new one even if one is cached; concurrent forced refreshes share one request.
   */
  getSession(options?: { readonly forceRefresh?: boolean }): Promise<SalesforceSession>;
}
