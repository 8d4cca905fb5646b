/**
 * Every Lambda bundle, built with the stack's esbuild settings (lib/bundling.ts), is under 1 MB
 * and loads under Node.js 24 from a directory with no node_modules, as in Lambda: a module the
 * bundle needs but left out (an external, a moved undici module) fails here, not in a deploy.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRY_POINTS } from '#adapters/aws/contract.ts';
import { VERSION } from '#base/version.ts';
import { BUNDLE_EXTERNALS, esbuildOptions, MAX_BUNDLE_BYTES } from '../../lib/bundling.ts';
import { PROJECT_ROOT } from '../../lib/constructs/connector-function.ts';
import { testConfig } from './support.ts';

const LAMBDAS = {
  businessEvents: ENTRY_POINTS.businessEvents,
  toSalesforce: ENTRY_POINTS.toSalesforce,
  toDynamics: ENTRY_POINTS.toDynamics,
  backfill: ENTRY_POINTS.backfill,
} as const;

/** The environment the stack gives every function (values shaped like the deployed ones). */
const LAMBDA_ENV = {
  CONNECTOR_CONFIG: JSON.stringify(testConfig()),
  STATE_TABLE_NAME: 'Test-StateTable',
  TO_SALESFORCE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce',
  TO_SALESFORCE_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-salesforce-dlq',
  TO_DYNAMICS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-dynamics',
  TO_DYNAMICS_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/to-dynamics-dlq',
  DYNAMICS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dynamics',
  SALESFORCE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:salesforce',
  RECEIVER_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:receiver',
  AWS_REGION: 'eu-west-1',
  // Lambda sets these from the execution role; nothing is called while loading.
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  AWS_SESSION_TOKEN: 'example',
};

let dir: string;
const bundles = new Map<string, string>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ml-connector-bundles-'));
  for (const [name, entry] of Object.entries(LAMBDAS)) {
    const outfile = join(dir, name, 'index.mjs');
    await build({
      ...esbuildOptions(),
      entryPoints: [join(PROJECT_ROOT, entry)],
      outfile,
      logLevel: 'error',
    });
    bundles.set(name, outfile);
  }
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Lambda bundles', () => {
  it.each(Object.keys(LAMBDAS))('keeps the %s bundle under 1 MB minified', (name) => {
    const bytes = readFileSync(bundles.get(name) as string).byteLength;
    expect(bytes, `${name}: ${bytes} bytes`).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it.each(Object.keys(LAMBDAS))('loads the %s bundle under Node.js 24 and exports its handler', (name) => {
    const file = bundles.get(name) as string;
    const probe = join(dir, name, 'probe.mjs');
    writeFileSync(
      probe,
      "const m = await import('./index.mjs'); if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); } console.log('loaded');\n",
    );
    const result = spawnSync(process.execPath, [probe], {
      cwd: join(file, '..'),
      env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(process.versions.node.split('.')[0]).toBe('24');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('loaded');
    expect(result.status).toBe(0);
  });

  it("carries package.json's version as a constant instead of reading package.json", () => {
    for (const name of Object.keys(LAMBDAS)) {
      const code = readFileSync(bundles.get(name) as string, 'utf8');
      expect(code, name).toContain(JSON.stringify(VERSION));
      expect(code, name).not.toMatch(/\.\.\/\.\.\/package\.json/);
    }
  });

  it('leaves the credential providers Lambda never reaches only behind import()', () => {
    for (const name of Object.keys(LAMBDAS)) {
      const code = readFileSync(bundles.get(name) as string, 'utf8');
      for (const external of BUNDLE_EXTERNALS.filter((e) => !e.endsWith('/*'))) {
        // A static import would make the bundle fail to load in Lambda (the test above).
        expect(code).not.toMatch(new RegExp(`from\\s*"${external}`));
      }
    }
  });
});
