/**
 * The to-Dynamics worker: one business object at a time (the wonOpportunities, activatedOrders and accountWriteBack flows), objects in parallel up
 * to `batches.toDynamicsConcurrency`. Duplicate stubs of one object, in a batch or across calls,
 * run once: later ones wait for the first and then find it done. Outcomes follow SQS partial-batch
 * semantics: transient failures are retried, parked items are done (audited), and writes Dynamics
 * or Salesforce refuse for good go to the dead-letter queue with the Infolog / error text.
 */

import { ConnectorError } from '#base/errors.ts';
import { isTransient } from '#base/failures.ts';
import type { BatchOutcome, EngineContext } from '#core/engine/context.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import type { SalesforceStub } from '#core/work/items.ts';
import { describeFailure, writeBackAccount } from '../flows/account-write-back.ts';
import { BusyError, newOwner } from '../flows/exactly-once.ts';
import { syncSalesOrder } from '../flows/sales-orders.ts';

/** What the queue should do with one message. */
export type ItemOutcome =
  | 'done'
  | 'retry'
  | { readonly retryAfterSeconds: number }
  | { readonly deadLetter: string };

/** The worker both shapes drive: the local queue pump and the SQS-triggered Lambda. */
export interface ToDynamicsWorker {
  /** Handles one message; never throws. */
  handle(message: ReceivedMessage<SalesforceStub>): Promise<ItemOutcome>;
  /** Handles a batch (duplicates of one object run once) and reports per receipt handle. */
  handleBatch(messages: readonly ReceivedMessage<SalesforceStub>[]): Promise<BatchOutcome>;
}

const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;
const SOBJECTS = new Set(['Account', 'Opportunity', 'Order']);

/**
 * Maps a failure to retry or dead-letter (with a reason a person can act on), by the one failure
 * vocabulary (`#base/failures.ts`): transient failures (network, time-outs, 401/408/429/5xx, the
 * API budget, lost leases, busy objects, auth hiccups, anything not known to be a refusal) are
 * retried; refusals are dead-lettered.
 */
export function classifyFailure(error: unknown): ItemOutcome {
  if (isTransient(error)) return 'retry';
  if (error instanceof DynamicsWriteError) {
    return {
      deadLetter: `Dynamics refused ${error.writeOperation} ${error.entity}: ${describeFailure(error)}`,
    };
  }
  if (error instanceof SalesforceApiError) {
    return { deadLetter: `Salesforce refused the write: ${describeFailure(error)}` };
  }
  return { deadLetter: describeFailure(error) };
}

function isStub(body: unknown): body is SalesforceStub {
  const b = body as SalesforceStub | null;
  return (
    !!b &&
    typeof b === 'object' &&
    b.kind === 'salesforce-stub' &&
    SOBJECTS.has(b.sobject) &&
    typeof b.id === 'string' &&
    ID.test(b.id)
  );
}

/** Creates the worker. One per process (its id owns the leases it takes). */
export function createToDynamicsWorker(ctx: EngineContext): ToDynamicsWorker {
  const owner = newOwner();
  const inFlight = new Map<string, Promise<ItemOutcome>>();

  async function run(message: ReceivedMessage<SalesforceStub>): Promise<ItemOutcome> {
    const stub = message.body;
    const info = { attempt: message.receiveCount, work: stub, owner };
    try {
      if (stub.sobject === 'Account') await writeBackAccount(ctx, stub.id, stub.trigger, info);
      else await syncSalesOrder(ctx, { sobject: stub.sobject, id: stub.id }, stub.trigger, info);
      return 'done';
    } catch (error) {
      // Another worker holds the object: come back when its lease ends, not sooner.
      if (error instanceof BusyError) return { retryAfterSeconds: error.retryAfterSeconds };
      const outcome = classifyFailure(error);
      const log = outcome === 'retry' ? ctx.logger.warn : ctx.logger.error;
      log.call(ctx.logger, 'to-dynamics.failed', {
        sobject: stub.sobject,
        id: stub.id,
        attempt: message.receiveCount,
        error: error instanceof ConnectorError ? `${error.name}: ${error.message}` : String(error),
        outcome: outcome === 'retry' ? 'retry' : 'dead-letter',
      });
      return outcome;
    }
  }

  async function handle(message: ReceivedMessage<SalesforceStub>): Promise<ItemOutcome> {
    if (!isStub(message.body)) return { deadLetter: 'not a Salesforce stub (kind, sobject or id invalid)' };
    if (ctx.signal?.aborted) return 'retry';
    const key = `${message.body.sobject}:${message.body.id}`;
    // Duplicates wait for the object in hand, then run (and find it done): never two at once here.
    for (let previous = inFlight.get(key); previous; previous = inFlight.get(key))
      await previous.catch(() => undefined);
    const current = run(message);
    inFlight.set(key, current);
    try {
      return await current;
    } finally {
      if (inFlight.get(key) === current) inFlight.delete(key);
    }
  }

  return {
    handle,
    async handleBatch(messages) {
      const done: string[] = [];
      const retry: string[] = [];
      const retryAfterSeconds: Record<string, number> = {};
      const deadLetter: { receiptHandle: string; reason: string }[] = [];
      let next = 0;
      const limit = Math.max(1, Math.min(ctx.config.batches.toDynamicsConcurrency, messages.length));
      const lane = async () => {
        while (next < messages.length) {
          const message = messages[next++] as ReceivedMessage<SalesforceStub>;
          const outcome = await handle(message);
          if (outcome === 'done') done.push(message.receiptHandle);
          else if (outcome === 'retry') retry.push(message.receiptHandle);
          else if ('retryAfterSeconds' in outcome) {
            retry.push(message.receiptHandle);
            retryAfterSeconds[message.receiptHandle] = outcome.retryAfterSeconds;
          } else deadLetter.push({ receiptHandle: message.receiptHandle, reason: outcome.deadLetter });
        }
      };
      await Promise.all(Array.from({ length: limit }, lane));
      return { done, retry, retryAfterSeconds, deadLetter };
    },
  };
}
