/**
 * Pull flow control for one Subscribe stream. The server holds at most 100 requested events per
 * stream and closes a stream that has nothing pending for 60 s, so the subscriber requests the
 * next batch as soon as everything received so far has been handled.
 * https://developer.salesforce.com/docs/platform/pub-sub-api/guide/flow-control.html
 */
import { ValidationError } from '#base/errors.ts';

/** The most events one stream may have requested and not yet received. */
export const MAX_EVENTS_PER_REQUEST = 100;

export interface FlowControl {
  /** Requested from the server and not yet received. */
  readonly pending: number;
  /** Received and not yet acknowledged by the handler. */
  readonly unacknowledged: number;
  /** Events to request now (0 when a request is not due): due only when nothing is pending or unacknowledged. */
  nextRequest(): number;
  /** Records that `n` events were requested. */
  requested(n: number): void;
  /** Records a FetchResponse carrying `n` events, and the server's own pending count when it sent one. */
  received(n: number, serverPending?: number): void;
  /** Records that the handler acknowledged `n` events. */
  acknowledged(n: number): void;
}

/** A flow-control accountant requesting `batchSize` (1..100) events at a time. */
export function createFlowControl(batchSize: number = MAX_EVENTS_PER_REQUEST): FlowControl {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_EVENTS_PER_REQUEST) {
    throw new ValidationError(
      `batchSize must be an integer in 1..${MAX_EVENTS_PER_REQUEST}, got ${batchSize}`,
      {
        field: 'batchSize',
      },
    );
  }
  let pending = 0;
  let unacknowledged = 0;
  return {
    get pending() {
      return pending;
    },
    get unacknowledged() {
      return unacknowledged;
    },
    nextRequest() {
      if (pending > 0 || unacknowledged > 0) return 0;
      return batchSize;
    },
    requested(n) {
      if (pending + unacknowledged + n > MAX_EVENTS_PER_REQUEST) {
        throw new ValidationError(
          `requesting ${n} would exceed ${MAX_EVENTS_PER_REQUEST} outstanding (${pending} pending, ${unacknowledged} unacknowledged)`,
          { field: 'requested' },
        );
      }
      pending += n;
    },
    received(n, serverPending) {
      unacknowledged += n;
      // The server's count is authoritative (it may deliver fewer than asked, or merge requests).
      pending = serverPending ?? Math.max(0, pending - n);
    },
    acknowledged(n) {
      unacknowledged = Math.max(0, unacknowledged - n);
    },
  };
}
