/**
 * SOQL execution: pages followed through `nextRecordsUrl` until `done`, one page held at a time.
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
 * Page size via `Sforce-Query-Options: batchSize=N` (200–2,000; Salesforce may return fewer):
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
 */
import { ConnectorError, ValidationError } from '#base/errors.ts';
import type { QueryOptions, QueryPage, SObjectRecord } from '#core/ports/apis.ts';
import type { SalesforceTransport } from './transport.ts';

export type { QueryOptions, QueryPage, SObjectRecord } from '#core/ports/apis.ts';

function checkPage(value: unknown): QueryPage<unknown> {
  const page = value as QueryPage<unknown> | null;
  if (!page || typeof page !== 'object' || !Array.isArray(page.records) || typeof page.done !== 'boolean') {
    throw new ConnectorError('rest.query: the response is not a query page', { code: 'BAD_RESPONSE' });
  }
  if (!page.done && typeof page.nextRecordsUrl !== 'string') {
    throw new ConnectorError('rest.query: a page with done=false has no nextRecordsUrl', {
      code: 'BAD_RESPONSE',
    });
  }
  return page;
}

/** Yields the pages of a query (one request per page). */
export async function* queryPages<T = SObjectRecord>(
  rest: SalesforceTransport,
  text: string,
  options: QueryOptions = {},
): AsyncGenerator<QueryPage<T>, void, undefined> {
  const { batchSize } = options;
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize >= 200 && batchSize <= 2000)) {
    throw new ValidationError(`batchSize must be an integer from 200 to 2000, got ${batchSize}`, {
      field: 'batchSize',
    });
  }
  const headers: Record<string, string> = batchSize
    ? { 'sforce-query-options': `batchSize=${batchSize}` }
    : {};
  let encoded: string;
  try {
    encoded = encodeURIComponent(text);
  } catch (cause) {
    throw new ValidationError('the SOQL text holds a lone surrogate outside a literal', {
      cause,
      field: 'soql',
    });
  }
  let path = `/${options.all ? 'queryAll' : 'query'}?q=${encoded}`;
  let first = true;
  for (;;) {
    const response = await rest.send({
      method: 'GET',
      path,
      operation: first ? 'rest.query' : 'rest.queryMore',
      headers,
      signal: options.signal,
    });
    first = false;
    const page = checkPage(response.json<unknown>()) as QueryPage<T>;
    yield page;
    if (page.done || !page.nextRecordsUrl) return;
    path = page.nextRecordsUrl;
  }
}

/** Yields the records of a query, following every page. */
export async function* query<T = SObjectRecord>(
  rest: SalesforceTransport,
  text: string,
  options: QueryOptions = {},
): AsyncGenerator<T, void, undefined> {
  for await (const page of queryPages<T>(rest, text, options)) yield* page.records;
}
