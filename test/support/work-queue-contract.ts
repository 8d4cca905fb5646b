/**
 * The WorkQueue contract as behaviours, run against every adapter (SQLite for the local shape,
 * SQS on moto for the AWS shape) so both shapes queue the same way. The behaviours need no clock:
 * what depends on a visibility time-out passing stays in each adapter's own tests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import type { WorkQueue } from '#core/ports/work-queue.ts';

/** The queue every behaviour uses; a factory creates it (and its dead-letter queue) afresh. */
export const CONTRACT_QUEUE = 'to-salesforce';
/** The receives before a message is dead-lettered, as the factory must configure it. */
export const CONTRACT_MAX_RECEIVE_COUNT = 3;

export type WorkQueueFactory = () => Promise<WorkQueue>;

export function describeWorkQueueContract(name: string, create: WorkQueueFactory): void {
  describe(name, () => {
    const q = CONTRACT_QUEUE;
    let queue: WorkQueue;
    beforeEach(async () => {
      queue = await create();
    });
    afterEach(async () => {
      await queue.close();
    });

    /** Receives until a receive comes back empty; returns everything received. */
    async function receiveAll<T>(options: { visibilityTimeoutSeconds?: number } = {}) {
      const all: Awaited<ReturnType<WorkQueue['receive']>> = [];
      for (;;) {
        const got = await queue.receive<T>(q, { max: 50, ...options });
        expect(got.length).toBeLessThanOrEqual(10);
        if (got.length === 0) return all as Awaited<ReturnType<typeof queue.receive<T>>>;
        all.push(...got);
      }
    }

    it('delivers every message sent, at most 10 per receive, each once while it is in flight', async () => {
      await queue.send(
        q,
        Array.from({ length: 23 }, (_, i) => ({ body: { n: i } })),
      );
      const received = await receiveAll<{ n: number }>({ visibilityTimeoutSeconds: 60 });
      expect(received.map((m) => m.body.n).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 23 }, (_, i) => i),
      );
      expect(new Set(received.map((m) => m.messageId)).size).toBe(23);
      expect(received.every((m) => m.receiveCount === 1 && m.sentAt > 0)).toBe(true);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 23, deadLettered: 0 });
    });

    it('deletes acknowledged messages and ignores a stale receipt handle', async () => {
      await queue.send(q, [{ body: 'a' }, { body: 'b' }]);
      const received = await receiveAll();
      await queue.ack(q, [...received.map((m) => m.receiptHandle), 'not-a-receipt-handle']);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 0, delayed: 0, deadLettered: 0 });
      expect(await queue.receive(q)).toEqual([]);
    });

    it('redelivers a released message with its receive count raised, and holds one released with a delay', async () => {
      await queue.send(q, [{ body: { n: 1 } }]);
      const [first] = await queue.receive(q, { visibilityTimeoutSeconds: 60 });
      await queue.release(q, first?.receiptHandle ?? '', 0);
      const [again] = await queue.receive(q, { visibilityTimeoutSeconds: 60 });
      expect(again).toMatchObject({ messageId: first?.messageId, body: { n: 1 }, receiveCount: 2 });
      await queue.release(q, again?.receiptHandle ?? '', 60);
      expect(await queue.receive(q)).toEqual([]);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 1 });
    });

    it('holds a delayed message back and counts it as delayed', async () => {
      await queue.send(q, [{ body: 'now' }, { body: 'later', delaySeconds: 60 }]);
      const received = await receiveAll();
      expect(received.map((m) => m.body)).toEqual(['now']);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 1, delayed: 1 });
    });

    it("dead-letters a message at once with the worker's reason, and lists it without removing it", async () => {
      await queue.send(q, [{ body: { n: 1 } }]);
      const [m] = await queue.receive(q);
      await queue.deadLetter(q, m?.receiptHandle ?? '', 'REQUIRED_FIELD_MISSING: Name');
      expect(await queue.receive(q)).toEqual([]);
      const letters = await queue.listDeadLetters(q);
      expect(letters).toMatchObject([
        { messageId: m?.messageId, body: { n: 1 }, reason: 'REQUIRED_FIELD_MISSING: Name' },
      ]);
      expect(await queue.listDeadLetters(q)).toHaveLength(1);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 0, deadLettered: 1 });
    });

    it('dead-letters a message received the maximum number of times instead of delivering it again', async () => {
      await queue.send(q, [{ body: { poison: true } }]);
      for (let i = 1; i <= CONTRACT_MAX_RECEIVE_COUNT; i++) {
        const [m] = await queue.receive(q);
        expect(m?.receiveCount).toBe(i);
        await queue.release(q, m?.receiptHandle ?? '', 0);
      }
      expect(await queue.receive(q)).toEqual([]);
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 0, deadLettered: 1 });
      expect(await queue.listDeadLetters(q)).toMatchObject([{ body: { poison: true } }]);
    });

    it('redrives the chosen dead letters back to the queue and leaves the others', async () => {
      await queue.send(q, [{ body: { n: 1 } }, { body: { n: 2 } }]);
      const received = await receiveAll<{ n: number }>();
      for (const m of received) await queue.deadLetter(q, m.receiptHandle, 'refused');
      const two = received.find((m) => m.body.n === 2);
      expect(await queue.redrive(q, [two?.messageId ?? ''])).toBe(1);
      expect((await queue.receive(q)).map((m) => m.body)).toEqual([{ n: 2 }]);
      expect((await queue.listDeadLetters(q)).map((d) => d.body)).toEqual([{ n: 1 }]);
    });

    it('refuses a body over 256 KiB and sends nothing of that call', async () => {
      await expect(queue.send(q, [{ body: 'ok' }, { body: 'x'.repeat(256 * 1024) }])).rejects.toBeInstanceOf(
        ValidationError,
      );
      expect(await queue.depth(q)).toMatchObject({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });
}
