/**
 * The connector's version, `version` of package.json. Bundles (the Lambda functions, the published
 * CLI) get it at bundle time: esbuild's `define` replaces `ML_CONNECTOR_VERSION` with the string
 * (lib/bundling.ts, scripts/build.ts), so they neither import nor read package.json. Sources run
 * directly (a clone, the Fargate task's image, the tests) read the package.json two folders up.
 */
import { readFileSync } from 'node:fs';

/** Replaced by esbuild's `define` in bundles; undeclared when the sources run directly. */
declare const ML_CONNECTOR_VERSION: string | undefined;

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
}

/** The connector's version (semver, e.g. `0.1.0`). */
export const VERSION: string =
  typeof ML_CONNECTOR_VERSION === 'string' ? ML_CONNECTOR_VERSION : packageVersion();
