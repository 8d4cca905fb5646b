/**
 * Retries the part of a DynamoDB batch call the service left unprocessed (throttling, size), with
 * exponential back-off, as the developer guide asks.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/programming-with-javascript.html#programming-with-javascript-batch
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ConnectorError } from '#base/errors.ts';

/** A batch call still had unprocessed items after every try. */
export class UnprocessedItemsError extends ConnectorError {
  override name = 'UnprocessedItemsError';
  readonly operation: string;

  constructor(operation: string, options?: ErrorOptions) {
    super(`${operation}: items remained unprocessed after every retry`, {
      ...options,
      code: 'DYNAMODB_UNPROCESSED',
    });
    this.operation = operation;
  }
}

/**
 * Calls `call` with `request`, then again with what it returns as unprocessed, until nothing is
 * left; throws UnprocessedItemsError after `maxAttempts` calls.
 */
export async function withUnprocessedRetries<R>(
  operation: string,
  request: R,
  call: (request: R) => Promise<R | undefined>,
  options: { readonly maxAttempts: number; readonly delayMs: number },
): Promise<void> {
  let pending: R | undefined = request;
  for (let attempt = 0; pending !== undefined; attempt++) {
    if (attempt >= options.maxAttempts) throw new UnprocessedItemsError(operation);
    if (attempt > 0) await sleep(options.delayMs * 2 ** (attempt - 1));
    pending = await call(pending);
  }
}
