/**
 * The two HTTPS listeners: the F&O environment (`/data/` OData + `/_sandbox/` control) and the
 * Entra stand-in (token endpoint + discovery). Applies fault injection, fixed latency, call
 * counters and bearer-token checks in front of the handlers.
 *
 * Fault operation names: `token` (token endpoint), `odata.read` (GET), `odata.create` (POST),
 * `odata.update` (PATCH/PUT), `odata.delete` (DELETE). The control surface is never faulted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { type FaultInjector, type FaultRule, HTTP_FAULT_KINDS } from '#sandbox/shared/faults.ts';
import type { SandboxTls } from '#sandbox/shared/tls.ts';
import type { Authority } from './auth.ts';
import { type CallCounters, controlAuthorized, type DynamicsControl, handleControlHttp } from './control.ts';
import { entitySetOf, handleOData, type ODataContext, OPERATIONS } from './odata.ts';

const MAX_BODY = 10 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined
      ? {}
      : { 'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true' }),
    ...headers,
  });
  res.end(text);
}

const odataErrorBody = (_status: number, message: string) => ({ error: { code: '', message } });

/** Entra's shape for transient failures of the token endpoint. */
const entraErrorBody = (status: number, message: string) => ({
  error: status === 429 ? 'temporarily_unavailable' : 'server_error',
  error_description: message,
  timestamp: `${new Date().toISOString().slice(0, 19).replace('T', ' ')}Z`,
  trace_id: crypto.randomUUID(),
  correlation_id: crypto.randomUUID(),
});

/** Applies the injected faults for `operation`; returns true when the request was answered (or dropped). */
async function applyFaults(
  faults: FaultInjector,
  operation: string,
  req: IncomingMessage,
  res: ServerResponse,
  clock: SandboxClock,
  errorBody: (status: number, message: string) => unknown = odataErrorBody,
): Promise<{ handled: boolean; tokenExpiry: boolean }> {
  const decisions = faults.decide(operation, HTTP_FAULT_KINDS).map((d) => d.rule);
  const byKind = (kind: FaultRule['kind']) => decisions.find((r) => r.kind === kind);
  const latency = byKind('latency');
  if (latency) await sleep(latency.latencyMs ?? 1000);
  if (byKind('reset')) {
    req.socket.destroy();
    return { handled: true, tokenExpiry: false };
  }
  const throttle = byKind('throttle');
  if (throttle) {
    // Service protection API limits: 429 with Retry-After (seconds).
    // https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/priority-based-throttling
    const seconds = throttle.retryAfterSeconds ?? 1;
    const retryAfter = throttle.retryAfterDate
      ? new Date(clock.now() + seconds * 1000).toUTCString()
      : String(seconds);
    const message =
      'The request was throttled by service protection limits. Retry after the interval in the Retry-After header.';
    sendJson(res, 429, errorBody(429, message), { 'retry-after': retryAfter });
    return { handled: true, tokenExpiry: false };
  }
  const error = byKind('error');
  if (error) {
    const status = error.status ?? 503;
    sendJson(
      res,
      status,
      errorBody(status, status === 503 ? 'Service Unavailable' : 'An error has occurred.'),
    );
    return { handled: true, tokenExpiry: false };
  }
  return { handled: false, tokenExpiry: byKind('token-expiry') !== undefined };
}

export interface EnvironmentServerDeps {
  readonly odata: () => ODataContext;
  readonly authority: Authority;
  readonly authorityHost: () => string;
  readonly tenantId: string;
  readonly faults: FaultInjector;
  readonly counters: CallCounters;
  readonly clock: SandboxClock;
  readonly latencyMs: number;
  readonly maxUrlLength: number;
  readonly control: DynamicsControl;
  readonly controlToken: string;
}

async function handleEnvironment(
  deps: EnvironmentServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
  const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
  const rawQuery = (req.url ?? '').includes('?')
    ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1)
    : '';
  const body = await readBody(req);

  if (url.pathname.startsWith('/_sandbox/')) {
    if (!controlAuthorized(req.headers.authorization, deps.controlToken)) {
      sendJson(res, 401, { error: 'the control surface needs Authorization: Bearer <controlToken>' });
      return;
    }
    const result = await handleControlHttp(
      deps.control,
      req.method ?? 'GET',
      url.pathname.slice('/_sandbox/'.length),
      url.searchParams,
      body,
    );
    sendJson(res, result.status, result.body);
    return;
  }
  if (!rawPath.startsWith('/data/') && rawPath !== '/data') {
    sendJson(res, 404, {
      error: { code: '', message: `No HTTP resource was found that matches the request URI '${rawPath}'.` },
    });
    return;
  }
  if ((req.url ?? '').length > deps.maxUrlLength) {
    // http.sys refuses over-long request URLs before F&O sees them (limit unconfirmed; configurable).
    res.writeHead(414, { 'content-type': 'text/html; charset=us-ascii' });
    res.end(
      '<h2>Bad Request - Request URL Too Long</h2><hr><p>HTTP Error 414. The request URL is too long.</p>',
    );
    return;
  }
  const path = rawPath === '/data' ? '' : rawPath.slice('/data/'.length);
  const operation = path === '$batch' ? 'odata.batch' : (OPERATIONS[req.method ?? ''] ?? 'odata.other');
  deps.counters.record(operation, entitySetOf(path));
  const fault = await applyFaults(deps.faults, operation, req, res, deps.clock);
  if (fault.handled) return;
  if (deps.latencyMs > 0) await sleep(deps.latencyMs);

  const check = deps.authority.verify(req.headers.authorization);
  if (!check.ok || fault.tokenExpiry) {
    const reason = check.ok ? 'The access token is expired.' : check.reason;
    // F&O answers 401 with a Bearer challenge naming the authority; the body is empty.
    res.writeHead(401, {
      'www-authenticate': `Bearer authorization_uri="${deps.authorityHost()}/${deps.tenantId}/oauth2/authorize", error="invalid_token", error_description="${reason.replace(/"/g, "'")}"`,
      'content-length': '0',
    });
    res.end();
    return;
  }
  const context = deps.odata();
  const result = handleOData(
    { ...context, count: (op, set) => deps.counters.record(op, set) },
    {
      method: req.method ?? 'GET',
      path,
      query: rawQuery,
      headers: {
        'if-match': req.headers['if-match'],
        prefer: String(req.headers.prefer ?? ''),
        'content-type': req.headers['content-type'],
      },
      body,
    },
  );
  const headers: Record<string, string> = { 'odata-version': '4.0', ...(result.headers ?? {}) };
  if (result.text !== undefined) {
    res.writeHead(result.status, headers);
    res.end(result.text);
    return;
  }
  sendJson(res, result.status, result.body, headers);
}

export interface AuthorityServerDeps {
  readonly authority: Authority;
  readonly faults: FaultInjector;
  readonly counters: CallCounters;
  readonly clock: SandboxClock;
}

async function handleAuthority(
  deps: AuthorityServerDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
  const body = await readBody(req);
  const segments = url.pathname.split('/').filter(Boolean);
  const [tenant = '', ...rest] = segments;
  const tail = rest.join('/');
  const correlationId = String(req.headers['client-request-id'] ?? crypto.randomUUID());
  if (req.method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') {
    if (!deps.authority.knowsTenant(tenant)) {
      const err = deps.authority.token(tenant, new URLSearchParams(), undefined, correlationId);
      sendJson(res, err.status, err.body);
      return;
    }
    sendJson(res, 200, deps.authority.openIdConfiguration(tenant));
    return;
  }
  if (req.method === 'GET' && tail === 'discovery/v2.0/keys') {
    sendJson(res, 200, { keys: [] });
    return;
  }
  if (req.method === 'POST' && tail === 'oauth2/v2.0/token') {
    deps.counters.record('token');
    const fault = await applyFaults(deps.faults, 'token', req, res, deps.clock, entraErrorBody);
    if (fault.handled) return;
    const form = new URLSearchParams(body);
    const result = deps.authority.token(tenant, form, req.headers.authorization, correlationId);
    sendJson(res, result.status, result.body, { 'cache-control': 'no-store', pragma: 'no-cache' });
    return;
  }
  sendJson(res, 404, { error: 'not_found', error_description: `No endpoint at ${url.pathname}` });
}

function serve(
  tls: SandboxTls,
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Server {
  const server = createServer({ cert: tls.cert, key: tls.key, maxHeaderSize: 256 * 1024 }, (req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: '', message: 'An error has occurred.' } });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  return server;
}

/** Creates the environment listener (not yet listening). */
export const createEnvironmentServer = (tls: SandboxTls, deps: EnvironmentServerDeps): Server =>
  serve(tls, (req, res) => handleEnvironment(deps, req, res));

/** Creates the Entra stand-in listener (not yet listening). */
export const createAuthorityServer = (tls: SandboxTls, deps: AuthorityServerDeps): Server =>
  serve(tls, (req, res) => handleAuthority(deps, req, res));

/** Listens on host:port (0 = ephemeral) and returns the bound port. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes a server and its idle and active connections. */
export function shutdown(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
