import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { ConditionFailedError, type StateStore } from '#core/ports/state-store.ts';

// The audit trail's queries are checked for this store by the shared StateStore behaviours
// (test/support/state-store-behaviour.ts, run on SQLite in test/unit/adapters/aws/state-store.test.ts).

describe('createSqliteStateStore', () => {
  let clock: number;
  let store: StateStore;
  beforeEach(() => {
    clock = Date.parse('2026-11-26T12:00:00Z');
    store = createSqliteStateStore({ database: ':memory:', now: () => clock });
  });
  afterEach(async () => {
    await store.close();
  });

  it('writes checkpoints with increasing versions and refuses a stale expected version', async () => {
    const first = await store.putCheckpoint('cdc:/data/AccountChangeEvent', 'AAAB', { expectedVersion: 0 });
    expect(first.version).toBe(1);
    await store.putCheckpoint('cdc:/data/AccountChangeEvent', 'AAAC', { expectedVersion: 1 });
    await expect(
      store.putCheckpoint('cdc:/data/AccountChangeEvent', 'AAAD', { expectedVersion: 1 }),
    ).rejects.toBeInstanceOf(ConditionFailedError);
    expect(await store.getCheckpoint('cdc:/data/AccountChangeEvent')).toMatchObject({
      value: 'AAAC',
      version: 2,
    });
  });

  it('claims a dedup key once until it expires', async () => {
    expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(true);
    expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(false);
    clock += 61_000;
    expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(true);
  });

  it('resumes an interrupted idempotency record with the steps already done', async () => {
    const begun = await store.beginIdempotent('so:006000000000001AAA');
    expect(begun.created).toBe(true);
    const step = await store.updateIdempotent(begun.record.key, begun.record.version, {
      salesOrderNumber: 'SO-000301',
    });
    const again = await store.beginIdempotent('so:006000000000001AAA');
    expect(again).toMatchObject({
      created: false,
      record: { status: 'in_progress', data: { salesOrderNumber: 'SO-000301' } },
    });
    const done = await store.completeIdempotent(step.key, step.version, { linesCreated: 3 });
    expect(done).toMatchObject({
      status: 'completed',
      data: { salesOrderNumber: 'SO-000301', linesCreated: 3 },
    });
    await expect(store.updateIdempotent(step.key, done.version, {})).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
  });

  it('refuses an idempotency update from a writer holding an old version', async () => {
    const { record } = await store.beginIdempotent('k');
    await store.updateIdempotent('k', record.version, { a: 1 });
    await expect(store.updateIdempotent('k', record.version, { a: 2 })).rejects.toBeInstanceOf(
      ConditionFailedError,
    );
  });

  it('stores and reads content hashes in batches', async () => {
    await store.putHashes([
      { key: 'customers:usmf:US-001', hash: 'h1' },
      { key: 'customers:usmf:US-002', hash: 'h2' },
    ]);
    await store.putHashes([{ key: 'customers:usmf:US-001', hash: 'h1b' }]);
    const got = await store.getHashes([
      'customers:usmf:US-001',
      'customers:usmf:US-002',
      'customers:usmf:US-003',
    ]);
    expect([...got.values()].map((h) => [h.key, h.hash])).toEqual([
      ['customers:usmf:US-001', 'h1b'],
      ['customers:usmf:US-002', 'h2'],
    ]);
  });

  it('keeps its state across a restart of the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlc-state-'));
    try {
      const path = join(dir, 'state.db');
      const one = createSqliteStateStore({ database: path });
      await one.putCheckpoint('watermark:Account', '2026-11-26T12:00:00.000Z');
      await one.close();
      const two = createSqliteStateStore({ database: path });
      expect(await two.getCheckpoint('watermark:Account')).toMatchObject({
        value: '2026-11-26T12:00:00.000Z',
      });
      await two.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
