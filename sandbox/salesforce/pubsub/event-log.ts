/**
 * The sandbox event bus: every change event in publish order with a monotonically increasing
 * replay id (8-byte big-endian, opaque to clients), dropped once older than the retention window
 * on the sandbox clock (72 h by default, as on the real bus).
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/event-message-durability.html
 */
import type { SandboxClock } from '#sandbox/shared/clock.ts';

export interface LoggedEvent {
  readonly seq: bigint;
  readonly replayId: Buffer;
  readonly eventId: string;
  readonly entityName: string;
  readonly schemaId: string;
  readonly payload: Buffer;
  readonly publishedAt: number;
}

/** Encodes a sequence number as the 8-byte replay id. */
export function encodeReplayId(seq: bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(seq);
  return buf;
}

/** Decodes a replay id, or undefined when it is not one this bus issued (wrong length). */
export function decodeReplayId(replayId: Uint8Array): bigint | undefined {
  if (replayId.byteLength !== 8) return undefined;
  return Buffer.from(replayId.buffer, replayId.byteOffset, 8).readBigUInt64BE();
}

export interface EventLog {
  append(event: Omit<LoggedEvent, 'seq' | 'replayId' | 'publishedAt'>): LoggedEvent;
  /** Drops events older than the retention window. */
  prune(): void;
  /**
   * Up to `limit` retained events after `seq` that match `filter`, in order, and the last
   * sequence number examined (the position to continue from).
   */
  after(
    seq: bigint,
    limit: number,
    filter: (event: LoggedEvent) => boolean,
  ): { events: LoggedEvent[]; through: bigint };
  /** The newest sequence number issued (0n before the first event). */
  readonly latestSeq: bigint;
  /** The highest sequence number dropped by retention (0n when nothing was dropped). */
  readonly prunedThrough: bigint;
  readonly size: number;
  /** Calls `listener` after every append; returns the unsubscribe function. */
  onAppend(listener: () => void): () => void;
}

export function createEventLog(clock: SandboxClock, retentionMs: number): EventLog {
  // Events live in an array with a moving head; the head is compacted now and then.
  let events: LoggedEvent[] = [];
  let head = 0;
  let latestSeq = 0n;
  let prunedThrough = 0n;
  const listeners = new Set<() => void>();

  const indexAfter = (seq: bigint): number => {
    // seq numbers are contiguous in the array: index = seq - firstSeq.
    const first = events[head];
    if (!first) return events.length;
    const offset = seq - first.seq + 1n;
    if (offset <= 0n) return head;
    return Math.min(events.length, head + Number(offset));
  };

  const log: EventLog = {
    append(event) {
      log.prune();
      latestSeq += 1n;
      const logged: LoggedEvent = {
        ...event,
        seq: latestSeq,
        replayId: encodeReplayId(latestSeq),
        publishedAt: clock.now(),
      };
      events.push(logged);
      for (const listener of listeners) listener();
      return logged;
    },
    prune() {
      const cutoff = clock.now() - retentionMs;
      while (head < events.length) {
        const event = events[head];
        if (!event || event.publishedAt >= cutoff) break;
        prunedThrough = event.seq;
        head += 1;
      }
      if (head > 4096 && head * 2 > events.length) {
        events = events.slice(head);
        head = 0;
      }
    },
    after(seq, limit, filter) {
      const out: LoggedEvent[] = [];
      let through = seq;
      for (let i = indexAfter(seq); i < events.length && out.length < limit; i += 1) {
        const event = events[i];
        if (!event) continue;
        through = event.seq;
        if (filter(event)) out.push(event);
      }
      return { events: out, through };
    },
    get latestSeq() {
      return latestSeq;
    },
    get prunedThrough() {
      return prunedThrough;
    },
    get size() {
      return events.length - head;
    },
    onAppend(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return log;
}
