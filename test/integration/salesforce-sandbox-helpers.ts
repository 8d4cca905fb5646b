/** Shared helpers for the Salesforce sandbox integration tests: start/stop, token, JSON calls. */
import jsforce from 'jsforce';
import {
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
  startSalesforceSandbox,
} from '#sandbox/salesforce/index.ts';

export async function startSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  return startSalesforceSandbox({ bulkProcessingDelayMs: 40, ...options });
}

/** Mints a token with the client credentials flow on My Domain. */
export async function mintToken(sandbox: SalesforceSandbox): Promise<string> {
  const res = await fetch(`${sandbox.info.myDomainUrl}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: sandbox.info.clientId,
      client_secret: sandbox.info.clientSecret,
    }),
  });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls the REST API (path relative to /services/data/v63.0) with a bearer token. */
export async function api<T = unknown>(
  sandbox: SalesforceSandbox,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const url = path.startsWith('/services/')
    ? `${sandbox.info.instanceUrl}${path}`
    : `${sandbox.info.instanceUrl}/services/data/v63.0${path}`;
  const init: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** A jsforce connection logged in with client credentials on the sandbox's My Domain, as a jsforce user would. */
export async function jsforceLogin(sandbox: SalesforceSandbox): Promise<jsforce.Connection> {
  const conn = new jsforce.Connection({
    oauth2: {
      loginUrl: sandbox.info.myDomainUrl,
      clientId: sandbox.info.clientId,
      clientSecret: sandbox.info.clientSecret,
    },
    version: '63.0',
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  return conn;
}
