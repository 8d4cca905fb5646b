/**
 * OData `$batch`: several GETs in one multipart/mixed POST, so a read by many keys costs one call
 * instead of one per URL-length chunk; and writes in one change set, which the service applies all
 * or none. The outer answer is 200 even when parts fail, so every part is checked.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#batch-requests
 * https://docs.oasis-open.org/odata/odata/v4.01/os/part1-protocol/odata-v4.01-os-part1-protocol.html#sec_MultipartBatchFormat
 */
import { randomUUID } from 'node:crypto';
import type { HttpResponse } from '#http/client.ts';

/** GETs per `$batch` request (F&O accepts up to 5,000 operations; smaller keeps responses modest). */
export const MAX_BATCH_READS = 100;

/** The multipart body of a batch of GETs, and its content type. */
export function buildBatchReads(urls: readonly string[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const parts = urls.map((url) =>
    [
      `--${boundary}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      '',
      `GET ${url} HTTP/1.1`,
      'Accept: application/json',
      '',
      '',
    ].join('\r\n'),
  );
  return {
    contentType: `multipart/mixed; boundary=${boundary}`,
    body: `${parts.join('')}--${boundary}--\r\n`,
  };
}

/** One part of a batch answer as an HttpResponse, so the ordinary response checks apply to it. */
function partResponse(status: number, headers: Record<string, string>, text: string): HttpResponse {
  return {
    status,
    headers,
    text,
    json: <T>() => JSON.parse(text) as T,
    header: (name) => headers[name.toLowerCase()],
  };
}

/**
 * Splits a multipart/mixed batch answer into its parts' HTTP responses, in request order.
 * Returns undefined when the answer is not a multipart batch (the caller reports it).
 */
export function parseBatchAnswer(contentType: string | undefined, text: string): HttpResponse[] | undefined {
  const parts = splitMultipart(contentType, text);
  if (!parts) return undefined;
  const out: HttpResponse[] = [];
  for (const part of parts) {
    const response = embeddedResponse(part.body);
    if (!response) return undefined;
    out.push(response);
  }
  return out;
}

interface MimePart {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const BLANK_LINE = /\r?\n\r?\n/;

function headerMap(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The parts of a multipart/mixed body (part headers and body), or undefined when it is not one. */
function splitMultipart(contentType: string | undefined, text: string): MimePart[] | undefined {
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '')?.[2];
  if (!boundary || !/^multipart\/mixed/i.test(contentType ?? '')) return undefined;
  const out: MimePart[] = [];
  for (const section of text.split(`--${boundary}`).slice(1)) {
    if (section.startsWith('--')) break;
    const part = section.replace(/^\r?\n/, '');
    const split = BLANK_LINE.exec(part);
    const head = split ? part.slice(0, split.index) : part;
    const body = split ? part.slice(split.index + split[0].length).replace(/\r?\n$/, '') : '';
    out.push({ headers: headerMap(head.split(/\r?\n/)), body });
  }
  return out;
}

/** The HTTP response embedded in an application/http part: status line, headers, blank line, body. */
function embeddedResponse(afterPartHeaders: string): HttpResponse | undefined {
  const split = BLANK_LINE.exec(afterPartHeaders);
  const head = split ? afterPartHeaders.slice(0, split.index) : afterPartHeaders;
  const body = split ? afterPartHeaders.slice(split.index + split[0].length).replace(/\r?\n$/, '') : '';
  const [statusLine = '', ...headerLines] = head.split(/\r?\n/);
  const status = Number(/^HTTP\/1\.1\s+(\d{3})/.exec(statusLine.trim())?.[1]);
  if (!Number.isInteger(status)) return undefined;
  return partResponse(status, headerMap(headerLines), body);
}

/** Writes per change set: F&O takes up to 5,000 operations per batch. */
export const MAX_CHANGE_SET_OPERATIONS = 5000;

/** One write of a change set: an absolute URL under the service root and, for POST/PATCH, a JSON body. */
export interface ChangeRequest {
  readonly method: 'POST' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly json?: unknown;
}

/**
 * The body of a `$batch` holding one change set. Each request carries Content-ID `n` (1-based, its
 * position): OData 4.0 requires a Content-ID on every request of a change set and the service echoes
 * it on the response, which may come in any order.
 * https://docs.oasis-open.org/odata/odata/v4.01/os/part1-protocol/odata-v4.01-os-part1-protocol.html#sec_MultipartBatchFormat
 */
export function buildChangeSet(requests: readonly ChangeRequest[]): { contentType: string; body: string } {
  const boundary = `batch_${randomUUID()}`;
  const changeset = `changeset_${randomUUID()}`;
  const parts = requests.map((r, i) =>
    [
      `--${changeset}`,
      'Content-Type: application/http',
      'Content-Transfer-Encoding: binary',
      `Content-ID: ${i + 1}`,
      '',
      `${r.method} ${r.url} HTTP/1.1`,
      'Accept: application/json',
      ...(r.json === undefined ? [] : ['Content-Type: application/json']),
      '',
      r.json === undefined ? '' : JSON.stringify(r.json),
      '',
    ].join('\r\n'),
  );
  const body = [
    `--${boundary}`,
    `Content-Type: multipart/mixed; boundary=${changeset}`,
    '',
    `${parts.join('')}--${changeset}--`,
    `--${boundary}--`,
    '',
  ].join('\r\n');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body };
}

/** How a change set ended: every request's response in request order, or the one response that failed it. */
export type ChangeSetAnswer =
  | { readonly committed: true; readonly responses: readonly HttpResponse[] }
  | {
      readonly committed: false;
      readonly failed: HttpResponse;
      /** The failed request's position (0-based), when the response names its Content-ID. */
      readonly index: number | undefined;
    };

/**
 * Reads the answer to {@link buildChangeSet} of `count` requests. A committed change set answers one
 * multipart part holding one response per request, matched to requests by Content-ID (the service
 * may answer in any order); a failed one answers a single error response for the whole change set.
 * Returns undefined for anything else (the caller reports it; nothing can be assumed applied).
 */
export function parseChangeSetAnswer(
  contentType: string | undefined,
  text: string,
  count: number,
): ChangeSetAnswer | undefined {
  const outer = splitMultipart(contentType, text);
  if (outer?.length !== 1) return undefined;
  const [part] = outer as [MimePart];
  const inner = splitMultipart(part.headers['content-type'], part.body);
  const contentIdOf = (headers: Readonly<Record<string, string>>, response: HttpResponse) =>
    headers['content-id'] ?? response.header('content-id');
  if (!inner) {
    const failed = embeddedResponse(part.body);
    if (!failed || failed.status < 400) return undefined;
    const id = Number(contentIdOf(part.headers, failed));
    return {
      committed: false,
      failed,
      index: Number.isInteger(id) && id >= 1 && id <= count ? id - 1 : undefined,
    };
  }
  if (inner.length !== count) return undefined;
  const responses: (HttpResponse | undefined)[] = new Array(count).fill(undefined);
  for (const p of inner) {
    const response = embeddedResponse(p.body);
    const id = Number(response ? contentIdOf(p.headers, response) : Number.NaN);
    if (!response || !Number.isInteger(id) || id < 1 || id > count || responses[id - 1]) return undefined;
    // UNCONFIRMED: whether F&O can answer a change set with one failed part among successes; the
    // change set was applied all or none, so a failed part means none was (and is reported as such).
    if (response.status >= 400) return { committed: false, failed: response, index: id - 1 };
    responses[id - 1] = response;
  }
  return { committed: true, responses: responses as HttpResponse[] };
}
