/**
 * The Dynamics 365 F&O OData client: paged reads that follow `@odata.nextLink` to the end, reads
 * by key sets without `in`, and key-addressed create/update/delete with typed errors. Built on
 * the shared HTTP layer (retry policy, Retry-After, 401 re-mint once, counters) and Entra auth.
 * https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata
 */
import { HttpError, ValidationError } from '#base/errors.ts';
import { type Logger, redactUrl, silentLogger } from '#base/logger.ts';
import type { CallOptions, ChangeOperation, DynamicsApi, Page } from '#core/ports/apis.ts';
import type { AnyEntity, EntityKey, EntityRecord } from '#core/ports/dynamics/entities.ts';
import {
  DynamicsResponseError,
  DynamicsWriteError,
  type WriteOperation,
} from '#core/ports/dynamics/errors.ts';
import { formatKey, keyIdentity, keyOfRecord, keyPath, validateKey } from '#core/ports/dynamics/keys.ts';
import { assertField } from '#core/ports/dynamics/odata.ts';
import {
  type AuthProvider,
  createHttpClient,
  type HttpClient,
  type HttpClientOptions,
  type HttpMethod,
  type HttpRequest,
  type HttpResponse,
} from '#http/client.ts';
import { createCallCounter } from '#http/counters.ts';
import { parseVendorError } from '#http/error-body.ts';
import { createEntraAuth, type EntraAuth, type EntraAuthStats } from './auth.ts';
import {
  buildBatchReads,
  buildChangeSet,
  type ChangeRequest,
  MAX_BATCH_READS,
  MAX_CHANGE_SET_OPERATIONS,
  parseBatchAnswer,
  parseChangeSetAnswer,
} from './batch.ts';
import { DEFAULT_MAX_URL_LENGTH, planKeyReads } from './by-keys.ts';
import { normaliseEnvironmentUrl } from './host.ts';
import { buildQueryString, type ReadQuery, validateCompany } from './query.ts';
import { parseCollection, parseEntity } from './responses.ts';

/** Options of {@link createDynamicsClient}. */
export interface DynamicsClientOptions {
  /** The F&O environment, e.g. `contoso.operations.dynamics.com` (normalised; also the token audience). */
  readonly environment: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Entra authority host. Default https://login.microsoftonline.com. */
  readonly authorityHost?: string | undefined;
  /** Overrides for the HTTP layer (dispatcher, time-outs, retry policy, counter, ...). */
  readonly http?: Partial<HttpClientOptions> | undefined;
  readonly logger?: Logger | undefined;
  /**
   * A page size hint sent as `Prefer: odata.maxpagesize=N`. F&O documents no support for it and
   * pages at most 10,000 records server-side; paging always follows nextLink regardless.
   */
  readonly pageSize?: number | undefined;
  /** Longest URL readByKeys builds. Default {@link DEFAULT_MAX_URL_LENGTH}. */
  readonly maxUrlLength?: number | undefined;
  /** Replaces the Entra auth provider (tests). */
  readonly auth?: AuthProvider | undefined;
}

export type {
  CallOptions,
  ChangeOperation,
  Page,
  ReadByKeysResult,
  WriteCallOptions,
} from '#core/ports/apis.ts';

/** The F&O OData client: the DynamicsApi port (`core/ports/apis.ts`) and what the CLI and the tests use besides. */
export interface DynamicsClient extends DynamicsApi {
  /** `https://{env}` (normalised). */
  readonly environmentUrl: string;
  /** `https://{env}/data/`. */
  readonly odataUrl: string;
  /** The number of records a read would return (`$count=true&$top=0`). */
  count<E extends AnyEntity>(
    entity: E,
    query?: Pick<ReadQuery<E>, 'company' | 'filter'>,
    options?: CallOptions,
  ): Promise<number>;
  /** DELETEs one record; false when it did not exist. */
  delete<E extends AnyEntity>(entity: E, key: EntityKey<E>, options?: CallOptions): Promise<boolean>;
  /**
   * `GET /data/$metadata` (CSDL XML, tens of MB on a real environment), streamed into `read`
   * chunk by chunk instead of buffered; `read` is called afresh if the request is retried.
   */
  streamMetadata(
    read: (body: AsyncIterable<Uint8Array>) => Promise<void>,
    options?: CallOptions & { readonly timeoutMs?: number | undefined },
  ): Promise<void>;
  /** Token statistics (when the client owns its Entra auth). */
  authStats(): EntraAuthStats | undefined;
  close(): Promise<void>;
}

/** Statuses a write handles itself to build a DynamicsWriteError from the full body. */
const WRITE_ERROR_STATUSES = [400, 403, 404, 409, 412, 422, 500] as const;

const DYNAMICS_RETRY = { throttleFallbackMs: 30_000 } as const;

/**
 * Creates a client for one F&O environment. Validates the configuration up front (ConfigError);
 * build it once per process and reuse it.
 */
export function createDynamicsClient(options: DynamicsClientOptions): DynamicsClient {
  const environmentUrl = normaliseEnvironmentUrl(options.environment);
  const odataUrl = `${environmentUrl}/data/`;
  if (options.pageSize !== undefined && (!Number.isSafeInteger(options.pageSize) || options.pageSize < 1)) {
    throw new ValidationError(`pageSize must be a positive integer, got ${options.pageSize}`, {
      field: 'pageSize',
    });
  }
  const logger = options.logger ?? options.http?.logger ?? silentLogger;
  const httpOptions = options.http ?? {};
  const counter = httpOptions.counter ?? createCallCounter();
  const entra: EntraAuth | undefined = options.auth
    ? undefined
    : createEntraAuth({
        environment: environmentUrl,
        tenantId: options.tenantId,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        authorityHost: options.authorityHost,
        logger,
        counter,
      });
  const http: HttpClient = createHttpClient({
    ...httpOptions,
    retry: { ...DYNAMICS_RETRY, ...httpOptions.retry },
    auth: options.auth ?? (entra as EntraAuth),
    counter,
    logger,
  });
  const readHeaders: Record<string, string> = options.pageSize
    ? { prefer: `odata.maxpagesize=${options.pageSize}` }
    : {};
  const maxUrlLength = options.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH;
  const environmentOrigin = new URL(environmentUrl).origin;

  async function fetchPage<E extends AnyEntity>(
    url: string,
    index: number,
    signal?: AbortSignal,
  ): Promise<Page<E>> {
    const operation = 'odata.read';
    const response = await http.send({ method: 'GET', url, operation, headers: readHeaders, signal });
    const body = parseCollection(response, { operation, url }, environmentOrigin);
    return { records: body.value as EntityRecord<E>[], index, count: body.count, nextLink: body.nextLink };
  }

  async function* pagesFrom<E extends AnyEntity>(
    first: string,
    signal?: AbortSignal,
  ): AsyncGenerator<Page<E>> {
    let url: string | undefined = first;
    for (let index = 0; url !== undefined; index++) {
      const page: Page<E> = await fetchPage<E>(url, index, signal);
      logger.debug('dynamics.page', {
        index,
        records: page.records.length,
        more: page.nextLink !== undefined,
      });
      url = page.nextLink;
      yield page;
    }
  }

  const batchUrl = `${odataUrl}$batch`;
  /** POSTs a built multipart `$batch` body (reads, or one change set). */
  function sendBatch(
    built: { readonly contentType: string; readonly body: string },
    options: Pick<HttpRequest, 'idempotent' | 'signal' | 'beforeResend'>,
  ) {
    return http.send({
      method: 'POST',
      url: batchUrl,
      operation: 'odata.batch',
      headers: { 'content-type': built.contentType, accept: 'multipart/mixed' },
      body: built.body,
      ...options,
    });
  }

  function readUrl<E extends AnyEntity>(entity: E, query: ReadQuery<E> | undefined): string {
    const qs = buildQueryString(entity, query ?? {});
    return `${odataUrl}${entity.name}${qs ? `?${qs}` : ''}`;
  }

  function keyUrl<E extends AnyEntity>(entity: E, key: EntityKey<E>, extra = ''): string {
    // Keyed requests for another company carry cross-company=true as well as dataAreaId in the key.
    // https://learn.microsoft.com/en-us/dynamics365/fin-ops-core/dev-itpro/data-entities/odata#cross-company-behavior
    const params = [entity.companySpecific ? 'cross-company=true' : '', extra].filter(Boolean).join('&');
    return `${odataUrl}${keyPath(entity, key)}${params ? `?${params}` : ''}`;
  }

  async function write<E extends AnyEntity>(
    writeOperation: WriteOperation,
    method: HttpMethod,
    url: string,
    entity: E,
    key: string | undefined,
    extra: {
      json?: unknown;
      headers?: Record<string, string>;
      idempotent?: boolean;
      signal?: AbortSignal | undefined;
      beforeResend?: ((attempt: number) => Promise<void>) | undefined;
    },
  ): Promise<HttpResponse> {
    const operation = `odata.${writeOperation}`;
    const response = await http.send({
      method,
      url,
      operation,
      accept: WRITE_ERROR_STATUSES,
      ...(extra.json !== undefined ? { json: extra.json } : {}),
      ...(extra.headers ? { headers: extra.headers } : {}),
      ...(extra.idempotent !== undefined ? { idempotent: extra.idempotent } : {}),
      ...(extra.beforeResend ? { beforeResend: extra.beforeResend } : {}),
      signal: extra.signal,
    });
    if (response.status >= 200 && response.status < 300) return response;
    if (writeOperation === 'delete' && response.status === 404) return response;
    throw new DynamicsWriteError({
      method,
      url: redactUrl(url),
      status: response.status,
      body: response.text,
      operation,
      entity: entity.name,
      key,
      writeOperation,
    });
  }

  function changeRequest(op: ChangeOperation): ChangeRequest {
    const { entity } = op;
    if (op.kind === 'delete') return { method: 'DELETE', url: keyUrl(entity, validateKey(entity, op.key)) };
    if (op.kind === 'update') {
      const valid = validateKey(entity, op.key) as Readonly<Record<string, string>>;
      for (const field of entity.keys) {
        if (field in op.patch && op.patch[field] !== valid[field]) {
          throw new ValidationError(`${entity.name}: key field ${field} cannot be changed by an update`, {
            field,
          });
        }
      }
      return { method: 'PATCH', url: keyUrl(entity, valid), json: op.patch };
    }
    let json: Record<string, unknown> = { ...op.record };
    if (entity.companySpecific) {
      const company = op.record.dataAreaId;
      if (typeof company !== 'string' || company === '') {
        throw new ValidationError(
          `${entity.name}: dataAreaId is required to create a company-specific record`,
          { field: 'dataAreaId' },
        );
      }
      json = { ...json, dataAreaId: validateCompany(company) };
    }
    return {
      method: 'POST',
      url: `${odataUrl}${entity.name}${entity.companySpecific ? '?cross-company=true' : ''}`,
      json,
    };
  }

  const client: DynamicsClient = {
    environmentUrl,
    odataUrl,
    counter,

    readPages(entity, query, callOptions) {
      const url = readUrl(entity, query);
      return pagesFrom(url, callOptions?.signal);
    },

    async *read(entity, query, callOptions) {
      for await (const page of client.readPages(entity, query, callOptions)) yield* page.records;
    },

    async count(entity, query, callOptions) {
      // `$count=true&$top=0`: the count in `@odata.count` and no records.
      // https://docs.oasis-open.org/odata/odata/v4.01/odata-v4.01-part2-url-conventions.html#sec_SystemQueryOptioncount
      const url = readUrl(entity, { company: query?.company, filter: query?.filter, top: 0, count: true });
      const page = await fetchPage<typeof entity>(url, 0, callOptions?.signal);
      if (page.count === undefined) {
        throw new DynamicsResponseError('the response has no @odata.count', {
          operation: 'odata.read',
          url: redactUrl(url),
          status: 200,
          body: '',
        });
      }
      return page.count;
    },

    async readByKeys(entity, keys, callOptions) {
      const chunks = planKeyReads(entity, keys, { odataUrl, select: callOptions?.select, maxUrlLength });
      const wanted = new Map<string, { key: EntityKey<typeof entity>; formatted: string }>();
      for (const chunk of chunks) {
        for (const key of chunk.keys) {
          wanted.set(keyIdentity(entity, key as Readonly<Record<string, string>>), {
            key,
            formatted: formatKey(entity, key),
          });
        }
      }
      const found = new Map<string, EntityRecord<typeof entity>>();
      const matched: EntityRecord<typeof entity>[] = [];
      let requests = 0;
      const collect = (records: readonly EntityRecord<typeof entity>[]) => {
        for (const record of records) {
          const key = keyOfRecord(entity, record);
          const hit = key && wanted.get(keyIdentity(entity, key as Readonly<Record<string, string>>));
          // A wildcard `*` in a key value can match more than asked for; keep exact key matches only.
          if (hit) {
            found.set(hit.formatted, record);
            matched.push(record);
          }
        }
      };
      const signal = callOptions?.signal;
      if (callOptions?.batch && chunks.length > 1) {
        for (let i = 0; i < chunks.length; i += MAX_BATCH_READS) {
          const group = chunks.slice(i, i + MAX_BATCH_READS);
          // Reads only: sending the batch twice has the effect of sending it once.
          const response = await sendBatch(buildBatchReads(group.map((c) => c.url)), {
            idempotent: true,
            signal,
          });
          requests += 1;
          const parts = parseBatchAnswer(response.header('content-type'), response.text);
          if (!parts || parts.length !== group.length) {
            throw new DynamicsResponseError(
              `the $batch answer does not hold one response per read (${group.length})`,
              {
                operation: 'odata.batch',
                url: redactUrl(batchUrl),
                status: response.status,
                body: response.text,
              },
            );
          }
          for (const [j, part] of parts.entries()) {
            const readUrlOfPart = (group[j] as { url: string }).url;
            if (part.status !== 200) {
              const vendor = parseVendorError(part.text);
              throw new HttpError({
                method: 'GET',
                url: redactUrl(readUrlOfPart),
                status: part.status,
                errorCode: vendor.errorCode,
                vendorMessage: vendor.message,
                bodyExcerpt: part.text.slice(0, 500),
                operation: 'odata.batch',
              });
            }
            const page = parseCollection(
              part,
              { operation: 'odata.batch', url: readUrlOfPart },
              environmentOrigin,
            );
            collect(page.value as EntityRecord<typeof entity>[]);
            if (page.nextLink) {
              for await (const more of pagesFrom<typeof entity>(page.nextLink, signal)) {
                requests += 1;
                collect(more.records);
              }
            }
          }
        }
      } else {
        for (const chunk of chunks) {
          for await (const page of pagesFrom<typeof entity>(chunk.url, signal)) {
            requests += 1;
            collect(page.records);
          }
        }
      }
      const missing = [...wanted.values()].filter((w) => !found.has(w.formatted)).map((w) => w.key);
      return { found, missing, requests, records: matched };
    },

    async streamMetadata(read, callOptions) {
      await http.send({
        method: 'GET',
        url: `${odataUrl}$metadata`,
        operation: 'odata.metadata',
        headers: { accept: 'application/xml' },
        readBody: read,
        timeoutMs: callOptions?.timeoutMs ?? 300_000,
        signal: callOptions?.signal,
      });
    },

    async get(entity, key, callOptions) {
      const valid = validateKey(entity, key);
      const select = callOptions?.select?.length
        ? `$select=${callOptions.select.map(assertField).join(',')}`
        : '';
      const url = keyUrl(entity, valid, select);
      const response = await http.send({
        method: 'GET',
        url,
        operation: 'odata.read',
        accept: [404],
        signal: callOptions?.signal,
      });
      if (response.status === 404) return undefined;
      return parseEntity(response, { operation: 'odata.read', url }) as EntityRecord<typeof entity>;
    },

    async create(entity, record, callOptions) {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        throw new ValidationError(`${entity.name}: the record must be an object`);
      }
      let json: Record<string, unknown> = { ...record };
      if (entity.companySpecific) {
        const company = record.dataAreaId;
        if (typeof company !== 'string' || company === '') {
          throw new ValidationError(
            `${entity.name}: dataAreaId is required to create a company-specific record`,
            {
              field: 'dataAreaId',
            },
          );
        }
        json = { ...json, dataAreaId: validateCompany(company) };
      }
      const url = `${odataUrl}${entity.name}${entity.companySpecific ? '?cross-company=true' : ''}`;
      const partial = keyOfRecord(entity, json);
      const response = await write(
        'create',
        'POST',
        url,
        entity,
        partial ? formatKey(entity, partial) : undefined,
        {
          json,
          signal: callOptions?.signal,
          beforeResend: callOptions?.beforeResend,
        },
      );
      return parseEntity(response, { operation: 'odata.create', url }) as EntityRecord<typeof entity>;
    },

    async changeSet(operations, callOptions) {
      if (operations.length === 0) return [];
      if (operations.length > MAX_CHANGE_SET_OPERATIONS) {
        throw new ValidationError(
          `a change set holds at most ${MAX_CHANGE_SET_OPERATIONS} operations, got ${operations.length}`,
        );
      }
      const requests = operations.map((op) => changeRequest(op));
      // Not idempotent: a change set that creates lines, sent twice, creates them twice.
      const response = await sendBatch(buildChangeSet(requests), {
        idempotent: false,
        signal: callOptions?.signal,
        ...(callOptions?.beforeResend ? { beforeResend: callOptions.beforeResend } : {}),
      });
      const answer = parseChangeSetAnswer(response.header('content-type'), response.text, requests.length);
      if (!answer) {
        throw new DynamicsResponseError(
          `the $batch answer is not one change set of ${requests.length} responses`,
          {
            operation: 'odata.batch',
            url: redactUrl(batchUrl),
            status: response.status,
            body: response.text,
          },
        );
      }
      if (!answer.committed) {
        const op = answer.index === undefined ? undefined : operations[answer.index];
        const request = answer.index === undefined ? undefined : requests[answer.index];
        throw new DynamicsWriteError({
          method: request?.method ?? 'POST',
          url: redactUrl(request?.url ?? batchUrl),
          status: answer.failed.status,
          body: answer.failed.text,
          operation: 'odata.batch',
          entity: op?.entity.name ?? '$batch',
          key: op && op.kind !== 'create' ? formatKey(op.entity, op.key) : undefined,
          writeOperation: op?.kind ?? 'create',
        });
      }
      return answer.responses.map((r, i) => {
        const request = requests[i] as ChangeRequest;
        if (request.method !== 'POST') return undefined;
        return parseEntity(r, { operation: 'odata.batch', url: request.url });
      });
    },

    async update(entity, key, patch, callOptions) {
      const valid = validateKey(entity, key);
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
        throw new ValidationError(`${entity.name}: the patch must be an object`);
      }
      for (const field of entity.keys) {
        if (field in patch && patch[field] !== (valid as Readonly<Record<string, string>>)[field]) {
          throw new ValidationError(`${entity.name}: key field ${field} cannot be changed by an update`, {
            field,
          });
        }
      }
      const ifMatch = callOptions?.ifMatch;
      // Setting the same fields twice leaves the same record, so a PATCH without If-Match may be replayed.
      await write('update', 'PATCH', keyUrl(entity, valid), entity, formatKey(entity, valid), {
        json: patch,
        idempotent: ifMatch === undefined,
        ...(ifMatch ? { headers: { 'if-match': ifMatch } } : {}),
        signal: callOptions?.signal,
      });
    },

    async delete(entity, key, callOptions) {
      const valid = validateKey(entity, key);
      const response = await write(
        'delete',
        'DELETE',
        keyUrl(entity, valid),
        entity,
        formatKey(entity, valid),
        {
          signal: callOptions?.signal,
        },
      );
      return response.status !== 404;
    },

    authStats: () => entra?.stats(),
    close: () => http.close(),
  };
  return client;
}
