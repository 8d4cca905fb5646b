/**
 * The core Logger port on Powertools Logger (JSON lines with the Lambda context, level from
 * POWERTOOLS_LOG_LEVEL). Fields pass through the core's `redact` first, so secret-looking values
 * never reach CloudWatch Logs.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/
 */
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { type Logger, redact } from '#base/logger.ts';
import { VERSION } from '#base/version.ts';

export const SERVICE_NAME = 'ml-connector';

/**
 * Wraps a Powertools logger (one per container) into the core port. Every line carries the
 * service (`service`) and the connector's version (`version`, a persistent key).
 */
export function createPowertoolsLogger(
  logger: PowertoolsLogger = new PowertoolsLogger({
    serviceName: SERVICE_NAME,
    persistentKeys: { version: VERSION },
  }),
): Logger & {
  readonly powertools: PowertoolsLogger;
} {
  const fields = (f?: Record<string, unknown>) => (f ? (redact(f) as Record<string, unknown>) : {});
  return {
    powertools: logger,
    debug: (m, f) => logger.debug(m, fields(f)),
    info: (m, f) => logger.info(m, fields(f)),
    warn: (m, f) => logger.warn(m, fields(f)),
    error: (m, f) => logger.error(m, fields(f)),
  };
}
