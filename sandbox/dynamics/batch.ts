/**
 * `POST /data/$batch` (OData v4 multipart/mixed). Requests outside change sets run one by one;
 * a change set is all-or-nothing: on the first failing request every write of the change set is
 * undone and the change set's response is that single error. The outer response is 200 even when
 * parts fail, so clients must parse every part. At most 5,000 operations per batch.
 * `$n` Content-ID references are not resolved: as on F&O, header and lines in one change set only
 * work with caller-set numbers.
 *
 * Content-ID: OData 4.0 requires one on each request of a change set, unique within the batch, and
 * the service echoes it on that request's response (responses of a change set may come in any
 * order, so clients match on it). UNCONFIRMED how F&O treats a change-set request without one or a
 * repeated one: the sandbox refuses the batch with 400 (the stricter side). UNCONFIRMED whether F&O
 * puts the failing request's Content-ID on a failed change set's single response: the sandbox does
 * (clients must not rely on it, and the connector does not).
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#batch-requests
 * https://docs.oasis-open.org/odata/odata/v4.01/os/part1-protocol/odata-v4.01-os-part1-protocol.html#sec_MultipartBatchFormat
 */
import { randomUUID } from 'node:crypto';
import { beginTransaction } from './entities.ts';
import type { ODataContext, ODataRequest, ODataResponse } from './odata.ts';
import type { Change } from './writes.ts';
import { ODataError } from './writes.ts';

/** The most operations F&O accepts in one batch. */
export const MAX_BATCH_OPERATIONS = 5000;

interface Part {
  readonly headers: Map<string, string>;
  readonly body: string;
}

interface InnerRequest {
  readonly contentId: string | undefined;
  readonly request: ODataRequest;
}

type Item = { kind: 'request'; req: InnerRequest } | { kind: 'changeset'; reqs: InnerRequest[] };

function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  return m?.[2];
}

function splitParts(body: string, boundary: string): Part[] {
  const delimiter = `--${boundary}`;
  const sections = body.split(delimiter);
  const parts: Part[] = [];
  // sections[0] is the preamble; a section starting with `--` is the close delimiter.
  for (const section of sections.slice(1)) {
    if (section.startsWith('--')) break;
    const text = section.replace(/^\r?\n/, '');
    const sep = /\r?\n\r?\n/.exec(text);
    const head = sep ? text.slice(0, sep.index) : text;
    const rest = sep ? text.slice(sep.index + sep[0].length) : '';
    parts.push({ headers: parseHeaders(head), body: rest.replace(/\r?\n$/, '') });
  }
  return parts;
}

function parseHeaders(text: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function parseInner(part: Part, serviceRoot: URL): InnerRequest {
  if (!(part.headers.get('content-type') ?? '').toLowerCase().startsWith('application/http')) {
    throw new ODataError(400, "A batch part must have Content-Type 'application/http' or 'multipart/mixed'.");
  }
  const sep = /\r?\n\r?\n/.exec(part.body);
  const head = sep ? part.body.slice(0, sep.index) : part.body;
  const body = sep ? part.body.slice(sep.index + sep[0].length) : '';
  const [requestLine = '', ...headerLines] = head.split(/\r?\n/);
  const m = /^(GET|POST|PATCH|PUT|MERGE|DELETE)\s+(\S+)\s+HTTP\/1\.1$/.exec(requestLine.trim());
  if (!m) throw new ODataError(400, `The batch request line '${requestLine}' is not valid.`);
  const url = new URL(m[2] as string, serviceRoot);
  if (!url.pathname.startsWith(serviceRoot.pathname)) {
    throw new ODataError(400, `The batch request URL '${m[2]}' is not under the service root.`);
  }
  const headers = parseHeaders(headerLines.join('\n'));
  return {
    contentId: part.headers.get('content-id') ?? headers.get('content-id'),
    request: {
      method: m[1] as string,
      path: url.pathname.slice(serviceRoot.pathname.length),
      query: url.search.slice(1),
      headers: { 'if-match': headers.get('if-match'), prefer: headers.get('prefer') },
      body: body.trim(),
    },
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

function renderResponse(res: ODataResponse, contentId: string | undefined): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId !== undefined) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `HTTP/1.1 ${res.status} ${STATUS_TEXT[res.status] ?? ''}`.trimEnd());
  for (const [k, v] of Object.entries(res.headers ?? {})) lines.push(`${k}: ${v}`);
  const text = res.text ?? (res.body === undefined ? '' : JSON.stringify(res.body));
  if (res.body !== undefined && res.text === undefined) {
    lines.push('Content-Type: application/json; odata.metadata=minimal; odata.streaming=true');
  }
  lines.push('OData-Version: 4.0', '', text);
  return lines.join('\r\n');
}

/**
 * Handles a `$batch` request. `handle` runs one inner request (the ordinary OData handler with
 * `ctx`); change-set writes raise business events only when the change set commits.
 */
export function handleBatch(
  ctx: ODataContext,
  req: ODataRequest,
  contentType: string | undefined,
  handle: (ctx: ODataContext, req: ODataRequest) => ODataResponse,
): { status: number; headers: Record<string, string>; text: string } {
  const boundary = boundaryOf(contentType);
  if (!boundary || !/^multipart\/mixed/i.test(contentType ?? '')) {
    throw new ODataError(400, "The batch request must have Content-Type 'multipart/mixed' with a boundary.");
  }
  const serviceRoot = new URL(`${ctx.environmentUrl}/data/`);
  const items: Item[] = [];
  const contentIds = new Set<string>();
  let operations = 0;
  for (const part of splitParts(req.body, boundary)) {
    const inner = boundaryOf(part.headers.get('content-type'));
    if (inner && /^multipart\/mixed/i.test(part.headers.get('content-type') ?? '')) {
      const reqs = splitParts(part.body, inner).map((p) => parseInner(p, serviceRoot));
      if (reqs.some((r) => r.request.method === 'GET')) {
        throw new ODataError(400, 'A change set must not contain GET requests.');
      }
      for (const r of reqs) {
        if (r.contentId === undefined || r.contentId === '') {
          throw new ODataError(400, 'Each request of a change set must have a Content-ID header.');
        }
        if (contentIds.has(r.contentId)) {
          throw new ODataError(400, `The Content-ID '${r.contentId}' is not unique within the batch.`);
        }
        contentIds.add(r.contentId);
      }
      items.push({ kind: 'changeset', reqs });
      operations += reqs.length;
    } else {
      items.push({ kind: 'request', req: parseInner(part, serviceRoot) });
      operations += 1;
    }
  }
  if (operations > MAX_BATCH_OPERATIONS) {
    throw new ODataError(
      400,
      `The batch contains ${operations} operations; the maximum is ${MAX_BATCH_OPERATIONS}.`,
    );
  }

  const responseBoundary = `batchresponse_${randomUUID()}`;
  const out: string[] = [];
  for (const item of items) {
    if (item.kind === 'request') {
      out.push(renderResponse(handle(ctx, item.req.request), item.req.contentId));
      continue;
    }
    const pending: Change[] = [];
    const inner: ODataContext = { ...ctx, onChange: (c) => pending.push(c) };
    const tx = beginTransaction(ctx.db);
    const responses: { res: ODataResponse; contentId: string | undefined }[] = [];
    let failed: { res: ODataResponse; contentId: string | undefined } | undefined;
    try {
      for (const r of item.reqs) {
        const res = handle(inner, r.request);
        if (res.status >= 400) {
          failed = { res, contentId: r.contentId };
          break;
        }
        responses.push({ res, contentId: r.contentId });
      }
    } catch (err) {
      tx.rollback();
      throw err;
    }
    if (failed) {
      tx.rollback();
      out.push(renderResponse(failed.res, failed.contentId));
      continue;
    }
    tx.commit();
    for (const change of pending) ctx.onChange(change);
    const csBoundary = `changesetresponse_${randomUUID()}`;
    const csParts = responses.map((r) => `--${csBoundary}\r\n${renderResponse(r.res, r.contentId)}`);
    out.push(
      `Content-Type: multipart/mixed; boundary=${csBoundary}\r\n\r\n${csParts.join('\r\n')}\r\n--${csBoundary}--`,
    );
  }
  const body = `${out.map((p) => `--${responseBoundary}\r\n${p}`).join('\r\n')}\r\n--${responseBoundary}--\r\n`;
  return {
    status: 200,
    headers: { 'content-type': `multipart/mixed; boundary=${responseBoundary}`, 'odata-version': '4.0' },
    text: body,
  };
}
