/**
 * The one HTTP layer for both APIs, on undici: pooled keep-alive connections, a time-out on every
 * attempt, caller abort signals, the shared retry policy (Retry-After honoured exactly), a 401
 * hook that re-mints the token once and replays once, typed errors, and call counters.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ConnectorError, HttpError, NetworkError, TimeoutError } from '#base/errors.ts';
import { type Logger, redactUrl, silentLogger } from '#base/logger.ts';
import { type CallCounter, createCallCounter } from './counters.ts';
import { parseVendorError } from './error-body.ts';
import { DEFAULT_RETRY_POLICY, decideRetry, errorCode, parseRetryAfter, type RetryPolicy } from './retry.ts';
import { Agent, type Dispatcher, undiciRequest } from './undici.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Supplies authorization headers; `force` bypasses any token cache (after a 401). */
export interface AuthProvider {
  headers(options: {
    readonly force: boolean;
    readonly signal?: AbortSignal | undefined;
  }): Promise<Record<string, string>>;
}

export interface HttpRequest {
  readonly method: HttpMethod;
  readonly url: string | URL;
  /** A name for counters, logs and errors, e.g. `odata.read`, `rest.query`. */
  readonly operation: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body (serialised, with content-type application/json). */
  readonly json?: unknown;
  /**
   * A raw body; set content-type yourself. An async iterable is streamed as it yields (e.g. a Bulk
   * upload fed while the data is read); it can be sent only once, so such a request is never
   * retried nor replayed after a 401.
   */
  readonly body?: string | Uint8Array | AsyncIterable<Uint8Array>;
  /**
   * Whether sending the request twice has the effect of sending it once. Defaults to true for
   * GET, HEAD, PUT and DELETE and false for POST and PATCH; a non-idempotent request is retried
   * only when the server proves it did not process it (429) or it never left this machine.
   */
  readonly idempotent?: boolean;
  /** Statuses the caller handles itself; anything else non-2xx throws HttpError. */
  readonly accept?: readonly number[];
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number;
  /** Set false to send without authorization headers (e.g. the token request itself). */
  readonly authenticate?: boolean;
  /** Overrides the client's retry policy for this call. */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * Called before every re-send of this request (a retry or the replay after a 401), after any
   * wait; a throw stops the call with that error and nothing is sent again. Lets a caller renew
   * (and prove it still holds) a lease before repeating a write that is not idempotent.
   */
  readonly beforeResend?: (attempt: number) => Promise<void>;
  /**
   * Streams a 2xx body into this function instead of buffering it (the response's `text` is then
   * empty); called afresh on each attempt. Error bodies are still buffered for HttpError.
   */
  readonly readBody?: (body: AsyncIterable<Uint8Array>) => Promise<void>;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
  /** Parses the body as JSON; throws a ConnectorError naming the operation if it is not JSON. */
  json<T>(): T;
  header(name: string): string | undefined;
}

export interface HttpClientOptions {
  /** A shared undici dispatcher (keep-alive pool). Default: one Agent per client. */
  readonly dispatcher?: Dispatcher;
  readonly auth?: AuthProvider;
  /** Per-attempt time-out in ms. Default 60 000. */
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly counter?: CallCounter;
  readonly logger?: Logger;
  readonly userAgent?: string;
  /** Called with every response (error responses included), e.g. to read API-usage headers. */
  readonly onResponse?: (response: HttpResponse, request: HttpRequest) => void;
  /** Extracts the vendor's error code and message from an error body. Default: {@link parseVendorError}. */
  readonly parseError?: (response: HttpResponse) => {
    errorCode?: string | undefined;
    message?: string | undefined;
  };
  /** Injectable for tests. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface HttpClient {
  send(request: HttpRequest): Promise<HttpResponse>;
  readonly counter: CallCounter;
  /** Closes the client's own dispatcher (not an injected one). */
  close(): Promise<void>;
}

const EXCERPT = 500;

function defaultIdempotent(method: HttpMethod): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'DELETE';
}

function toResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
  operation: string,
): HttpResponse {
  return {
    status,
    headers,
    text,
    json<T>(): T {
      try {
        return JSON.parse(text) as T;
      } catch (cause) {
        throw new ConnectorError(`${operation}: the response body is not JSON (${text.slice(0, 80)})`, {
          cause,
          code: 'BAD_RESPONSE',
        });
      }
    },
    header(name: string) {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

/** Whether a body is a one-shot stream (neither a string nor bytes). */
function isStream(body: HttpRequest['body']): boolean {
  return body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array);
}

function isAbort(error: unknown): boolean {
  return (
    error instanceof Error &&
    (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR')
  );
}

/** Creates an HTTP client. Build one per API per process and reuse it. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const ownDispatcher = options.dispatcher
    ? undefined
    : new Agent({ keepAliveTimeout: 30_000, connections: 32 });
  const dispatcher = options.dispatcher ?? (ownDispatcher as Dispatcher);
  const counter = options.counter ?? createCallCounter();
  const logger = options.logger ?? silentLogger;
  const basePolicy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const parseError = options.parseError ?? ((r: HttpResponse) => parseVendorError(r.text));
  const defaultTimeout = options.timeoutMs ?? 60_000;

  async function attempt(req: HttpRequest, url: URL, forceAuth: boolean): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (options.userAgent) headers['user-agent'] = options.userAgent;
    let body: string | Uint8Array | AsyncIterable<Uint8Array> | undefined = req.body;
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] ??= 'application/json';
    }
    if (options.auth && req.authenticate !== false) {
      Object.assign(headers, await options.auth.headers({ force: forceAuth, signal: req.signal }));
    }
    const timeoutMs = req.timeoutMs ?? defaultTimeout;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    try {
      const res = await undiciRequest(url, {
        method: req.method,
        headers,
        body:
          body === undefined
            ? null
            : isStream(body)
              ? Readable.from(body as AsyncIterable<Uint8Array>)
              : (body as string | Uint8Array),
        dispatcher,
        signal,
      });
      if (req.readBody && res.statusCode >= 200 && res.statusCode < 300) {
        await req.readBody(res.body);
        return toResponse(res.statusCode, res.headers, '', req.operation);
      }
      const text = await res.body.text();
      return toResponse(res.statusCode, res.headers, text, req.operation);
    } catch (error) {
      if (timeout.aborted && !req.signal?.aborted) {
        throw new TimeoutError(req.method, redactUrl(url), timeoutMs, { cause: error });
      }
      throw error;
    }
  }

  async function send(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url);
    const safeUrl = redactUrl(url);
    const streamed = isStream(req.body);
    const policy: RetryPolicy = streamed
      ? { ...basePolicy, ...req.retry, maxAttempts: 1 }
      : req.retry
        ? { ...basePolicy, ...req.retry }
        : basePolicy;
    const idempotent = req.idempotent ?? defaultIdempotent(req.method);
    const started = now();
    let reauthed = false;
    let forceAuth = false;
    for (let n = 1; ; n++) {
      req.signal?.throwIfAborted();
      if (n > 1 && req.beforeResend) await req.beforeResend(n);
      counter.record(url.host, req.operation, n > 1);
      let response: HttpResponse | undefined;
      let failure: unknown;
      try {
        response = await attempt(req, url, forceAuth);
      } catch (error) {
        if (isAbort(error) && req.signal?.aborted) throw req.signal.reason ?? error;
        if (error instanceof ConnectorError && !(error instanceof TimeoutError)) throw error;
        failure = error;
      }
      forceAuth = false;
      if (response) {
        options.onResponse?.(response, req);
        if (response.status === 401 && options.auth && req.authenticate !== false && !reauthed && !streamed) {
          // Re-mint once, bypassing the cache, and replay once (the request was not processed).
          reauthed = true;
          forceAuth = true;
          logger.info('http.reauth', { operation: req.operation, url: safeUrl });
          continue;
        }
        if ((response.status >= 200 && response.status < 300) || req.accept?.includes(response.status)) {
          return response;
        }
      }
      const decision = decideRetry(
        {
          attempt: n,
          elapsedMs: now() - started,
          idempotent,
          ...(response
            ? {
                status: response.status,
                retryAfterMs: parseRetryAfter(response.headers['retry-after'], now()),
              }
            : { error: failure }),
        },
        policy,
        random,
      );
      if (!decision.retry) {
        if (response) throw httpError(req, safeUrl, response);
        if (failure instanceof TimeoutError) throw failure;
        throw new NetworkError(req.method, safeUrl, errorCode(failure), { cause: failure });
      }
      logger.warn('http.retry', {
        operation: req.operation,
        url: safeUrl,
        attempt: n,
        delayMs: decision.delayMs,
        reason: decision.reason,
      });
      await sleep(decision.delayMs, req.signal);
    }
  }

  function httpError(req: HttpRequest, safeUrl: string, response: HttpResponse): HttpError {
    const vendor = parseError(response);
    return new HttpError({
      method: req.method,
      url: safeUrl,
      status: response.status,
      errorCode: vendor.errorCode,
      vendorMessage: vendor.message,
      bodyExcerpt: response.text.slice(0, EXCERPT),
      operation: req.operation,
    });
  }

  return {
    send,
    counter,
    async close() {
      await ownDispatcher?.close();
    },
  };
}
