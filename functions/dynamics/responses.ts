/**
 * Checks that 2xx answers are what the OData protocol promises before the client trusts them:
 * JSON (not an HTML sign-in page), a `value` array for collections, an object for entities, and a
 * nextLink on the environment's own origin (the bearer token travels with it).
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#paging
 */
import { redactUrl } from '#base/logger.ts';
import { DynamicsResponseError } from '#core/ports/dynamics/errors.ts';
import type { HttpResponse } from '#http/client.ts';

/** Where a response came from, for error messages. */
export interface ResponseContext {
  readonly operation: string;
  readonly url: string;
}

function fail(message: string, ctx: ResponseContext, response: HttpResponse, cause?: unknown): never {
  throw new DynamicsResponseError(
    message,
    { operation: ctx.operation, url: redactUrl(ctx.url), status: response.status, body: response.text },
    cause === undefined ? undefined : { cause },
  );
}

/** Parses a JSON body; DynamicsResponseError for another content type or malformed JSON. */
export function parseJsonBody(response: HttpResponse, ctx: ResponseContext): unknown {
  const type = response.header('content-type');
  if (type !== undefined && !/json/i.test(type)) fail(`expected JSON, got ${type}`, ctx, response);
  try {
    return JSON.parse(response.text);
  } catch (cause) {
    return fail('the response body is not JSON', ctx, response, cause);
  }
}

/** An OData collection page: its records, `@odata.count` and validated `@odata.nextLink`. */
export interface CollectionBody {
  readonly value: readonly Record<string, unknown>[];
  readonly count: number | undefined;
  readonly nextLink: string | undefined;
}

/** Validates a collection answer; the nextLink must stay on `origin`. */
export function parseCollection(
  response: HttpResponse,
  ctx: ResponseContext,
  origin: string,
): CollectionBody {
  const body = parseJsonBody(response, ctx) as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || !Array.isArray(body.value)) {
    return fail('the response is not an OData collection (no value array)', ctx, response);
  }
  const link = body['@odata.nextLink'];
  let nextLink: string | undefined;
  if (link !== undefined && link !== null) {
    let linkOrigin: string | undefined;
    try {
      linkOrigin = typeof link === 'string' ? new URL(link).origin : undefined;
    } catch {
      linkOrigin = undefined;
    }
    if (linkOrigin !== origin)
      fail(`@odata.nextLink ${String(link).slice(0, 120)} is not on ${origin}`, ctx, response);
    nextLink = link as string;
  }
  const count = typeof body['@odata.count'] === 'number' ? body['@odata.count'] : undefined;
  return { value: body.value as Record<string, unknown>[], count, nextLink };
}

/** Validates a single-entity answer (a JSON object). */
export function parseEntity(response: HttpResponse, ctx: ResponseContext): Record<string, unknown> {
  const body = parseJsonBody(response, ctx);
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return fail('the response is not an OData entity', ctx, response);
  }
  return body as Record<string, unknown>;
}
