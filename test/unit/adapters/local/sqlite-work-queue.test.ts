/** The SQLite WorkQueue beyond the shared contract (test/support/work-queue-contract.ts): what needs its clock or its file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteWorkQueue } from '#adapters/local/sqlite-work-queue.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';

describe('createSqliteWorkQueue', () => {
  let clock: number;
  let queue: WorkQueue;
  beforeEach(() => {
    clock = Date.parse('2026-11-26T12:00:00Z');
    queue = createSqliteWorkQueue({ database: ':memory:', now: () => clock, maxReceiveCount: 3 });
  });
  afterEach(async () => {
    await queue.close();
  });

  it('delivers at most 10 messages per receive in send order', async () => {
    await queue.send(
      'to-salesforce',
      Array.from({ length: 25 }, (_, i) => ({ body: { n: i } })),
    );
    const first = await queue.receive<{ n: number }>('to-salesforce', { max: 50 });
    expect(first.map((m) => m.body.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await queue.depth('to-salesforce')).toMatchObject({ visible: 15, inFlight: 10 });
  });

  it('redelivers a message that was not acknowledged within its visibility time-out', async () => {
    await queue.send('q', [{ body: 'work' }]);
    const [first] = await queue.receive('q', { visibilityTimeoutSeconds: 30 });
    expect(await queue.receive('q')).toEqual([]);
    clock += 31_000;
    const [again] = await queue.receive('q');
    expect(again).toMatchObject({ messageId: first?.messageId, receiveCount: 2 });
    await queue.ack('q', [first?.receiptHandle ?? '']);
    expect((await queue.depth('q')).inFlight).toBe(1);
    await queue.ack('q', [again?.receiptHandle ?? '']);
    expect(await queue.depth('q')).toMatchObject({ visible: 0, inFlight: 0 });
  });

  it('dead-letters a message after maxReceiveCount receives and redrives it', async () => {
    await queue.send('q', [{ body: 'poison' }]);
    for (let i = 0; i < 3; i++) {
      expect(await queue.receive('q', { visibilityTimeoutSeconds: 1 })).toHaveLength(1);
      clock += 2_000;
    }
    expect(await queue.receive('q')).toEqual([]);
    const dead = await queue.listDeadLetters('q');
    expect(dead).toMatchObject([{ body: 'poison', receiveCount: 3 }]);
    expect((await queue.depth('q')).deadLettered).toBe(1);
    expect(await queue.redrive('q')).toBe(1);
    expect(await queue.receive('q')).toMatchObject([{ body: 'poison', receiveCount: 1 }]);
  });

  it('releases a message for another try after a delay', async () => {
    await queue.send('q', [{ body: 1 }]);
    const [m] = await queue.receive('q');
    await queue.release('q', m?.receiptHandle ?? '', 10);
    expect(await queue.receive('q')).toEqual([]);
    clock += 10_000;
    expect(await queue.receive('q')).toHaveLength(1);
  });

  it('keeps unacknowledged messages across a crash and restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlc-queue-'));
    try {
      const path = join(dir, 'state.db');
      let now = clock;
      const one = createSqliteWorkQueue({ database: path, now: () => now });
      await one.send('q', [{ body: 'a' }, { body: 'b' }]);
      await one.receive('q', { visibilityTimeoutSeconds: 30 });
      await one.close();
      now += 31_000;
      const two = createSqliteWorkQueue({ database: path, now: () => now });
      expect((await two.receive('q')).map((m) => m.body)).toEqual(['a', 'b']);
      await two.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
