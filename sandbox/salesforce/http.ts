/**
 * HTTP plumbing shared by the sandbox's routes: request context, replies, Salesforce-shaped
 * errors (top-level arrays of `{message, errorCode, fields?}`).
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FaultInjector, HTTP_FAULT_KINDS } from '#sandbox/shared/faults.ts';

/** A REST call after routing and authentication. */
export interface RestRequest {
  readonly method: string;
  /** The path after `/services/data/vXX.X`, e.g. `/sobjects/Account`. */
  readonly path: string;
  /** e.g. `63.0`. */
  readonly version: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly userId: string;
  /** The `client` of `Sforce-Call-Options`, when sent. */
  readonly client: string | undefined;
}

/** What a route answers. `body` is JSON unless `text` is given. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A request-level error: rendered as `[{message, errorCode, fields?}]` with `status`. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly errorCode: string;
  readonly fields: readonly string[] | undefined;
  constructor(status: number, errorCode: string, message: string, fields?: readonly string[]) {
    super(message);
    this.status = status;
    this.errorCode = errorCode;
    this.fields = fields;
  }
  toBody(): unknown[] {
    return [
      { message: this.message, errorCode: this.errorCode, ...(this.fields ? { fields: this.fields } : {}) },
    ];
  }
}

export const notFound = (): ApiError =>
  new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');

/** Parses a JSON body or throws Salesforce's JSON_PARSER_ERROR. */
export function jsonBody(req: RestRequest): unknown {
  const text = req.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      400,
      'JSON_PARSER_ERROR',
      `Unexpected character in JSON body: ${(err as Error).message}`,
    );
  }
}

/** Reads a request body up to `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, 'REQUEST_ENTITY_TOO_LARGE', 'Request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Writes a reply; `extra` headers (e.g. Sforce-Limit-Info) are added. */
export function send(res: ServerResponse, reply: Reply, extra: Readonly<Record<string, string>> = {}): void {
  const headers: Record<string, string> = { ...extra, ...(reply.headers ?? {}) };
  let payload: string | undefined;
  if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = reply.contentType ?? 'text/plain; charset=UTF-8';
  } else if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['content-type'] = 'application/json;charset=UTF-8';
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/** The `client` option of an `Sforce-Call-Options` header. https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_calloptions.htm */
export function callOptionsClient(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return undefined;
  for (const part of value.split(',')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'client' && v) return v;
  }
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Applies reset/latency faults; true when the connection was destroyed. */
export async function preFaults(faults: FaultInjector, operation: string, res: ServerResponse) {
  const decisions = faults.decide(operation, HTTP_FAULT_KINDS);
  for (const { rule } of decisions) {
    if (rule.kind === 'reset') {
      res.socket?.destroy();
      return { reset: true, decisions };
    }
    if (rule.kind === 'latency') await sleep(rule.latencyMs ?? 1000);
  }
  return { reset: false, decisions };
}
