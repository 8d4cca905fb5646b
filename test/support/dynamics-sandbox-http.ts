import type { DynamicsSandboxInfo } from '#sandbox/dynamics/index.ts';

/** A minimal raw HTTP helper for the Dynamics sandbox tests (not the connector's client). */
export interface SandboxHttp {
  token(): Promise<string>;
  /** GET/POST/PATCH/DELETE on a path under /data/ (already encoded) or an absolute URL. */
  call(
    method: string,
    pathOrUrl: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }>;
  /** The JSON of a successful GET; fails the test on other statuses. */
  get(pathOrUrl: string): Promise<Record<string, unknown>>;
}

export function sandboxHttp(info: DynamicsSandboxInfo): SandboxHttp {
  let token: string | undefined;
  const http: SandboxHttp = {
    async token() {
      if (token) return token;
      const res = await fetch(`${info.authorityHost}/${info.tenantId}/oauth2/v2.0/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: info.clientId,
          client_secret: info.clientSecret,
          scope: `${info.environmentUrl}/.default`,
        }),
      });
      const body = (await res.json()) as { access_token: string };
      token = body.access_token;
      return token;
    },
    async call(method, pathOrUrl, body, headers = {}) {
      const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${info.odataUrl}${pathOrUrl}`;
      const res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${await http.token()}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        json:
          text && res.headers.get('content-type')?.includes('json')
            ? (JSON.parse(text) as Record<string, unknown>)
            : {},
      };
    },
    async get(pathOrUrl) {
      const res = await http.call('GET', pathOrUrl);
      if (res.status !== 200)
        throw new Error(`GET ${pathOrUrl} answered ${res.status}: ${JSON.stringify(res.json)}`);
      return res.json;
    },
  };
  return http;
}

/** The `innererror.message` of an F&O error body (the Infolog text), or the outer message. */
export function errorText(json: Record<string, unknown>): string {
  const error = json.error as { message?: string; innererror?: { message?: string } } | undefined;
  return `${error?.message ?? ''} ${error?.innererror?.message ?? ''}`;
}
