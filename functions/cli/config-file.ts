/** Finds and reads the configuration file for CLI commands. */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig } from '#core/config/parse.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { UsageError } from './command.ts';

export const DEFAULT_CONFIG_FILE = 'ml-connector.yaml';

/** Reads `path` (default ./ml-connector.yaml); a missing file is a usage error with the fix. */
export function loadConfigFile(path: string | undefined): ConnectorConfig {
  const file = resolve(path ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    throw new UsageError(
      `no configuration at ${file}: run \`ml-connector init\` to write a starter file, or pass --config`,
    );
  }
  return parseConfig(readFileSync(file, 'utf8'), file);
}
