/**
 * Lambda entry point behind API Gateway (REST, proxy integration) for Dynamics business events:
 * maps the proxy event to the receiver's request (base64 bodies decoded, header names
 * lower-cased, `?code=` kept) and its answer back. A wrong secret re-reads the secrets once a
 * minute at most, so a rotation is picked up without letting callers hammer Secrets Manager.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type AwsRuntime, createAwsRuntime } from '#adapters/aws/bootstrap.ts';
import { createBusinessEventReceiver } from '#core/triggers/business-events.ts';
import { toReceiverRequest } from './api-gateway.ts';
import { lambda } from './lambda.ts';

const REFRESH_INTERVAL_MS = 60_000;

/** Builds the handler over a runtime (the module's own, or a test's). */
export function createBusinessEventsHandler(
  runtime: AwsRuntime,
  options: { readonly now?: () => number } = {},
) {
  const now = options.now ?? Date.now;
  const receive = createBusinessEventReceiver({
    config: runtime.env.config,
    state: runtime.state,
    queue: runtime.queue,
    logger: runtime.logger,
    secrets: () => runtime.secrets.receiver(),
    now,
    // A single metric with its dimension is published at once (this handler flushes no stored metrics).
    onIgnored: ({ shape }) => runtime.metrics.add('BusinessEventsIgnored', 1, { shape }),
  });
  let refreshedAt = Number.NEGATIVE_INFINITY;

  return lambda(
    runtime,
    async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
      const request = toReceiverRequest(event);
      let answer = await receive(request);
      if (answer.status === 401 && now() - refreshedAt >= REFRESH_INTERVAL_MS) {
        // Perhaps rotated since the secrets were cached: read them again, once, and retry (a 401 changed nothing).
        refreshedAt = now();
        await runtime.secrets.receiver({ refresh: true });
        answer = await receive(request);
      }
      return {
        statusCode: answer.status,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(answer.body),
      };
    },
    { metrics: false },
  );
}

export const handler = createBusinessEventsHandler(createAwsRuntime());
