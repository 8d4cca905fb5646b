/**
 * Replay ids are opaque bytes (in practice a big-endian uint64 at the start): they are stored and
 * compared as bytes and never turned into JavaScript numbers.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html
 */

import { type ReplayStore, replayIdToHex } from '#core/ports/change-stream.ts';

/** The ChangeStream port's checkpoint store and hex form, re-exported for the subscriber's callers. */
export { type ReplayStore, replayIdToHex };

/** Whether two replay ids are the same bytes. */
export function replayIdsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** A detached copy, so a stored id never aliases a gRPC receive buffer. */
export function copyReplayId(replayId: Uint8Array): Uint8Array {
  return Uint8Array.from(replayId);
}

/** An in-memory ReplayStore (tests, the local shape's default before the SQLite adapter). */
export function createMemoryReplayStore(): ReplayStore & { readonly saved: ReadonlyMap<string, Uint8Array> } {
  const saved = new Map<string, Uint8Array>();
  return {
    saved,
    async load(topic) {
      const id = saved.get(topic);
      return id ? copyReplayId(id) : undefined;
    },
    async save(topic, replayId) {
      saved.set(topic, copyReplayId(replayId));
    },
  };
}

/** Remembers the last `capacity` replay ids handed out, to drop redeliveries after a reconnect. */
export interface RecentReplayIds {
  has(replayId: Uint8Array): boolean;
  add(replayId: Uint8Array): void;
}

export function createRecentReplayIds(capacity = 2048): RecentReplayIds {
  const seen = new Set<string>();
  return {
    has: (replayId) => seen.has(replayIdToHex(replayId)),
    add(replayId) {
      const key = replayIdToHex(replayId);
      seen.delete(key);
      seen.add(key);
      if (seen.size > capacity) {
        const oldest = seen.values().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
    },
  };
}
