/**
 * What every Lambda entry point shares: the container's runtime (built once, at module scope,
 * from the environment) and middy with the Powertools middleware (Lambda context in the logs,
 * metrics flushed after each invocation).
 * https://middy.js.org/docs/intro/getting-started
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { AwsRuntime } from '#adapters/aws/bootstrap.ts';

/**
 * Wraps a handler in middy with the runtime's Powertools logger and, unless `metrics: false` (a
 * handler that records none), its metrics, when the runtime has them.
 */
export function lambda<E, R>(
  runtime: AwsRuntime,
  handler: (event: E, context: Context) => Promise<R>,
  options: { readonly metrics?: boolean } = {},
) {
  const wrapped = middy<E, R>(handler);
  const powertoolsLogger = (runtime.logger as { powertools?: Parameters<typeof injectLambdaContext>[0] })
    .powertools;
  if (powertoolsLogger) wrapped.use(injectLambdaContext(powertoolsLogger));
  if (runtime.metrics.powertools && options.metrics !== false) {
    wrapped.use(logMetrics(runtime.metrics.powertools));
  }
  return wrapped;
}

/**
 * An abort signal that fires `marginMs` before the invocation's deadline, so workers stop taking
 * new items and hand the rest back instead of being killed mid-write.
 */
export function deadlineSignal(
  context: Pick<Context, 'getRemainingTimeInMillis'> | undefined,
  marginMs = 10_000,
) {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 15 * 60_000;
  return AbortSignal.timeout(Math.max(1_000, remaining - marginMs));
}
