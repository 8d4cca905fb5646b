/**
 * The Salesforce REST transport on the shared HTTP layer: the REST base comes from the session's
 * `instance_url` per request, the token source backs the layer's 401 re-mint-once hook, every write
 * is tagged `Sforce-Call-Options: client=<id>` (CDC `changeOrigin`, for loop prevention:
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_calloptions.htm),
 * the API budget admits each call and reads `Sforce-Limit-Info` from each response, and error
 * arrays become SalesforceApiError.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { HttpError, ValidationError } from '#base/errors.ts';
import { type Logger, redactUrl, silentLogger } from '#base/logger.ts';
import { parseSalesforceErrors, SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import {
  type AuthProvider,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpMethod,
  type HttpResponse,
} from '#http/client.ts';
import { type CallCounter, createCallCounter } from '#http/counters.ts';
import { Agent, type Dispatcher } from '#http/undici.ts';
import { type ClientCredentialsTokenSource, createClientCredentialsTokenSource } from './auth.ts';
import { type ApiBudget, type ApiBudgetOptions, sharedApiBudget } from './budget.ts';
import { normalizeMyDomainUrl } from './my-domain.ts';

export interface SalesforceTransportOptions {
  /** The org's My Domain URL (token endpoint), e.g. `https://acme.my.salesforce.com`. */
  readonly myDomainUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** REST API version without the `v`. Default `63.0`. */
  readonly apiVersion?: string;
  /** The client id written into `Sforce-Call-Options` on writes. Default `ml-connector`. */
  readonly callOptionsClient?: string;
  /** A shared undici dispatcher; default one Agent owned (and closed) by the client. */
  readonly dispatcher?: Dispatcher;
  /** Options passed to the HTTP layer (retry, time-outs, counter, …). */
  readonly http?: Partial<HttpClientOptions>;
  /** The org's budget tracker; default the process-wide one for this My Domain. */
  readonly budget?: ApiBudget;
  /** Options for the shared budget when none is injected. */
  readonly budgetOptions?: ApiBudgetOptions;
  /** Accept a custom My Domain host (not `*.my.salesforce.com`). */
  readonly allowCustomDomain?: boolean;
  readonly logger?: Logger;
}

export interface RestRequest {
  readonly method: HttpMethod;
  /**
   * `/query?q=…` (relative to `/services/data/vXX.X`), `/services/…` (relative to the instance,
   * e.g. `nextRecordsUrl`) or `services/…` (a Bulk `contentUrl`).
   */
  readonly path: string;
  readonly operation: string;
  readonly json?: unknown;
  /** A string, bytes, or a one-shot stream (sent once: never retried, see HttpRequest.body). */
  readonly body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /** Streams a 2xx body into this function instead of buffering it (see HttpRequest.readBody). */
  readonly readBody?: (body: AsyncIterable<Uint8Array>) => Promise<void>;
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses handed back instead of thrown (e.g. 404 for a lookup). */
  readonly accept?: readonly number[];
  readonly idempotent?: boolean;
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
}

export interface SalesforceTransport {
  send(request: RestRequest): Promise<HttpResponse>;
  readonly apiVersion: string;
  readonly myDomainUrl: string;
  readonly budget: ApiBudget;
  /** REST and token calls, by operation (`oauth.token` counts mints). */
  readonly counter: CallCounter;
  readonly tokenSource: ClientCredentialsTokenSource;
  readonly logger: Logger;
  close(): Promise<void>;
}

const WRITES: ReadonlySet<HttpMethod> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** 3xx/4xx we turn into SalesforceApiError ourselves (full body); 429 stays with the retry policy. */
const HANDLED = Array.from({ length: 200 }, (_, i) => 300 + i).filter((s) => s !== 429);

/** Per logical call: the token it last presented (so a 401 replaces exactly that one) and its attempts. */
interface CallSlot {
  readonly operation: string;
  token?: string;
  attempts: number;
}
const calls = new AsyncLocalStorage<CallSlot>();

/**
 * Authorization for every attempt. The HTTP layer asks before each attempt, so retries and the
 * 401 replay pass the budget check here too (the first attempt was admitted by `acquire`).
 */
function authProvider(tokens: ClientCredentialsTokenSource, budget: ApiBudget): AuthProvider {
  return {
    async headers({ force }) {
      const slot = calls.getStore();
      if (slot && slot.attempts++ > 0) budget.admitRetry(slot.operation);
      const session =
        force && slot?.token
          ? await tokens.replaceStale(slot.token)
          : await tokens.getSession({ forceRefresh: force });
      if (slot) slot.token = session.accessToken;
      return { authorization: `Bearer ${session.accessToken}` };
    },
  };
}

/** Creates the transport. One per org per process; `close()` releases an owned dispatcher. */
export function createSalesforceTransport(options: SalesforceTransportOptions): SalesforceTransport {
  const myDomainUrl = normalizeMyDomainUrl(options.myDomainUrl, {
    allowCustomDomain: options.allowCustomDomain ?? false,
  });
  if (!options.clientId) throw new ValidationError('clientId is required', { field: 'clientId' });
  if (!options.clientSecret) throw new ValidationError('clientSecret is required', { field: 'clientSecret' });
  const apiVersion = options.apiVersion ?? '63.0';
  if (!/^\d{2,3}\.0$/.test(apiVersion))
    throw new ValidationError(`apiVersion must look like 63.0, got ${apiVersion}`, { field: 'apiVersion' });
  const client = options.callOptionsClient ?? 'ml-connector';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(client)) {
    throw new ValidationError(
      `callOptionsClient must be 1–64 letters, digits, '_', '.' or '-', got ${JSON.stringify(client)}`,
      { field: 'callOptionsClient' },
    );
  }
  const callOptions = `client=${client}`;
  const logger = options.logger ?? options.http?.logger ?? silentLogger;
  const owned = options.dispatcher || options.http?.dispatcher ? undefined : new Agent({ connections: 32 });
  const dispatcher = options.dispatcher ?? options.http?.dispatcher ?? (owned as Dispatcher);
  const counter = options.http?.counter ?? createCallCounter();
  const now = options.http?.now ?? Date.now;
  const budget = options.budget ?? sharedApiBudget(myDomainUrl, options.budgetOptions);
  const userOnResponse = options.http?.onResponse;

  // The token request authenticates itself: no auth provider, no usage hook.
  const { auth: _auth, onResponse: _onResponse, ...tokenOptions } = options.http ?? {};
  const tokenHttp = createHttpClient({ ...tokenOptions, dispatcher, counter, logger });
  const tokenSource = createClientCredentialsTokenSource({
    myDomainUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    http: tokenHttp,
    logger,
    now,
  });
  const sentAt = new WeakMap<object, number>();
  const http: HttpClient = createHttpClient({
    ...options.http,
    dispatcher,
    counter,
    logger,
    auth: authProvider(tokenSource, budget),
    onResponse(response, request) {
      budget.observe(response.header('sforce-limit-info'), sentAt.get(request));
      userOnResponse?.(response, request);
    },
  });

  function resolve(instanceUrl: string, path: string): string {
    if (/^https?:\/\//i.test(path))
      throw new ValidationError('REST paths are relative to the instance URL', { field: 'path' });
    if (path.startsWith('/services/')) return instanceUrl + path;
    if (path.startsWith('services/')) return `${instanceUrl}/${path}`;
    return `${instanceUrl}/services/data/v${apiVersion}${path.startsWith('/') ? path : `/${path}`}`;
  }

  async function send(req: RestRequest): Promise<HttpResponse> {
    const release = budget.acquire(req.operation);
    try {
      const session = await tokenSource.getSession();
      const response = await sendTo(req, session.instanceUrl);
      if (response.status !== 401) return response;
      // The HTTP layer replayed the 401 to the same URL; if the re-mint moved the org to another
      // instance (org migration), send once more to the new instance_url.
      const fresh = await tokenSource.getSession();
      // A streamed body is spent: it cannot be sent again (the caller redoes the whole upload).
      const spent =
        req.body !== undefined && typeof req.body !== 'string' && !(req.body instanceof Uint8Array);
      if (fresh.instanceUrl === session.instanceUrl || spent)
        return throwIfError(req, response, session.instanceUrl);
      logger.info('salesforce.instance_moved', { from: session.instanceUrl, to: fresh.instanceUrl });
      return await sendTo(req, fresh.instanceUrl, true);
    } finally {
      release();
    }
  }

  /** One call through the HTTP layer; a final 401 is handed back unless `final`. */
  async function sendTo(req: RestRequest, instanceUrl: string, final = false): Promise<HttpResponse> {
    const url = resolve(instanceUrl, req.path);
    const headers: Record<string, string> = { ...req.headers };
    if (WRITES.has(req.method)) headers['sforce-call-options'] = callOptions;
    const request = {
      method: req.method,
      url,
      operation: req.operation,
      headers,
      accept: [...HANDLED, ...(req.accept ?? [])],
      ...(req.json !== undefined ? { json: req.json } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(req.readBody !== undefined ? { readBody: req.readBody } : {}),
      ...(req.idempotent !== undefined ? { idempotent: req.idempotent } : {}),
      ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
      signal: req.signal,
    };
    sentAt.set(request, now());
    let response: HttpResponse;
    try {
      response = await calls.run({ operation: req.operation, attempts: 0 }, () => http.send(request));
    } catch (error) {
      if (error instanceof HttpError && !(error instanceof SalesforceApiError)) {
        throw toApiError(req, url, error.status, error.bodyExcerpt ?? '', error);
      }
      throw error;
    }
    return response.status === 401 && !final ? response : throwIfError(req, response, instanceUrl);
  }

  /** Returns accepted responses; throws SalesforceApiError, or ApiBudgetError for the daily limit. */
  function throwIfError(req: RestRequest, response: HttpResponse, instanceUrl: string): HttpResponse {
    if (response.status < 300 || req.accept?.includes(response.status)) return response;
    const apiError = toApiError(req, resolve(instanceUrl, req.path), response.status, response.text);
    if (response.status === 403 && apiError.errorCode === 'REQUEST_LIMIT_EXCEEDED') {
      logger.warn('salesforce.limit_exceeded', { operation: req.operation, message: apiError.vendorMessage });
      throw budget.limitExceeded(req.operation, apiError.vendorMessage ?? 'REQUEST_LIMIT_EXCEEDED', apiError);
    }
    throw apiError;
  }

  function toApiError(req: RestRequest, url: string, status: number, text: string, cause?: unknown) {
    const errors = parseSalesforceErrors(text);
    return new SalesforceApiError(
      {
        method: req.method,
        url: redactUrl(url),
        status,
        bodyExcerpt: text.slice(0, 500),
        operation: req.operation,
      },
      errors,
      cause === undefined ? undefined : { cause },
    );
  }

  return {
    send,
    apiVersion,
    myDomainUrl,
    budget,
    counter,
    tokenSource,
    logger,
    async close() {
      await owned?.close();
    },
  };
}
