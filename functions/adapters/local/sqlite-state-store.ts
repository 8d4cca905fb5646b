import type { DatabaseSync } from 'node:sqlite';
import {
  type AuditEntry,
  type AuditQuery,
  type Checkpoint,
  ConditionFailedError,
  type IdempotencyRecord,
  type NewAuditEntry,
  newAuditId,
  type StateStore,
  type SyncHash,
  type TrackedOrder,
  trackedOrderKey,
} from '#core/ports/state-store.ts';
import { openDatabase, statementCache, transaction } from './sqlite.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  name TEXT PRIMARY KEY, value TEXT NOT NULL, version INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dedup_keys (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
  key TEXT PRIMARY KEY, status TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER);
CREATE TABLE IF NOT EXISTS sync_hashes (key TEXT PRIMARY KEY, hash TEXT NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  audit_id TEXT PRIMARY KEY, record_key TEXT NOT NULL, flow TEXT NOT NULL, trigger TEXT NOT NULL,
  attempt INTEGER NOT NULL, outcome TEXT NOT NULL, at INTEGER NOT NULL, duration_ms INTEGER,
  target_ids TEXT, error TEXT, work TEXT, expires_at INTEGER, waits_for TEXT);
CREATE INDEX IF NOT EXISTS audit_by_record ON audit (record_key, at);
CREATE INDEX IF NOT EXISTS audit_by_outcome ON audit (outcome, at);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE TABLE IF NOT EXISTS tracked_orders (
  key TEXT PRIMARY KEY, data_area_id TEXT NOT NULL, sales_order_number TEXT NOT NULL,
  sobject TEXT NOT NULL, salesforce_id TEXT NOT NULL, applied_hash TEXT, tracked_at INTEGER NOT NULL);
`;

export interface SqliteStateStoreOptions {
  /** A database file path, `:memory:`, or an open database (shared with the queue). */
  readonly database: string | DatabaseSync;
  readonly now?: () => number;
}

type Row = Record<string, string | number | null>;

const nowSeconds = (ms: number) => Math.floor(ms / 1000);

function toCheckpoint(row: Row): Checkpoint {
  return {
    name: String(row.name),
    value: String(row.value),
    version: Number(row.version),
    updatedAt: Number(row.updated_at),
  };
}

function toIdempotency(row: Row): IdempotencyRecord {
  return {
    key: String(row.key),
    status: row.status as IdempotencyRecord['status'],
    data: JSON.parse(String(row.data)) as Record<string, unknown>,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? undefined : Number(row.expires_at),
  };
}

function toTrackedOrder(row: Row): TrackedOrder {
  return {
    dataAreaId: String(row.data_area_id),
    salesOrderNumber: String(row.sales_order_number),
    sobject: row.sobject as TrackedOrder['sobject'],
    salesforceId: String(row.salesforce_id),
    appliedHash: row.applied_hash === null ? undefined : String(row.applied_hash),
    trackedAt: Number(row.tracked_at),
  };
}

function toAudit(row: Row): AuditEntry {
  return {
    auditId: String(row.audit_id),
    recordKey: String(row.record_key),
    flow: String(row.flow),
    trigger: String(row.trigger),
    attempt: Number(row.attempt),
    outcome: row.outcome as AuditEntry['outcome'],
    at: Number(row.at),
    durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
    targetIds:
      row.target_ids === null ? undefined : (JSON.parse(String(row.target_ids)) as Record<string, string>),
    error: row.error === null ? undefined : String(row.error),
    work: row.work === null ? undefined : JSON.parse(String(row.work)),
    expiresAt: row.expires_at === null ? undefined : Number(row.expires_at),
    ...(typeof row.waits_for === 'string' ? { waitsFor: JSON.parse(row.waits_for) as string[] } : {}),
  };
}

/** Adds the columns later versions introduced to a database an earlier version created. */
function migrate(db: DatabaseSync): void {
  const columns = new Set(
    (db.prepare('PRAGMA table_info(audit)').all() as { name: string }[]).map((c) => c.name),
  );
  if (!columns.has('waits_for')) db.exec('ALTER TABLE audit ADD COLUMN waits_for TEXT');
}

export function createSqliteStateStore(options: SqliteStateStoreOptions): StateStore {
  const owned = typeof options.database === 'string';
  const db = typeof options.database === 'string' ? openDatabase(options.database) : options.database;
  const now = options.now ?? Date.now;
  db.exec(SCHEMA);
  migrate(db);
  const prepare = statementCache(db);

  const getIdem = (key: string) =>
    prepare('SELECT * FROM idempotency WHERE key = ?').get(key) as Row | undefined;

  const writeIdem = (
    key: string,
    expectedVersion: number,
    data: Record<string, unknown>,
    status: IdempotencyRecord['status'],
    from: IdempotencyRecord['status'] = 'in_progress',
  ): IdempotencyRecord =>
    transaction(db, () => {
      const row = getIdem(key);
      if (!row) throw new ConditionFailedError(`idempotency record ${key} does not exist`);
      const current = toIdempotency(row);
      if (current.version !== expectedVersion) {
        throw new ConditionFailedError(
          `idempotency record ${key} is at version ${current.version}, not ${expectedVersion}`,
        );
      }
      if (current.status !== from)
        throw new ConditionFailedError(`idempotency record ${key} is ${current.status}, not ${from}`);
      const merged = { ...current.data, ...data };
      prepare('UPDATE idempotency SET status = ?, data = ?, version = ?, updated_at = ? WHERE key = ?').run(
        status,
        JSON.stringify(merged),
        current.version + 1,
        now(),
        key,
      );
      return toIdempotency(getIdem(key) as Row);
    });

  /** One audit row; the caller decides the transaction. */
  const insertAudit = (entry: NewAuditEntry): AuditEntry => {
    const at = entry.at ?? now();
    const full: AuditEntry = { ...entry, at, auditId: newAuditId(at) };
    prepare(
      'INSERT INTO audit (audit_id, record_key, flow, trigger, attempt, outcome, at, duration_ms, target_ids, error, work, expires_at, waits_for) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      full.auditId,
      full.recordKey,
      full.flow,
      full.trigger,
      full.attempt,
      full.outcome,
      at,
      full.durationMs ?? null,
      full.targetIds === undefined ? null : JSON.stringify(full.targetIds),
      full.error ?? null,
      full.work === undefined ? null : JSON.stringify(full.work),
      full.expiresAt ?? null,
      full.waitsFor && full.waitsFor.length > 0 ? JSON.stringify(full.waitsFor) : null,
    );
    return full;
  };

  return {
    async getCheckpoint(name) {
      const row = prepare('SELECT * FROM checkpoints WHERE name = ?').get(name) as Row | undefined;
      return row ? toCheckpoint(row) : undefined;
    },

    async putCheckpoint(name, value, opts = {}) {
      return transaction(db, () => {
        const row = prepare('SELECT version FROM checkpoints WHERE name = ?').get(name) as Row | undefined;
        const version = row ? Number(row.version) : 0;
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== version) {
          throw new ConditionFailedError(
            `checkpoint ${name} is at version ${version}, not ${opts.expectedVersion}`,
          );
        }
        const at = now();
        prepare(
          'INSERT INTO checkpoints (name, value, version, updated_at) VALUES (?, ?, ?, ?) ' +
            'ON CONFLICT (name) DO UPDATE SET value = excluded.value, version = excluded.version, updated_at = excluded.updated_at',
        ).run(name, value, version + 1, at);
        return { name, value, version: version + 1, updatedAt: at };
      });
    },

    async listCheckpoints() {
      return (prepare('SELECT * FROM checkpoints ORDER BY name').all() as Row[]).map(toCheckpoint);
    },

    async claimDedupKey(key, ttlSeconds) {
      const at = nowSeconds(now());
      const result = db
        .prepare(
          'INSERT INTO dedup_keys (key, expires_at) VALUES (?, ?) ' +
            'ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE dedup_keys.expires_at <= ?',
        )
        .run(key, at + ttlSeconds, at);
      return Number(result.changes) === 1;
    },

    async releaseDedupKey(key) {
      prepare('DELETE FROM dedup_keys WHERE key = ?').run(key);
    },

    async beginIdempotent(key, opts = {}) {
      return transaction(db, () => {
        const row = getIdem(key);
        if (row) {
          const record = toIdempotency(row);
          const expired = record.expiresAt !== undefined && record.expiresAt <= nowSeconds(now());
          if (!expired) return { created: false, record };
          prepare('DELETE FROM idempotency WHERE key = ?').run(key);
        }
        const at = now();
        const expiresAt = opts.ttlSeconds === undefined ? null : nowSeconds(at) + opts.ttlSeconds;
        prepare(
          'INSERT INTO idempotency (key, status, data, version, created_at, updated_at, expires_at) VALUES (?, ?, ?, 1, ?, ?, ?)',
        ).run(key, 'in_progress', '{}', at, at, expiresAt);
        return { created: true, record: toIdempotency(getIdem(key) as Row) };
      });
    },

    async updateIdempotent(key, expectedVersion, data) {
      return writeIdem(key, expectedVersion, data, 'in_progress');
    },

    async completeIdempotent(key, expectedVersion, data) {
      return writeIdem(key, expectedVersion, data, 'completed');
    },

    async reopenIdempotent(key, expectedVersion, data) {
      return writeIdem(key, expectedVersion, data, 'in_progress', 'completed');
    },

    async getIdempotent(key) {
      const row = getIdem(key);
      return row ? toIdempotency(row) : undefined;
    },

    async deleteIdempotent(key) {
      prepare('DELETE FROM idempotency WHERE key = ?').run(key);
    },

    async getHashes(keys) {
      const out = new Map<string, SyncHash>();
      const select = prepare('SELECT * FROM sync_hashes WHERE key = ?');
      for (const key of keys) {
        const row = select.get(key) as Row | undefined;
        if (row) out.set(key, { key, hash: String(row.hash), updatedAt: Number(row.updated_at) });
      }
      return out;
    },

    async putHashes(entries) {
      const at = now();
      transaction(db, () => {
        const upsert = prepare(
          'INSERT INTO sync_hashes (key, hash, updated_at) VALUES (?, ?, ?) ' +
            'ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at',
        );
        for (const e of entries) upsert.run(e.key, e.hash, at);
      });
    },

    async appendAudit(entry: NewAuditEntry) {
      return insertAudit(entry);
    },

    async appendAudits(entries) {
      return transaction(db, () => entries.map(insertAudit));
    },

    async getAudit(auditId) {
      const row = prepare('SELECT * FROM audit WHERE audit_id = ?').get(auditId) as Row | undefined;
      return row ? toAudit(row) : undefined;
    },

    async queryAudit(query: AuditQuery) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (query.recordKey !== undefined) {
        where.push('record_key = ?');
        params.push(query.recordKey);
      }
      if (query.outcome !== undefined) {
        where.push('outcome = ?');
        params.push(query.outcome);
      }
      if (query.since !== undefined) {
        where.push('at >= ?');
        params.push(query.since);
      }
      if (query.until !== undefined) {
        where.push('at < ?');
        params.push(query.until);
      }
      const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
      const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at DESC, audit_id DESC LIMIT ?`;
      return (prepare(sql).all(...params, limit) as Row[]).map(toAudit);
    },

    async trackOrder(order) {
      prepare(
        'INSERT INTO tracked_orders (key, data_area_id, sales_order_number, sobject, salesforce_id, applied_hash, tracked_at) ' +
          'VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET sobject = excluded.sobject, ' +
          'salesforce_id = excluded.salesforce_id, applied_hash = excluded.applied_hash, tracked_at = excluded.tracked_at',
      ).run(
        trackedOrderKey(order.dataAreaId, order.salesOrderNumber),
        order.dataAreaId.toLowerCase(),
        order.salesOrderNumber,
        order.sobject,
        order.salesforceId,
        order.appliedHash ?? null,
        order.trackedAt,
      );
    },

    async getTrackedOrders(keys) {
      const out = new Map<string, TrackedOrder>();
      const select = prepare('SELECT * FROM tracked_orders WHERE key = ?');
      for (const key of keys) {
        const row = select.get(key) as Row | undefined;
        if (row) out.set(key, toTrackedOrder(row));
      }
      return out;
    },

    async listTrackedOrders({ after, limit }) {
      const size = Math.min(Math.max(limit, 1), 1000);
      const rows = prepare('SELECT * FROM tracked_orders WHERE key > ? ORDER BY key LIMIT ?').all(
        after ?? '',
        size + 1,
      ) as Row[];
      const orders = rows.slice(0, size).map(toTrackedOrder);
      const last = orders.at(-1);
      return {
        orders,
        next:
          rows.length > size && last ? trackedOrderKey(last.dataAreaId, last.salesOrderNumber) : undefined,
      };
    },

    async untrackOrder(key) {
      prepare('DELETE FROM tracked_orders WHERE key = ?').run(key);
    },

    async close() {
      if (owned) db.close();
    },
  };
}
