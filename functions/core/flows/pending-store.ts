/**
 * The pending records of an open Bulk job, kept on disk: a job holds up to about 100 MB of CSV
 * (750,000 records or more), and a compact entry per record held in memory would cost about
 * 175 bytes each (130 MB per job). A temporary SQLite file (Node's built-in `node:sqlite`, no
 * journal, no fsync: it lives only as long as the job) keeps memory to SQLite's page cache.
 * Entries keep their insertion order; `replace` changes a value in place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';

/** Values read per query while iterating. */
const PAGE = 1_000;
/**
 * Writes per transaction: one transaction per write would be one file write each (two per result
 * row); the file is private to this process, so an open transaction only batches them.
 */
const WRITES_PER_TRANSACTION = 10_000;

export class PendingStore {
  private readonly dir: string;
  private readonly db: DatabaseSync;
  private readonly insert: StatementSync;
  private readonly select: StatementSync;
  private readonly page: StatementSync;
  private count = 0;
  private closed = false;
  /** Writes in the open transaction (0: none open). */
  private writes = 0;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'ml-bulk-'));
    this.db = new DatabaseSync(join(this.dir, 'pending.db'));
    this.db.exec(
      'PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; PRAGMA cache_size=-4096;' +
        'CREATE TABLE pending (seq INTEGER PRIMARY KEY, k TEXT NOT NULL UNIQUE, v TEXT NOT NULL);',
    );
    this.insert = this.db.prepare(
      'INSERT INTO pending (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
    );
    this.select = this.db.prepare('SELECT v FROM pending WHERE k = ?');
    this.page = this.db.prepare('SELECT seq, v FROM pending WHERE seq > ? ORDER BY seq LIMIT ?');
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get(key: string): string | undefined {
    const row = this.select.get(key) as { v: string } | undefined;
    return row?.v;
  }

  /** Adds a key known to be absent (see `has`). */
  add(key: string, value: string): void {
    this.write(key, value);
    this.count++;
  }

  /** Replaces the value of a present key; false when the key is absent. */
  replace(key: string, value: string): boolean {
    if (this.get(key) === undefined) return false;
    this.write(key, value);
    return true;
  }

  private write(key: string, value: string): void {
    if (this.writes === 0) this.db.exec('BEGIN');
    this.insert.run(key, value);
    if (++this.writes >= WRITES_PER_TRANSACTION) this.commit();
  }

  private commit(): void {
    if (this.writes === 0) return;
    this.writes = 0;
    this.db.exec('COMMIT');
  }

  /** The values in insertion order, `PAGE` at a time from disk. */
  *values(): Generator<string> {
    let after = 0;
    for (;;) {
      const rows = this.page.all(after, PAGE) as { seq: number; v: string }[];
      for (const row of rows) yield row.v;
      const last = rows.at(-1);
      if (!last || rows.length < PAGE) return;
      after = last.seq;
    }
  }

  /** Deletes the file. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.commit();
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
