/**
 * The esbuild settings of every Lambda bundle, in one place: lib/constructs/connector-function.ts
 * deploys with them, bench/bundle-sizes.ts measures with them and the infra tests build with them.
 *
 * - ESM for Node.js 24, minified, `module` before `main` (the AWS SDK's ES modules tree-shake).
 * - The AWS SDK v3 is bundled, not taken from the runtime: the runtime's copy is a convenience
 *   whose version AWS moves on its own schedule (and lags the locked one); bundled, the deployed
 *   versions are the tested ones, and tree-shaking keeps only the clients and commands used.
 * - `esbuildDetection` is the switch undici reads to leave out its opt-in Milo HTTP parser (used
 *   only with UNDICI_USE_MILO=1; Node.js core bundles undici the same way). llhttp, the default
 *   parser, stays.
 * - The AWS SDK's default credential chain loads its other providers (SSO, shared ini files,
 *   credential_process, web identity, the container/instance metadata endpoints, and the STS/SSO
 *   clients they use) with `import()` only after `fromEnv` finds no credentials. Lambda always sets
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the execution role and the
 *   stack sets no AWS_PROFILE, so those imports never run there: they are left out of the Lambda
 *   bundles (about 110 KiB). A function given AWS_PROFILE by hand would fail to find credentials.
 *   https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 * - Legal comments (licence banners) go to a `.LEGAL.txt` file beside the bundle, not into it.
 * - The connector's version is a constant (`ML_CONNECTOR_VERSION`, see BUNDLE_DEFINE).
 */
import type { BuildOptions } from 'esbuild';
import { VERSION } from '#base/version.ts';

/** ESM bundles of CommonJS dependencies need require(), __filename and __dirname. */
export const BUNDLE_BANNER =
  "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);";

export const BUNDLE_TARGET = 'node24';
export const BUNDLE_MAIN_FIELDS = ['module', 'main'];
/**
 * Constants replaced at bundle time (see the module doc); `ML_CONNECTOR_VERSION` is package.json's
 * version (functions/base/version.ts), so the bundles carry it without importing package.json.
 */
export const BUNDLE_DEFINE: Readonly<Record<string, string>> = {
  esbuildDetection: '"bundled"',
  ML_CONNECTOR_VERSION: JSON.stringify(VERSION),
};
export const BUNDLE_LEGAL_COMMENTS = 'external';
/** Left out of the Lambda bundles: reached only through `import()` when Lambda's env credentials are absent. */
export const BUNDLE_EXTERNALS: readonly string[] = [
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/nested-clients/*',
  '@smithy/credential-provider-imds',
];

/** The largest a Lambda bundle may be (minified, without its source map): 1 MB. */
export const MAX_BUNDLE_BYTES = 1_000_000;

/** The same settings for esbuild's JavaScript API (bench, tests); `outfile` and `entryPoints` are the caller's. */
export function esbuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: BUNDLE_TARGET,
    format: 'esm',
    minify: true,
    sourcemap: 'external',
    sourcesContent: false,
    mainFields: [...BUNDLE_MAIN_FIELDS],
    banner: { js: BUNDLE_BANNER },
    define: { ...BUNDLE_DEFINE },
    legalComments: BUNDLE_LEGAL_COMMENTS,
    external: [...BUNDLE_EXTERNALS],
  };
}
