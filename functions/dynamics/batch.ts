/**
 * OData `$batch` for reads: several GETs in one multipart/mixed POST, so a read by many keys costs
 * one call instead of one per URL-length chunk. The outer answer is 200 even when parts fail, so
 * every part is checked.
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
  const boundary = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '')?.[2];
  if (!boundary || !/^multipart\/mixed/i.test(contentType ?? '')) return undefined;
  const out: HttpResponse[] = [];
  for (const section of text.split(`--${boundary}`).slice(1)) {
    if (section.startsWith('--')) break;
    // Part headers, a blank line, then the embedded HTTP response: status line, headers, blank line, body.
    const part = section.replace(/^\r?\n/, '');
    const afterPartHeaders = part.slice(
      (/\r?\n\r?\n/.exec(part)?.index ?? 0) + (/\r?\n\r?\n/.exec(part)?.[0].length ?? 0),
    );
    const split = /\r?\n\r?\n/.exec(afterPartHeaders);
    const head = split ? afterPartHeaders.slice(0, split.index) : afterPartHeaders;
    const body = split ? afterPartHeaders.slice(split.index + split[0].length).replace(/\r?\n$/, '') : '';
    const [statusLine = '', ...headerLines] = head.split(/\r?\n/);
    const status = Number(/^HTTP\/1\.1\s+(\d{3})/.exec(statusLine.trim())?.[1]);
    if (!Number.isInteger(status)) return undefined;
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    out.push(partResponse(status, headers, body));
  }
  return out;
}
