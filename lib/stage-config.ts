/**
 * Stage configuration for the CDK app: the same schema and validation as the local file
 * (`functions/core/config`), read at synth from `-c config=<file>` (or `config/<stage>.yaml`
 * for `-c stage=<name>`). Errors name the file and every bad key, and stop the synth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '#core/config/parse.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { validateConfig } from '#core/config/validate.ts';

/** A stage configuration problem at synth: the message names the file and the keys. */
export class StageConfigError extends Error {
  override name = 'StageConfigError';
}

/** The configuration synthesized when no stage is named: valid, but pointing at example hosts. */
export const EXAMPLE_STAGE_CONFIG: ConnectorConfig = validateConfig({
  dynamics: { environment: 'contoso.operations.dynamics.com', tenantId: 'contoso.onmicrosoft.com' },
  salesforce: { myDomain: 'https://contoso.my.salesforce.com' },
  legalEntities: ['usmf'],
  legalEntityRules: [{ default: 'usmf' }],
});

export interface StageConfig {
  /** The stage name (`-c stage=`), default `dev`. */
  readonly stage: string;
  readonly config: ConnectorConfig;
  /** The file read, or undefined when the example configuration was used. */
  readonly source: string | undefined;
}

/** Reads the stage configuration from CDK context values (`stage`, `config`). */
export function loadStageConfig(context: {
  readonly stage?: unknown;
  readonly config?: unknown;
  readonly cwd?: string;
}): StageConfig {
  const stage = typeof context.stage === 'string' && context.stage ? context.stage : 'dev';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,31}$/.test(stage)) {
    throw new StageConfigError(`stage "${stage}": use letters, digits and hyphens, starting with a letter`);
  }
  const named =
    typeof context.config === 'string' && context.config
      ? context.config
      : context.stage
        ? `config/${stage}.yaml`
        : undefined;
  if (named === undefined) return { stage, config: EXAMPLE_STAGE_CONFIG, source: undefined };
  const file = resolve(context.cwd ?? process.cwd(), named);
  if (!existsSync(file)) {
    throw new StageConfigError(
      `stage "${stage}": no configuration at ${file}; pass -c config=<file> (the same schema as ml-connector.yaml)`,
    );
  }
  try {
    return { stage, config: parseConfig(readFileSync(file, 'utf8'), file), source: file };
  } catch (error) {
    throw new StageConfigError(`stage "${stage}" (${file}): ${(error as Error).message}`, { cause: error });
  }
}
