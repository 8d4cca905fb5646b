/**
 * The StateStore contract as behaviours, run against every adapter (SQLite and DynamoDB) so both
 * shapes remember the same way.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConditionFailedError, type StateStore, trackedOrderKey } from '#core/ports/state-store.ts';

export type StateStoreFactory = (now: () => number) => Promise<StateStore>;

export function describeStateStoreBehaviour(name: string, create: StateStoreFactory): void {
  describe(name, () => {
    let clock: number;
    let store: StateStore;
    beforeEach(async () => {
      clock = Date.parse('2026-11-26T12:00:00Z');
      store = await create(() => clock);
    });
    afterEach(async () => {
      await store.close();
    });

    it('writes checkpoints with increasing versions and refuses a stale expected version', async () => {
      const name = 'cdc:/data/AccountChangeEvent';
      expect((await store.putCheckpoint(name, 'AAAB', { expectedVersion: 0 })).version).toBe(1);
      await expect(store.putCheckpoint(name, 'AAAX', { expectedVersion: 0 })).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      await store.putCheckpoint(name, 'AAAC', { expectedVersion: 1 });
      await expect(store.putCheckpoint(name, 'AAAD', { expectedVersion: 1 })).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      const unconditional = await store.putCheckpoint(name, 'AAAE');
      expect(unconditional).toMatchObject({ name, value: 'AAAE', version: 3, updatedAt: clock });
      expect(await store.getCheckpoint(name)).toEqual(unconditional);
      expect(await store.getCheckpoint('absent')).toBeUndefined();
    });

    it('follows tracked orders in key order, page by page, until they are untracked', async () => {
      const order = (n: number) => ({
        dataAreaId: 'usmf',
        salesOrderNumber: `SO-${String(n).padStart(6, '0')}`,
        sobject: 'Opportunity' as const,
        salesforceId: `006000000000${String(n).padStart(3, '0')}AAA`,
        trackedAt: clock,
      });
      for (const n of [3, 1, 2, 5, 4]) await store.trackOrder(order(n));
      await store.trackOrder({ ...order(2), appliedHash: 'h2' });
      const first = await store.listTrackedOrders({ limit: 2 });
      expect(first.orders.map((o) => o.salesOrderNumber)).toEqual(['SO-000001', 'SO-000002']);
      expect(first.orders[1]).toEqual({ ...order(2), appliedHash: 'h2' });
      const second = await store.listTrackedOrders({ after: first.next, limit: 2 });
      expect(second.orders.map((o) => o.salesOrderNumber)).toEqual(['SO-000003', 'SO-000004']);
      await store.untrackOrder(trackedOrderKey('usmf', 'SO-000005'));
      const last = await store.listTrackedOrders({ after: second.next, limit: 2 });
      expect(last).toEqual({ orders: [], next: undefined });
      const got = await store.getTrackedOrders([trackedOrderKey('USMF', 'SO-000003'), 'usmf#SO-999999']);
      expect([...got.keys()]).toEqual(['usmf#SO-000003']);
      expect(got.get('usmf#SO-000003')?.appliedHash).toBeUndefined();
    });

    it('lists every checkpoint by name', async () => {
      await store.putCheckpoint('watermark:salesforce:Order', '2026-11-26T11:00:00.000Z');
      await store.putCheckpoint('cdc:/data/OrderChangeEvent', 'AAAB');
      expect((await store.listCheckpoints()).map((c) => c.name)).toEqual([
        'cdc:/data/OrderChangeEvent',
        'watermark:salesforce:Order',
      ]);
    });

    it('claims a dedup key once until it expires or is released', async () => {
      expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(true);
      expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(false);
      clock += 61_000;
      expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(true);
      await store.releaseDedupKey('be:usmf:1001');
      expect(await store.claimDedupKey('be:usmf:1001', 60)).toBe(true);
    });

    it('resumes an interrupted idempotency record with the steps already done', async () => {
      const begun = await store.beginIdempotent('so:006000000000001AAA');
      expect(begun).toMatchObject({ created: true, record: { status: 'in_progress', version: 1, data: {} } });
      const step = await store.updateIdempotent(begun.record.key, begun.record.version, {
        salesOrderNumber: 'SO-000301',
      });
      const again = await store.beginIdempotent('so:006000000000001AAA');
      expect(again).toMatchObject({
        created: false,
        record: { status: 'in_progress', version: 2, data: { salesOrderNumber: 'SO-000301' } },
      });
      const done = await store.completeIdempotent(step.key, step.version, { linesCreated: 3 });
      expect(done).toMatchObject({
        status: 'completed',
        version: 3,
        data: { salesOrderNumber: 'SO-000301', linesCreated: 3 },
      });
      await expect(store.updateIdempotent(step.key, done.version, {})).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.getIdempotent(step.key)).toEqual(done);
    });

    it('reopens a completed idempotency record only at its current version', async () => {
      const { record } = await store.beginIdempotent('reopen');
      const done = await store.completeIdempotent('reopen', record.version, { sentHash: 'a' });
      await expect(store.reopenIdempotent('reopen', record.version, {})).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      const open = await store.reopenIdempotent('reopen', done.version, { changing: true });
      expect(open).toMatchObject({ status: 'in_progress', data: { sentHash: 'a', changing: true } });
      await expect(store.reopenIdempotent('reopen', open.version, {})).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.updateIdempotent('reopen', open.version, { b: 1 })).toMatchObject({
        status: 'in_progress',
      });
    });

    it('refuses an idempotency update from a writer holding an old version or for a missing record', async () => {
      const { record } = await store.beginIdempotent('k');
      await store.updateIdempotent('k', record.version, { a: 1 });
      await expect(store.updateIdempotent('k', record.version, { a: 2 })).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      await expect(store.completeIdempotent('missing', 1, {})).rejects.toBeInstanceOf(ConditionFailedError);
    });

    it('starts over an idempotency record that expired or was deleted', async () => {
      await store.beginIdempotent('lease', { ttlSeconds: 60 });
      expect((await store.beginIdempotent('lease')).created).toBe(false);
      clock += 61_000;
      const fresh = await store.beginIdempotent('lease');
      expect(fresh).toMatchObject({ created: true, record: { version: 1 } });
      await store.deleteIdempotent('lease');
      expect(await store.getIdempotent('lease')).toBeUndefined();
      expect((await store.beginIdempotent('lease')).created).toBe(true);
    });

    it('stores and reads content hashes in batches beyond the service limits', async () => {
      const keys = Array.from({ length: 130 }, (_, i) => `customers:usmf:US-${String(i).padStart(3, '0')}`);
      await store.putHashes(keys.map((key) => ({ key, hash: `h-${key}` })));
      await store.putHashes([
        { key: 'customers:usmf:US-001', hash: 'stale' },
        { key: 'customers:usmf:US-001', hash: 'h1b' },
      ]);
      const got = await store.getHashes([...keys.slice(0, 120), 'customers:usmf:absent']);
      expect(got.size).toBe(120);
      expect(got.get('customers:usmf:US-001')).toEqual({
        key: 'customers:usmf:US-001',
        hash: 'h1b',
        updatedAt: clock,
      });
      expect(got.get('customers:usmf:US-119')?.hash).toBe('h-customers:usmf:US-119');
      expect(got.has('customers:usmf:absent')).toBe(false);
    });

    it('queries the audit trail by record key, by outcome and by time, newest first', async () => {
      const base = { flow: 'customers', trigger: 'backfill', attempt: 1 } as const;
      const first = await store.appendAudit({ ...base, recordKey: 'a', outcome: 'failed', error: 'boom' });
      clock += 1000;
      await store.appendAudit({
        ...base,
        recordKey: 'a',
        outcome: 'succeeded',
        targetIds: { salesforceId: '001' },
      });
      clock += 1000;
      const b = await store.appendAudit({
        ...base,
        recordKey: 'b',
        outcome: 'failed',
        work: { key: 'b', n: 1 },
        durationMs: 12,
        expiresAt: 1_900_000_000,
      });
      expect((await store.queryAudit({ recordKey: 'a' })).map((e) => e.outcome)).toEqual([
        'succeeded',
        'failed',
      ]);
      expect((await store.queryAudit({ recordKey: 'a', outcome: 'failed' })).map((e) => e.auditId)).toEqual([
        first.auditId,
      ]);
      expect(
        (await store.queryAudit({ outcome: 'failed', since: clock - 1500 })).map((e) => e.recordKey),
      ).toEqual(['b']);
      expect((await store.queryAudit({ outcome: 'failed', until: clock })).map((e) => e.recordKey)).toEqual([
        'a',
      ]);
      expect((await store.queryAudit({})).map((e) => e.outcome)).toEqual(['failed', 'succeeded', 'failed']);
      expect(
        (await store.queryAudit({ limit: 2, since: first.at, until: clock + 1 })).map((e) => e.recordKey),
      ).toEqual(['b', 'a']);
      expect(await store.getAudit(b.auditId)).toEqual(b);
      expect(await store.getAudit('absent')).toBeUndefined();
    });

    it('appends a batch of audit entries beyond the service limits, in input order', async () => {
      expect(await store.appendAudits([])).toEqual([]);
      const entries = Array.from({ length: 60 }, (_, i) => ({
        flow: 'customers',
        trigger: 'backfill' as const,
        attempt: 1,
        recordKey: `batch-${i}`,
        outcome: i % 3 === 0 ? ('failed' as const) : ('succeeded' as const),
        ...(i % 3 === 0 ? { error: `refused ${i}` } : { targetIds: { salesforceId: `001${i}` } }),
        work: { key: `batch-${i}` },
      }));
      const written = await store.appendAudits(entries);
      expect(written.map((e) => e.recordKey)).toEqual(entries.map((e) => e.recordKey));
      expect(new Set(written.map((e) => e.auditId)).size).toBe(60);
      for (const e of [written[0], written[25], written[59]]) {
        expect(await store.getAudit(e?.auditId ?? '')).toEqual(e);
      }
      expect(await store.queryAudit({ limit: 1000 })).toHaveLength(60);
      expect(await store.queryAudit({ outcome: 'failed', limit: 1000 })).toHaveLength(20);
    });

    it('keeps what a parked entry waits for', async () => {
      const waitsFor = ['dynamics:ReleasedProductsV2:usmf:P1', 'dynamics:ReleasedProductsV2:usmf:P2'];
      const parked = await store.appendAudit({
        flow: 'won-opportunities',
        trigger: 'cdc',
        attempt: 1,
        recordKey: 'salesforce:Opportunity:006',
        outcome: 'parked',
        error: 'items P1, P2 are not released',
        waitsFor,
      });
      expect(await store.getAudit(parked.auditId)).toMatchObject({ waitsFor });
      const [found] = await store.queryAudit({ outcome: 'parked' });
      expect(found).toMatchObject({ auditId: parked.auditId, waitsFor });
      const plain = await store.appendAudit({
        flow: 'customers',
        trigger: 'sync',
        attempt: 1,
        recordKey: 'c',
        outcome: 'parked',
      });
      expect((await store.getAudit(plain.auditId))?.waitsFor).toBeUndefined();
    });
  });
}
