import { beforeEach, describe, expect, it } from 'vitest';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import type { EngineContext } from '#core/engine/context.ts';
import { drainQueue, pumpOnce, retryDelaySeconds } from '#core/engine/pump.ts';
import { createStateReplayStore } from '#core/engine/replay-store.ts';
import { inMemoryEngineContext } from '#test/support/engine-context.ts';

describe('pumpOnce', () => {
  let ctx: EngineContext;
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
    ctx = inMemoryEngineContext(() => clock);
  });

  it('hands up to batchSize messages to the handler in several receives of 10', async () => {
    await ctx.queue.send(
      'q',
      Array.from({ length: 45 }, (_, n) => ({ body: n })),
    );
    const sizes: number[] = [];
    await pumpOnce<number>(
      ctx,
      'q',
      async (messages) => {
        sizes.push(messages.length);
        return { done: messages.map((m) => m.receiptHandle), retry: [], deadLetter: [] };
      },
      { batchSize: 25 },
    );
    expect(sizes).toEqual([25]);
    expect((await ctx.queue.depth('q')).visible).toBe(20);
  });

  it('acknowledges done, dead-letters refusals and releases retries with a back-off', async () => {
    await ctx.queue.send('q', [{ body: 'ok' }, { body: 'refused' }, { body: 'busy' }]);
    await pumpOnce<string>(ctx, 'q', async (messages) => {
      const by = (b: string) => messages.find((m) => m.body === b)?.receiptHandle ?? '';
      return {
        done: [by('ok')],
        deadLetter: [{ receiptHandle: by('refused'), reason: 'INVALID_FIELD' }],
        retry: [by('busy')],
      };
    });
    expect(await ctx.queue.depth('q')).toMatchObject({ visible: 0, deadLettered: 1, inFlight: 1 });
    clock += retryDelaySeconds(1) * 1000;
    const handled = await drainQueue<string>(ctx, 'q', async (messages) => ({
      done: messages.map((m) => m.receiptHandle),
      retry: [],
      deadLetter: [],
    }));
    expect(handled).toBe(1);
    expect(await ctx.queue.listDeadLetters('q')).toMatchObject([
      { body: 'refused', reason: 'INVALID_FIELD' },
    ]);
  });

  it('doubles the retry delay per receive up to five minutes', () => {
    expect([1, 2, 3, 10].map(retryDelaySeconds)).toEqual([5, 10, 20, 300]);
  });
});

describe('createStateReplayStore', () => {
  it('keeps replay-id bytes exactly across a save and load', async () => {
    const store = createStateReplayStore(createSqliteStateStore({ database: ':memory:' }));
    const id = new Uint8Array([0, 0, 0, 0, 0, 1, 0xff, 0x10, 7]);
    expect(await store.load('/data/AccountChangeEvent')).toBeUndefined();
    await store.save('/data/AccountChangeEvent', id);
    expect(await store.load('/data/AccountChangeEvent')).toEqual(id);
  });
});
