/**
 * The WorkQueue port on embedded SQLite: SQS semantics (visibility time-out, receive count,
 * dead-letter queue after maxReceiveCount, at-least-once) in one table, so a crash mid-batch loses
 * nothing: unacknowledged messages reappear when their visibility time-out ends.
 */
import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import {
  type DeadLetter,
  encodeMessages,
  MAX_BATCH,
  type OutgoingMessage,
  type QueueDepth,
  type ReceivedMessage,
  type WorkQueue,
} from '#core/ports/work-queue.ts';
import { openDatabase, statementCache, transaction } from './sqlite.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_messages (
  message_id TEXT PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL, sent_at INTEGER NOT NULL,
  visible_at INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0, receipt TEXT,
  dead_at INTEGER, dead_reason TEXT, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS queue_ready ON queue_messages (queue, dead_at, visible_at, seq);
CREATE INDEX IF NOT EXISTS queue_receipt ON queue_messages (receipt);
`;

export interface SqliteWorkQueueOptions {
  readonly database: string | DatabaseSync;
  /** Receives before a message is dead-lettered (SQS maxReceiveCount). Default 5. */
  readonly maxReceiveCount?: number;
  /** Default visibility time-out in seconds. Default 30. */
  readonly visibilityTimeoutSeconds?: number;
  readonly now?: () => number;
}

type Row = Record<string, string | number | null>;

export function createSqliteWorkQueue(options: SqliteWorkQueueOptions): WorkQueue {
  const owned = typeof options.database === 'string';
  const db = typeof options.database === 'string' ? openDatabase(options.database) : options.database;
  const now = options.now ?? Date.now;
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const defaultVisibility = options.visibilityTimeoutSeconds ?? 30;
  db.exec(SCHEMA);
  const prepare = statementCache(db);
  let seq = Number((prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM queue_messages').get() as Row).s);

  return {
    async send(queue, messages: readonly OutgoingMessage[]) {
      const encoded = encodeMessages(queue, messages);
      const insert = prepare(
        'INSERT INTO queue_messages (message_id, queue, body, sent_at, visible_at, seq) VALUES (?, ?, ?, ?, ?, ?)',
      );
      // Batches of 10 as SQS would take them; each batch is atomic.
      for (let i = 0; i < encoded.length; i += MAX_BATCH) {
        transaction(db, () => {
          const at = now();
          for (const m of encoded.slice(i, i + MAX_BATCH)) {
            seq += 1;
            insert.run(randomUUID(), queue, m.body, at, at + m.delaySeconds * 1000, seq);
          }
        });
      }
    },

    async receive<T>(queue: string, opts: { max?: number; visibilityTimeoutSeconds?: number } = {}) {
      const max = Math.min(Math.max(opts.max ?? MAX_BATCH, 1), MAX_BATCH);
      const visibility = opts.visibilityTimeoutSeconds ?? defaultVisibility;
      return transaction(db, () => {
        const at = now();
        const out: ReceivedMessage<T>[] = [];
        const select = prepare(
          'SELECT * FROM queue_messages WHERE queue = ? AND dead_at IS NULL AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?',
        );
        // Dead-lettering can consume candidates, so keep selecting until the batch is full or the queue is dry.
        while (out.length < max) {
          const rows = select.all(queue, at, max - out.length) as Row[];
          if (rows.length === 0) break;
          for (const row of rows) {
            const count = Number(row.receive_count);
            if (count >= maxReceiveCount) {
              prepare('UPDATE queue_messages SET dead_at = ?, receipt = NULL WHERE message_id = ?').run(
                at,
                String(row.message_id),
              );
              continue;
            }
            const receipt = randomUUID();
            prepare(
              'UPDATE queue_messages SET receive_count = ?, receipt = ?, visible_at = ? WHERE message_id = ?',
            ).run(count + 1, receipt, at + visibility * 1000, String(row.message_id));
            out.push({
              messageId: String(row.message_id),
              receiptHandle: receipt,
              body: JSON.parse(String(row.body)) as T,
              receiveCount: count + 1,
              sentAt: Number(row.sent_at),
            });
          }
        }
        return out;
      });
    },

    async ack(queue, receiptHandles) {
      transaction(db, () => {
        const del = prepare('DELETE FROM queue_messages WHERE queue = ? AND receipt = ? AND dead_at IS NULL');
        for (const handle of receiptHandles) del.run(queue, handle);
      });
    },

    async release(queue, receiptHandle, delaySeconds = 0) {
      prepare(
        'UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ? AND dead_at IS NULL',
      ).run(now() + delaySeconds * 1000, queue, receiptHandle);
    },

    async deadLetter(queue, receiptHandle, reason) {
      prepare(
        'UPDATE queue_messages SET dead_at = ?, dead_reason = ?, receipt = NULL WHERE queue = ? AND receipt = ? AND dead_at IS NULL',
      ).run(now(), reason.slice(0, 1000), queue, receiptHandle);
    },

    async depth(queue): Promise<QueueDepth> {
      const at = now();
      const row = db
        .prepare(
          `SELECT
             SUM(CASE WHEN dead_at IS NULL AND visible_at <= ? THEN 1 ELSE 0 END) AS visible,
             SUM(CASE WHEN dead_at IS NULL AND visible_at > ? AND receipt IS NOT NULL THEN 1 ELSE 0 END) AS in_flight,
             SUM(CASE WHEN dead_at IS NULL AND visible_at > ? AND receipt IS NULL THEN 1 ELSE 0 END) AS delayed,
             SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END) AS dead,
             MIN(dead_at) AS oldest_dead
           FROM queue_messages WHERE queue = ?`,
        )
        .get(at, at, at, queue) as Row;
      return {
        visible: Number(row.visible ?? 0),
        inFlight: Number(row.in_flight ?? 0),
        delayed: Number(row.delayed ?? 0),
        deadLettered: Number(row.dead ?? 0),
        oldestDeadLetterAt: row.oldest_dead === null ? undefined : Number(row.oldest_dead),
      };
    },

    async listDeadLetters<T>(queue: string, opts: { limit?: number } = {}) {
      const rows = db
        .prepare(
          'SELECT * FROM queue_messages WHERE queue = ? AND dead_at IS NOT NULL ORDER BY dead_at, seq LIMIT ?',
        )
        .all(queue, Math.min(Math.max(opts.limit ?? 100, 1), 1000)) as Row[];
      return rows.map(
        (row): DeadLetter<T> => ({
          messageId: String(row.message_id),
          body: JSON.parse(String(row.body)) as T,
          receiveCount: Number(row.receive_count),
          sentAt: Number(row.sent_at),
          deadLetteredAt: Number(row.dead_at),
          reason: row.dead_reason === null ? undefined : String(row.dead_reason),
        }),
      );
    },

    async redrive(queue, messageIds) {
      return transaction(db, () => {
        const at = now();
        if (messageIds === undefined) {
          return Number(
            db
              .prepare(
                'UPDATE queue_messages SET dead_at = NULL, dead_reason = NULL, receive_count = 0, receipt = NULL, visible_at = ? WHERE queue = ? AND dead_at IS NOT NULL',
              )
              .run(at, queue).changes,
          );
        }
        let moved = 0;
        const one = prepare(
          'UPDATE queue_messages SET dead_at = NULL, dead_reason = NULL, receive_count = 0, receipt = NULL, visible_at = ? WHERE queue = ? AND message_id = ? AND dead_at IS NOT NULL',
        );
        for (const id of messageIds) moved += Number(one.run(at, queue, id).changes);
        return moved;
      });
    },

    async close() {
      if (owned) db.close();
    },
  };
}
