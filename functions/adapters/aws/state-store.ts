import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  AuditEntry,
  AuditOutcome,
  AuditQuery,
  Checkpoint,
  IdempotencyRecord,
  NewAuditEntry,
  StateStore,
  SyncHash,
  TrackedOrder,
} from '#core/ports/state-store.ts';
import { ConditionFailedError, newAuditId, trackedOrderKey } from '#core/ports/state-store.ts';
import { TABLE } from './contract.ts';
import { withUnprocessedRetries } from './unprocessed.ts';

export interface DynamoStateStoreOptions {
  /** A document client (built once per container, with `removeUndefinedValues`). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now?: () => number;
  /** Tries per BatchGet/BatchWrite chunk while DynamoDB returns unprocessed items. Default 8. */
  readonly maxBatchAttempts?: number;
  /** First back-off between those tries, ms (doubles). Default 50. */
  readonly batchRetryDelayMs?: number;
}

/** DynamoDB's BatchGetItem and BatchWriteItem limits. */
export const MAX_BATCH_GET = 100;
export const MAX_BATCH_WRITE = 25;

const OUTCOMES: readonly AuditOutcome[] = ['enqueued', 'succeeded', 'skipped', 'failed', 'parked', 'ignored'];
const CHECKPOINTS = 'checkpoint';

type Item = Record<string, unknown>;

const key = (pk: string, sk: string) => ({ [TABLE.partitionKey]: pk, [TABLE.sortKey]: sk });
const idemKey = (k: string) => key(`idem#${k}`, 'idem');
const hashKey = (k: string) => key(`hash#${k}`, 'hash');
const auditKey = (id: string) => key(`audit#${id}`, 'audit');
/** Tracked orders share one partition, sorted by their key, so a poll pages through them with Query. */
const TRACKED_ORDERS = 'tracked-order';
const orderKey = (k: string) => key(TRACKED_ORDERS, k);

function toTrackedOrder(item: Item): TrackedOrder {
  return {
    dataAreaId: String(item.dataAreaId),
    salesOrderNumber: String(item.salesOrderNumber),
    sobject: item.sobject as TrackedOrder['sobject'],
    salesforceId: String(item.salesforceId),
    appliedHash: item.appliedHash === undefined ? undefined : String(item.appliedHash),
    trackedAt: Number(item.trackedAt),
  };
}
const nowSeconds = (ms: number) => Math.floor(ms / 1000);
/** Sorts audit entries by time then id: epoch ms padded to 15 digits, `#`, the audit id. */
export const auditSort = (at: number, auditId: string) => `${String(at).padStart(15, '0')}#${auditId}`;
const timeBound = (at: number) => String(at).padStart(15, '0');

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof ConditionalCheckFailedException ||
    (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException'
  );
}

async function conditional<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isConditionFailure(error)) throw new ConditionFailedError(what, { cause: error });
    throw error;
  }
}

function toCheckpoint(item: Item): Checkpoint {
  return {
    name: String(item[TABLE.sortKey]),
    value: String(item.value),
    version: Number(item.version),
    updatedAt: Number(item.updatedAt),
  };
}

function toIdempotency(item: Item): IdempotencyRecord {
  return {
    key: String(item.key),
    status: item.status as IdempotencyRecord['status'],
    data: JSON.parse(String(item.data)) as Record<string, unknown>,
    version: Number(item.version),
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    expiresAt: item[TABLE.ttlAttribute] === undefined ? undefined : Number(item[TABLE.ttlAttribute]),
  };
}

function toAudit(item: Item): AuditEntry {
  const optional = <T>(value: unknown, map: (v: unknown) => T) =>
    value === undefined ? undefined : map(value);
  return {
    auditId: String(item.auditId),
    recordKey: String(item.recordKey),
    flow: String(item.flow),
    trigger: String(item.trigger),
    attempt: Number(item.attempt),
    outcome: item.outcome as AuditOutcome,
    at: Number(item.at),
    durationMs: optional(item.durationMs, Number),
    targetIds: optional(item.targetIds, (v) => v as Record<string, string>),
    error: optional(item.error, String),
    work: optional(item.work, (v) => JSON.parse(String(v)) as unknown),
    expiresAt: optional(item[TABLE.ttlAttribute], Number),
    ...(Array.isArray(item.waitsFor) ? { waitsFor: item.waitsFor.map(String) } : {}),
  };
}

/** Creates the DynamoDB StateStore. The client is the caller's (closed by its owner). */
export function createDynamoStateStore(options: DynamoStateStoreOptions): StateStore {
  const { client, tableName: TableName } = options;
  const now = options.now ?? Date.now;
  /** Reads items by key in BatchGetItem calls of 100, unprocessed keys retried; `onItem` per item found. */
  const batchGet = async (keys: readonly Record<string, unknown>[], onItem: (item: Item) => void) => {
    for (let i = 0; i < keys.length; i += MAX_BATCH_GET) {
      await withUnprocessedRetries<NonNullable<BatchGetCommandInput['RequestItems']>>(
        `BatchGetItem on ${TableName}`,
        { [TableName]: { Keys: keys.slice(i, i + MAX_BATCH_GET) } },
        async (RequestItems) => {
          const result = await client.send(new BatchGetCommand({ RequestItems }));
          for (const item of result.Responses?.[TableName] ?? []) onItem(item);
          const left = result.UnprocessedKeys?.[TableName]?.Keys ?? [];
          return left.length > 0 ? { [TableName]: { Keys: left } } : undefined;
        },
        retry,
      );
    }
  };
  /** Puts in BatchWriteItem calls of 25, unprocessed items retried. */
  const batchWrite = async (puts: readonly { PutRequest: { Item: Record<string, unknown> } }[]) => {
    for (let i = 0; i < puts.length; i += MAX_BATCH_WRITE) {
      await withUnprocessedRetries<NonNullable<BatchWriteCommandInput['RequestItems']>>(
        `BatchWriteItem on ${TableName}`,
        { [TableName]: puts.slice(i, i + MAX_BATCH_WRITE) },
        async (RequestItems) => {
          const result = await client.send(new BatchWriteCommand({ RequestItems }));
          const left = result.UnprocessedItems?.[TableName] ?? [];
          return left.length > 0 ? { [TableName]: left } : undefined;
        },
        retry,
      );
    }
  };
  /** An audit entry with its time and id. */
  const completeAudit = (entry: NewAuditEntry): AuditEntry => {
    const at = entry.at ?? now();
    return { ...entry, at, auditId: newAuditId(at) };
  };
  const retry = {
    maxAttempts: options.maxBatchAttempts ?? 8,
    delayMs: options.batchRetryDelayMs ?? 50,
  };

  const getIdem = async (k: string) =>
    (await client.send(new GetCommand({ TableName, Key: idemKey(k), ConsistentRead: true }))).Item;

  async function writeIdem(
    k: string,
    expectedVersion: number,
    data: Record<string, unknown>,
    status: IdempotencyRecord['status'],
    from: IdempotencyRecord['status'] = 'in_progress',
  ): Promise<IdempotencyRecord> {
    const item = await getIdem(k);
    if (!item) throw new ConditionFailedError(`idempotency record ${k} does not exist`);
    const current = toIdempotency(item);
    if (current.version !== expectedVersion)
      throw new ConditionFailedError(
        `idempotency record ${k} is at version ${current.version}, not ${expectedVersion}`,
      );
    if (current.status !== from)
      throw new ConditionFailedError(`idempotency record ${k} is ${current.status}, not ${from}`);
    const result = await conditional(`idempotency record ${k} changed concurrently`, () =>
      client.send(
        new UpdateCommand({
          TableName,
          Key: idemKey(k),
          UpdateExpression: 'SET #status = :status, #data = :data, #version = :next, updatedAt = :at',
          ConditionExpression: '#version = :expected AND #status = :from',
          ExpressionAttributeNames: { '#status': 'status', '#data': 'data', '#version': 'version' },
          ExpressionAttributeValues: {
            ':status': status,
            ':data': JSON.stringify({ ...current.data, ...data }),
            ':next': expectedVersion + 1,
            ':at': now(),
            ':expected': expectedVersion,
            ':from': from,
          },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return toIdempotency(result.Attributes ?? {});
  }

  /** Pages one index query until `limit` items passed the filter (filters apply after Limit). */
  async function queryIndex(input: QueryCommandInput, limit: number): Promise<Item[]> {
    const out: Item[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({ ...input, Limit: limit, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }

  return {
    async getCheckpoint(name) {
      const { Item } = await client.send(
        new GetCommand({ TableName, Key: key(CHECKPOINTS, name), ConsistentRead: true }),
      );
      return Item ? toCheckpoint(Item) : undefined;
    },

    async putCheckpoint(name, value, opts = {}) {
      const expected = opts.expectedVersion;
      const condition =
        expected === undefined
          ? {}
          : expected === 0
            ? { ConditionExpression: 'attribute_not_exists(#version)' }
            : { ConditionExpression: '#version = :expected' };
      const result = await conditional(`checkpoint ${name} is not at version ${expected ?? 'any'}`, () =>
        client.send(
          new UpdateCommand({
            TableName,
            Key: key(CHECKPOINTS, name),
            UpdateExpression: 'SET #value = :value, updatedAt = :at ADD #version :one',
            ExpressionAttributeNames: { '#value': 'value', '#version': 'version' },
            ExpressionAttributeValues: {
              ':value': value,
              ':at': now(),
              ':one': 1,
              ...(expected ? { ':expected': expected } : {}),
            },
            ReturnValues: 'ALL_NEW',
            ...condition,
          }),
        ),
      );
      return toCheckpoint(result.Attributes ?? {});
    },

    async listCheckpoints() {
      const items = await queryIndex(
        {
          TableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
          ExpressionAttributeValues: { ':pk': CHECKPOINTS },
          ConsistentRead: true,
        },
        10_000,
      );
      return items.map(toCheckpoint);
    },

    async claimDedupKey(k, ttlSeconds) {
      const at = nowSeconds(now());
      try {
        await client.send(
          new PutCommand({
            TableName,
            Item: { ...key(`dedup#${k}`, 'dedup'), [TABLE.ttlAttribute]: at + ttlSeconds },
            // TTL deletion lags expiry by up to days: an expired claim counts as absent.
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
            ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
            ExpressionAttributeValues: { ':now': at },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async releaseDedupKey(k) {
      await client.send(new DeleteCommand({ TableName, Key: key(`dedup#${k}`, 'dedup') }));
    },

    async beginIdempotent(k, opts = {}) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const at = now();
        const item: Item = {
          ...idemKey(k),
          key: k,
          status: 'in_progress',
          data: '{}',
          version: 1,
          createdAt: at,
          updatedAt: at,
          ...(opts.ttlSeconds === undefined
            ? {}
            : { [TABLE.ttlAttribute]: nowSeconds(at) + opts.ttlSeconds }),
        };
        try {
          await client.send(
            new PutCommand({
              TableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(#pk) OR #ttl <= :now',
              ExpressionAttributeNames: { '#pk': TABLE.partitionKey, '#ttl': TABLE.ttlAttribute },
              ExpressionAttributeValues: { ':now': nowSeconds(at) },
            }),
          );
          return { created: true, record: toIdempotency(item) };
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
        }
        const existing = await getIdem(k);
        // Deleted between the put and the read: try the put again.
        if (existing) return { created: false, record: toIdempotency(existing) };
      }
      throw new ConditionFailedError(`idempotency record ${k} keeps changing`);
    },

    updateIdempotent: (k, expectedVersion, data) => writeIdem(k, expectedVersion, data, 'in_progress'),
    completeIdempotent: (k, expectedVersion, data) => writeIdem(k, expectedVersion, data, 'completed'),
    reopenIdempotent: (k, expectedVersion, data) =>
      writeIdem(k, expectedVersion, data, 'in_progress', 'completed'),

    async getIdempotent(k) {
      const item = await getIdem(k);
      return item ? toIdempotency(item) : undefined;
    },

    async deleteIdempotent(k) {
      await client.send(new DeleteCommand({ TableName, Key: idemKey(k) }));
    },

    async getHashes(keys) {
      const out = new Map<string, SyncHash>();
      await batchGet([...new Set(keys)].map(hashKey), (item) => {
        const k = String(item.key);
        out.set(k, { key: k, hash: String(item.hash), updatedAt: Number(item.updatedAt) });
      });
      // Input order, as the SQLite adapter returns them.
      return new Map(keys.flatMap((k) => (out.has(k) ? [[k, out.get(k) as SyncHash] as const] : [])));
    },

    async putHashes(entries) {
      const at = now();
      // BatchWriteItem refuses two writes of one key in a call: the last one wins.
      const last = new Map(entries.map((e) => [e.key, e.hash]));
      const puts = [...last].map(([k, hash]) => ({
        PutRequest: { Item: { ...hashKey(k), key: k, hash, updatedAt: at } },
      }));
      await batchWrite(puts);
    },

    async trackOrder(order) {
      const k = trackedOrderKey(order.dataAreaId, order.salesOrderNumber);
      await client.send(
        new PutCommand({
          TableName,
          Item: {
            ...orderKey(k),
            dataAreaId: order.dataAreaId.toLowerCase(),
            salesOrderNumber: order.salesOrderNumber,
            sobject: order.sobject,
            salesforceId: order.salesforceId,
            appliedHash: order.appliedHash,
            trackedAt: order.trackedAt,
          },
        }),
      );
    },

    async getTrackedOrders(keys) {
      const out = new Map<string, TrackedOrder>();
      await batchGet([...new Set(keys)].map(orderKey), (item) => {
        out.set(String(item[TABLE.sortKey]), toTrackedOrder(item));
      });
      return new Map(keys.flatMap((k) => (out.has(k) ? [[k, out.get(k) as TrackedOrder] as const] : [])));
    },

    async listTrackedOrders({ after, limit }) {
      const size = Math.min(Math.max(limit, 1), 1000);
      const orders: TrackedOrder[] = [];
      let start: Record<string, unknown> | undefined = after ? orderKey(after) : undefined;
      // Query pages by size (1 MB), not by count: read on until `size` orders or the end.
      while (orders.length < size) {
        const result = await client.send(
          new QueryCommand({
            TableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': TABLE.partitionKey },
            ExpressionAttributeValues: { ':pk': TRACKED_ORDERS },
            ConsistentRead: true,
            Limit: size - orders.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        orders.push(...(result.Items ?? []).map(toTrackedOrder));
        start = result.LastEvaluatedKey;
        if (!start) break;
      }
      const last = orders.at(-1);
      return {
        orders,
        next: start && last ? trackedOrderKey(last.dataAreaId, last.salesOrderNumber) : undefined,
      };
    },

    async untrackOrder(k) {
      await client.send(new DeleteCommand({ TableName, Key: orderKey(k) }));
    },

    async appendAudit(entry) {
      const full = completeAudit(entry);
      await client.send(new PutCommand({ TableName, Item: auditItem(full) }));
      return full;
    },

    async appendAudits(entries) {
      const full = entries.map(completeAudit);
      const puts = full.map((e) => ({ PutRequest: { Item: auditItem(e) } }));
      await batchWrite(puts);
      return full;
    },

    async getAudit(auditId) {
      const { Item } = await client.send(new GetCommand({ TableName, Key: auditKey(auditId) }));
      return Item ? toAudit(Item) : undefined;
    },

    async queryAudit(query: AuditQuery) {
      const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
      const range: string[] = [];
      const values: Record<string, unknown> = {};
      if (query.since !== undefined && query.until !== undefined) {
        range.push('auditSort BETWEEN :since AND :until');
        values[':since'] = timeBound(query.since);
        // `<at>#<id>` sorts after `<at>`: BETWEEN up to the bare `until` excludes entries at `until`.
        values[':until'] = timeBound(query.until);
      } else if (query.since !== undefined) {
        range.push('auditSort >= :since');
        values[':since'] = timeBound(query.since);
      } else if (query.until !== undefined) {
        range.push('auditSort < :until');
        values[':until'] = timeBound(query.until);
      }
      const byIndex = (index: typeof TABLE.byRecordIndex | typeof TABLE.byOutcomeIndex, value: string) => {
        const filter =
          index === TABLE.byRecordIndex && query.outcome !== undefined
            ? { FilterExpression: 'outcome = :outcome', outcome: query.outcome }
            : undefined;
        return queryIndex(
          {
            TableName,
            IndexName: index.name,
            KeyConditionExpression: [`${index.partitionKey} = :partition`, ...range].join(' AND '),
            ExpressionAttributeValues: {
              ...values,
              ':partition': value,
              ...(filter ? { ':outcome': filter.outcome } : {}),
            },
            ...(filter ? { FilterExpression: filter.FilterExpression } : {}),
            ScanIndexForward: false,
          },
          limit,
        );
      };
      let items: Item[];
      if (query.recordKey !== undefined) items = await byIndex(TABLE.byRecordIndex, query.recordKey);
      else if (query.outcome !== undefined) items = await byIndex(TABLE.byOutcomeIndex, query.outcome);
      else {
        // No key: merge the newest `limit` of every outcome (six index queries, no table scan).
        const perOutcome = await Promise.all(OUTCOMES.map((o) => byIndex(TABLE.byOutcomeIndex, o)));
        items = perOutcome
          .flat()
          .sort((a, b) => String(b.auditSort).localeCompare(String(a.auditSort)))
          .slice(0, limit);
      }
      return items.map(toAudit);
    },

    async close() {},
  };
}

/** The table item of an audit entry (`work` as JSON; the TTL attribute from `expiresAt`). */
function auditItem(full: AuditEntry): Record<string, unknown> {
  return {
    ...auditKey(full.auditId),
    auditId: full.auditId,
    recordKey: full.recordKey,
    flow: full.flow,
    trigger: full.trigger,
    attempt: full.attempt,
    outcome: full.outcome,
    at: full.at,
    auditSort: auditSort(full.at, full.auditId),
    durationMs: full.durationMs,
    targetIds: full.targetIds,
    error: full.error,
    work: full.work === undefined ? undefined : JSON.stringify(full.work),
    [TABLE.ttlAttribute]: full.expiresAt,
    ...(full.waitsFor && full.waitsFor.length > 0 ? { waitsFor: [...full.waitsFor] } : {}),
  };
}
