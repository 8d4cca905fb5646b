import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  copyReplayId,
  createMemoryReplayStore,
  createRecentReplayIds,
  replayIdsEqual,
  replayIdToHex,
} from '#salesforce/pubsub/replay-id.ts';

const replayIdArb = fc.uint8Array({ minLength: 8, maxLength: 24 });

describe('replay ids', () => {
  it('keeps ids above 2^53 exact as bytes', () => {
    const id = Buffer.alloc(8);
    id.writeBigUInt64BE(2n ** 63n + 12345n);
    const neighbour = Buffer.alloc(8);
    neighbour.writeBigUInt64BE(2n ** 63n + 12344n);
    // As numbers these two collapse to the same double; as bytes they stay distinct.
    expect(Number(id.readBigUInt64BE())).toBe(Number(neighbour.readBigUInt64BE()));
    expect(replayIdsEqual(id, neighbour)).toBe(false);
    expect(replayIdToHex(id)).toBe('8000000000003039');
  });

  it('stores and loads the exact bytes, detached from the caller buffer', async () => {
    await fc.assert(
      fc.asyncProperty(replayIdArb, async (bytes) => {
        const store = createMemoryReplayStore();
        const source = Uint8Array.from(bytes);
        await store.save('/data/AccountChangeEvent', source);
        source.fill(0);
        const loaded = await store.load('/data/AccountChangeEvent');
        expect(loaded && replayIdsEqual(loaded, bytes)).toBe(true);
        expect(await store.load('/data/OrderChangeEvent')).toBeUndefined();
      }),
    );
  });

  it('formats any id as hex of every byte, including offsets into a larger buffer', () => {
    fc.assert(
      fc.property(replayIdArb, (bytes) => {
        const pool = new Uint8Array(bytes.length + 7);
        pool.set(bytes, 3);
        const view = pool.subarray(3, 3 + bytes.length);
        expect(replayIdToHex(view)).toBe(Buffer.from(bytes).toString('hex'));
        expect(replayIdsEqual(copyReplayId(view), bytes)).toBe(true);
      }),
    );
  });

  it('remembers recent ids by value up to its capacity', () => {
    const recent = createRecentReplayIds(2);
    const id = (n: number) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, n]);
    recent.add(id(1));
    recent.add(id(2));
    expect(recent.has(Uint8Array.from(id(1)))).toBe(true);
    recent.add(id(3));
    expect(recent.has(id(1))).toBe(false);
    expect(recent.has(id(3))).toBe(true);
  });
});
