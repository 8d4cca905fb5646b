/**
 * The two HTTPS origins of the sandbox org: My Domain (the OAuth token endpoint) and the
 * instance (REST API v63.0, Bulk API 2.0, the control surface). Every REST call passes, in order:
 * fault injection, authentication, the daily allocation, call counting and added latency.
 *
 * Fault operation names: `token`, `rest.query`, `rest.sobject`, `rest.composite`, `rest.bulk`,
 * `rest.describe`, `rest.limits`, `rest.versions`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from '#sandbox/shared/faults.ts';
import type { SandboxTls } from '#sandbox/shared/tls.ts';
import type { AuthServer } from './auth.ts';
import type { BulkIngest } from './bulk.ts';
import { handleCollections } from './composite.ts';
import {
  ApiError,
  callOptionsClient,
  notFound,
  preFaults,
  type Reply,
  type RestRequest,
  readBody,
  send,
  sleep,
} from './http.ts';
import type { ApiUsage, CallCounters } from './limits.ts';
import { myDomainHandler } from './my-domain.ts';
import type { Org } from './org.ts';
import { clampBatch, QueryError } from './query.ts';
import { handleSobjects } from './sobjects.ts';

export interface ServerDeps {
  readonly org: Org;
  readonly auth: AuthServer;
  readonly bulk: BulkIngest;
  readonly faults: FaultInjector;
  readonly usage: ApiUsage;
  readonly counters: CallCounters;
  readonly latencyMs: number;
  readonly upsertUpdatedStatus: 200 | 204;
  readonly control: (req: IncomingMessage, url: URL, body: Buffer) => Reply;
}

/** API versions the instance serves; all behave as v63.0. */
const VERSIONS = [
  { label: "Summer '24", version: '61.0' },
  { label: "Winter '25", version: '62.0' },
  { label: "Spring '25", version: '63.0' },
];
const MIN_VERSION = 31;
const MAX_BODY = 160 * 1024 * 1024;

/** Which fault/counter operation a REST path belongs to. */
export function operationOf(path: string): string {
  if (path === '/limits' || path === '/limits/') return 'rest.limits';
  if (path.startsWith('/query') || path.startsWith('/queryAll')) return 'rest.query';
  if (path.startsWith('/composite')) return 'rest.composite';
  if (path.startsWith('/jobs/')) return 'rest.bulk';
  if (path === '/sobjects' || path === '/sobjects/' || /^\/sobjects\/[^/]+\/?(describe\/?)?$/.test(path)) {
    return /^\/sobjects\/[^/]+\/?$/.test(path) ? 'rest.sobject' : 'rest.describe';
  }
  return 'rest.sobject';
}

/** A 5xx body as Salesforce sends it. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm */
function faultError(status: number): ApiError {
  if (status === 503)
    return new ApiError(503, 'SERVER_UNAVAILABLE', 'Server is unavailable. Try again later.');
  return new ApiError(
    status,
    'UNKNOWN_EXCEPTION',
    'An unexpected error occurred. Please include this ErrorId if you contact support: 1850470245-94751 (-1369135803)',
  );
}

function restRoutes(deps: ServerDeps, req: RestRequest): Reply {
  const { org } = deps;
  const p = req.path;
  if (p === '' || p === '/') {
    const base = `/services/data/v${req.version}`;
    return {
      status: 200,
      body: {
        sobjects: `${base}/sobjects`,
        query: `${base}/query`,
        queryAll: `${base}/queryAll`,
        limits: `${base}/limits`,
        composite: `${base}/composite`,
        jobs: `${base}/jobs`,
      },
    };
  }
  if (p === '/limits' || p === '/limits/') {
    return {
      status: 200,
      body: {
        DailyApiRequests: { Max: deps.usage.max, Remaining: deps.usage.remaining },
        DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
        DailyBulkV2QueryFileStorageMB: { Max: 976562, Remaining: 976562 },
        DataStorageMB: { Max: 5, Remaining: 5 },
        ConcurrentAsyncGetReportInstances: { Max: 200, Remaining: 200 },
      },
    };
  }
  const queryMatch = /^\/(query|queryAll)\/?(?:([^/-]+)-(\d+))?\/?$/.exec(p);
  if (queryMatch) {
    if (req.method !== 'GET')
      throw new ApiError(
        405,
        'METHOD_NOT_ALLOWED',
        `HTTP Method '${req.method}' not allowed. Allowed are GET,HEAD`,
      );
    try {
      if (queryMatch[2]) return { status: 200, body: org.queries.more(queryMatch[2], Number(queryMatch[3])) };
      const q = req.query.get('q');
      if (!q) throw new ApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
      const options = String(req.headers['sforce-query-options'] ?? '');
      const m = /batchSize\s*=\s*(\d+)/i.exec(options);
      return {
        status: 200,
        body: org.queries.run(q, {
          all: queryMatch[1] === 'queryAll',
          batchSize: clampBatch(m ? Number(m[1]) : undefined),
          version: req.version,
          userId: req.userId,
        }),
      };
    } catch (err) {
      if (err instanceof QueryError) throw new ApiError(err.status, err.errorCode, err.message);
      throw err;
    }
  }
  const reply =
    handleSobjects(org, req, { upsertUpdatedStatus: deps.upsertUpdatedStatus }) ??
    handleCollections(org, req) ??
    deps.bulk.handle(req);
  if (!reply) throw notFound();
  return reply;
}

/** The instance origin's request handler. */
function instanceHandler(deps: ServerDeps) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://instance');
    const path = url.pathname;
    try {
      const body = await readBody(req, MAX_BODY);
      if (path.startsWith('/_sandbox/')) return send(res, deps.control(req, url, body));
      if (path === '/services/oauth2/token') {
        // The token endpoint answers only on My Domain; elsewhere Salesforce refuses client credentials.
        return send(res, {
          status: 400,
          body: { error: 'invalid_grant', error_description: 'request not supported on this domain' },
        });
      }
      if (path === '/services/data' || path === '/services/data/') {
        const { reset } = await preFaults(deps.faults, 'rest.versions', res);
        if (reset) return;
        return send(res, {
          status: 200,
          body: VERSIONS.map((v) => ({ ...v, url: `/services/data/v${v.version}` })),
        });
      }
      const m = /^\/services\/data\/v(\d+)\.0(\/.*)?$/.exec(path);
      if (!m || Number(m[1]) < MIN_VERSION || Number(m[1]) > 63)
        return send(res, { status: 404, body: notFound().toBody() });
      const version = `${m[1]}.0`;
      const restPath = m[2] ?? '';
      const operation = operationOf(restPath);
      const { reset, decisions } = await preFaults(deps.faults, operation, res);
      if (reset) return;
      const limitHeader = () => ({ 'Sforce-Limit-Info': deps.usage.header() });
      const bearer = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
      if (bearer && decisions.some((d) => d.rule.kind === 'token-expiry')) deps.auth.revoke(bearer);
      const session = bearer ? deps.auth.verify(bearer) : undefined;
      if (!session) {
        return send(res, {
          status: 401,
          body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
        });
      }
      for (const { rule } of decisions) {
        if (rule.kind === 'throttle') {
          const retryAfter = rule.retryAfterDate
            ? new Date(Date.now() + (rule.retryAfterSeconds ?? 1) * 1000).toUTCString()
            : String(rule.retryAfterSeconds ?? 1);
          return send(
            res,
            {
              status: 429,
              body: [{ message: 'Too many requests. Try again later.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
              headers: { 'Retry-After': retryAfter },
            },
            limitHeader(),
          );
        }
        if (rule.kind === 'error') {
          const err = faultError(rule.status ?? 503);
          return send(res, { status: err.status, body: err.toBody() }, limitHeader());
        }
      }
      // https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm
      if (!deps.usage.take()) {
        return send(
          res,
          {
            status: 403,
            body: [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
          },
          limitHeader(),
        );
      }
      deps.counters.increment(operation);
      if (deps.latencyMs > 0) await sleep(deps.latencyMs);
      const restReq: RestRequest = {
        method: req.method ?? 'GET',
        path: restPath,
        version,
        query: url.searchParams,
        headers: req.headers,
        body,
        userId: session.userId,
        client: callOptionsClient(req.headers['sforce-call-options']),
      };
      let reply: Reply;
      try {
        reply = restRoutes(deps, restReq);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        reply = { status: err.status, body: err.toBody() };
      }
      send(res, reply, limitHeader());
    } catch (err) {
      if (err instanceof ApiError) return send(res, { status: err.status, body: err.toBody() });
      // The client gave up on its request (e.g. a streamed Bulk upload it aborted): nothing to answer.
      if (req.destroyed && (err as { code?: string }).code === 'ECONNRESET') return void res.destroy();
      const e = faultError(500);
      // Never echo request data (it may hold secrets); report the error class only.
      process.emitWarning(`salesforce sandbox: unexpected ${(err as Error).name}: ${(err as Error).message}`);
      if (!res.headersSent) send(res, { status: 500, body: e.toBody() });
      else res.destroy();
    }
  };
}

/** Starts an HTTPS server on `host:port` and resolves its bound port. */
function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export interface RunningServers {
  readonly myDomainPort: number;
  readonly instancePort: number;
  close(): Promise<void>;
}

/** Starts both origins. */
export async function startServers(
  deps: ServerDeps,
  tls: SandboxTls,
  host: string,
  ports: { myDomain: number; instance: number },
): Promise<RunningServers> {
  const options = { key: tls.key, cert: tls.cert };
  const onMyDomain = myDomainHandler(deps);
  const onInstance = instanceHandler(deps);
  const myDomain = createServer(options, (req, res) => void onMyDomain(req, res));
  // A Bulk upload streams for as long as the client reads its source: allow an hour per request
  // (Node's default is 5 minutes). UNCONFIRMED: how long Salesforce keeps an upload open.
  const instance = createServer(
    { ...options, requestTimeout: 3_600_000 },
    (req, res) => void onInstance(req, res),
  );
  const myDomainPort = await listen(myDomain, host, ports.myDomain);
  let instancePort: number;
  try {
    instancePort = await listen(instance, host, ports.instance);
  } catch (err) {
    myDomain.close();
    throw err;
  }
  const stop = (s: Server) =>
    new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  return {
    myDomainPort,
    instancePort,
    close: async () => {
      await Promise.all([stop(myDomain), stop(instance)]);
    },
  };
}
