/**
 * Lambda entry point of the to-Salesforce queue: an SQS batch of Dynamics stubs through the
 * batched to-Salesforce worker, answered with a partial batch response.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import { flowOfWork } from '#core/engine/wiring.ts';
import { type DynamicsStub, QUEUES } from '#core/work/items.ts';
import { createToSalesforceWorker } from '#core/workers/to-salesforce.ts';
import { deadlineSignal, lambda } from './lambda.ts';
import { handleSqsBatch } from './sqs-batch.ts';

/** Builds the handler over a runtime (the module's own, or a test's). */
export function createToSalesforceHandler(runtime: EngineRuntime) {
  return lambda(
    runtime,
    (event: SQSEvent, context): Promise<SQSBatchResponse> =>
      handleSqsBatch<DynamicsStub>(runtime, event, {
        queue: QUEUES.toSalesforce,
        direction: 'to-salesforce',
        signal: deadlineSignal(context),
        flowOf: flowOfWork,
        handle: (ctx, messages) => createToSalesforceWorker(ctx).handle(messages),
      }),
  );
}

export const handler = createToSalesforceHandler(createEngineRuntime());
