/**
 * Lambda entry point of the to-Dynamics queue: an SQS batch through the to-Dynamics worker
 * (one business object at a time, exactly once), answered with a partial batch response.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import { flowOfWork } from '#core/engine/wiring.ts';
import { QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { createToDynamicsWorker } from '#core/workers/to-dynamics.ts';
import { deadlineSignal, lambda } from './lambda.ts';
import { handleSqsBatch } from './sqs-batch.ts';

/** Builds the handler over a runtime (the module's own, or a test's). */
export function createToDynamicsHandler(runtime: EngineRuntime) {
  return lambda(
    runtime,
    (event: SQSEvent, context): Promise<SQSBatchResponse> =>
      handleSqsBatch<SalesforceStub>(runtime, event, {
        queue: QUEUES.toDynamics,
        direction: 'to-dynamics',
        signal: deadlineSignal(context),
        flowOf: flowOfWork,
        // A worker per invocation: it sees this invocation's deadline signal.
        handle: (ctx, messages) => createToDynamicsWorker(ctx).handleBatch(messages),
      }),
  );
}

export const handler = createToDynamicsHandler(createEngineRuntime());
