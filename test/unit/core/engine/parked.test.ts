import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import { parkedByFlow, watchAudit } from '#core/engine/audit-watch.ts';
import { listParked, retryArrived, retryParked } from '#core/engine/parked.ts';
import { QUEUES } from '#core/work/items.ts';

const stub = (id: string) => ({
  kind: 'salesforce-stub',
  sobject: 'Opportunity',
  id,
  trigger: 'cdc',
  observedAt: 1,
});

function setUp() {
  const db = new DatabaseSync(':memory:');
  let clock = Date.parse('2026-12-01T10:00:00Z');
  const now = () => clock;
  const state = createSqliteStateStore({ database: db, now });
  const queue = createSqliteWorkQueue({ database: db, now });
  const park = (id: string, waitsFor?: string[]) =>
    state.appendAudit({
      recordKey: `salesforce:Opportunity:${id}`,
      flow: 'won-opportunities',
      trigger: 'cdc',
      attempt: 1,
      outcome: 'parked',
      error: `reason ${id}`,
      work: stub(id),
      ...(waitsFor ? { waitsFor } : {}),
    });
  const tick = () => {
    clock += 1000;
  };
  return { db, state, queue, ctx: { state, queue, now }, park, tick };
}

describe('retryParked', () => {
  it('enqueues once the parked work waiting for a record that succeeded, whatever the case of its key', async () => {
    const { state, queue, ctx, park, tick } = setUp();
    await park('006A', ['dynamics:ReleasedProductsV2:usmf:P-1']);
    await park('006B', ['dynamics:ReleasedProductsV2:usmf:P-2']);
    await park('006C');
    tick();
    const arrived = await state.appendAudit({
      recordKey: 'dynamics:ReleasedProductsV2:usmf:p-1',
      flow: 'products',
      trigger: 'business-event',
      attempt: 1,
      outcome: 'succeeded',
    });
    tick();
    expect(await retryParked(ctx, [arrived])).toEqual(['salesforce:Opportunity:006A']);
    // A second look finds the record enqueued already: nothing is sent twice.
    expect(await retryParked(ctx, [arrived])).toEqual([]);
    const messages = await queue.receive(QUEUES.toDynamics, { max: 10, visibilityTimeoutSeconds: 30 });
    expect(messages.map((m) => m.body)).toEqual([expect.objectContaining({ id: '006A', trigger: 'replay' })]);
  });

  it('ignores entries that are not successes', async () => {
    const { ctx, park } = setUp();
    const parked = await park('006D', ['salesforce:Account:001']);
    expect(await retryParked(ctx, [{ ...parked, recordKey: 'salesforce:Account:001' }])).toEqual([]);
  });
});

describe('listParked', () => {
  it('lists each record still parked once, newest first, with its reason', async () => {
    const { state, ctx, park, tick } = setUp();
    await park('006E');
    tick();
    await park('006F', ['salesforce:Account:001']);
    tick();
    await park('006E');
    tick();
    await park('006G');
    tick();
    await state.appendAudit({
      recordKey: 'salesforce:Opportunity:006G',
      flow: 'won-opportunities',
      trigger: 'replay',
      attempt: 2,
      outcome: 'succeeded',
    });
    const parked = await listParked(state, { now: ctx.now() });
    expect(parked.map((p) => [p.recordKey, p.reason, p.waitsFor])).toEqual([
      ['salesforce:Opportunity:006E', 'reason 006E', []],
      ['salesforce:Opportunity:006F', 'reason 006F', ['salesforce:Account:001']],
    ]);
  });
});

describe('watchAudit', () => {
  it('hands over what was appended through it once, and counts the parked entries per flow', async () => {
    const { state } = setUp();
    const watch = watchAudit(state);
    await watch.state.appendAudit({
      recordKey: 'a',
      flow: 'f',
      trigger: 'cdc',
      attempt: 1,
      outcome: 'parked',
    });
    await watch.state.appendAudit({
      recordKey: 'b',
      flow: 'f',
      trigger: 'cdc',
      attempt: 1,
      outcome: 'succeeded',
    });
    await state.appendAudit({ recordKey: 'c', flow: 'f', trigger: 'cdc', attempt: 1, outcome: 'parked' });
    const taken = watch.take();
    expect(taken.map((e) => e.recordKey)).toEqual(['a', 'b']);
    expect(parkedByFlow(taken)).toEqual(new Map([['f', 1]]));
    expect(watch.take()).toEqual([]);
    expect(await watch.state.queryAudit({ outcome: 'parked' })).toHaveLength(2);
  });
});

describe('the SQLite state store of an earlier version', () => {
  it('gains the waits_for column and keeps its audit trail', async () => {
    const db = new DatabaseSync(':memory:');
    db.exec(`CREATE TABLE audit (
      audit_id TEXT PRIMARY KEY, record_key TEXT NOT NULL, flow TEXT NOT NULL, trigger TEXT NOT NULL,
      attempt INTEGER NOT NULL, outcome TEXT NOT NULL, at INTEGER NOT NULL, duration_ms INTEGER,
      target_ids TEXT, error TEXT, work TEXT, expires_at INTEGER)`);
    db.exec(
      "INSERT INTO audit VALUES ('0001', 'k', 'f', 'cdc', 1, 'parked', 5, NULL, NULL, 'old reason', NULL, NULL)",
    );
    const state = createSqliteStateStore({ database: db });
    expect(await state.getAudit('0001')).toMatchObject({ error: 'old reason' });
    const entry = await state.appendAudit({
      recordKey: 'k2',
      flow: 'f',
      trigger: 'cdc',
      attempt: 1,
      outcome: 'parked',
      waitsFor: ['x'],
    });
    expect(await state.getAudit(entry.auditId)).toMatchObject({ waitsFor: ['x'] });
  });
});

describe('retryArrived', () => {
  it('enqueues the parked work one of whose records succeeded since it was parked, once', async () => {
    const { state, queue, ctx, park, tick } = setUp();
    const success = (recordKey: string) =>
      state.appendAudit({ recordKey, flow: 'products', trigger: 'cdc', attempt: 1, outcome: 'succeeded' });
    await success('dynamics:ReleasedProductsV2:usmf:P-9');
    tick();
    await park('006H', ['dynamics:ReleasedProductsV2:usmf:P-8', 'dynamics:ReleasedProductsV2:usmf:P-9']);
    await park('006I', ['dynamics:ReleasedProductsV2:usmf:P-7']);
    tick();
    // P-9 succeeded before 006H was parked: that does not count.
    expect(await retryArrived(ctx)).toEqual([]);
    await success('dynamics:ReleasedProductsV2:usmf:P-8');
    tick();
    expect(await retryArrived(ctx)).toEqual(['salesforce:Opportunity:006H']);
    expect(await retryArrived(ctx)).toEqual([]);
    const messages = await queue.receive(QUEUES.toDynamics, { max: 10, visibilityTimeoutSeconds: 30 });
    expect(messages.map((m) => (m.body as { id: string }).id)).toEqual(['006H']);
  });
});
