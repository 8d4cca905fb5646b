/**
 * Opens the local shape's embedded database: SQLite through node:sqlite (no native add-on), in
 * WAL mode with synchronous=FULL so a committed write survives a crash or power loss.
 * https://www.sqlite.org/wal.html
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

export function openDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  return db;
}

/** Runs `fn` in an IMMEDIATE transaction (takes the write lock up front), rolling back on error. */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

/**
 * A `prepare` that compiles each SQL text once per database: node:sqlite does not cache prepared
 * statements, and preparing on every call costs time and memory on hot paths (the audit trail).
 */
export function statementCache(db: DatabaseSync): (sql: string) => StatementSync {
  const cache = new Map<string, StatementSync>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
