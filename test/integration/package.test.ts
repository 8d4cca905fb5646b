/**
 * The published package as a user gets it: `npm pack` (which builds dist/ through `prepack`),
 * `npm install <tgz>` into an empty folder, then the installed command. Installing resolves the
 * dependencies from the npm cache first (`--prefer-offline`), so CI needs no registry round trips
 * once `npm ci` has filled the cache.
 */
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};
const run = promisify(execFile);
/** npm and the installed command's `#!/usr/bin/env node` find this test's Node.js 24 first. */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  CI: 'true',
};
/** Bounds each npm step: a hung registry call fails the test instead of the whole run. */
const NPM_TIMEOUT_MS = 180_000;

describe('the npm package', () => {
  let dir: string;
  let bin: string;
  let child: ChildProcessWithoutNullStreams | undefined;

  beforeAll(
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'ml-connector-package-'));
      await run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], {
        cwd: ROOT,
        env,
        timeout: NPM_TIMEOUT_MS,
      });
      const [tarball] = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
      if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
      writeFileSync(join(dir, 'package.json'), '{ "name": "package-test", "private": true }\n');
      await run(
        'npm',
        ['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
        { cwd: dir, env, timeout: NPM_TIMEOUT_MS },
      );
      bin = join(dir, 'node_modules', '.bin', 'ml-connector');
    },
    2 * NPM_TIMEOUT_MS + 10_000,
  );

  afterAll(() => {
    child?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs JavaScript only, with no development dependency', () => {
    const installed = join(dir, 'node_modules', 'ml-connector');
    expect(existsSync(join(installed, 'dist', 'ml-connector.js'))).toBe(true);
    expect(existsSync(join(installed, 'functions'))).toBe(false);
    // Type packages excepted: protobufjs (through @grpc/proto-loader) depends on @types/node itself.
    for (const name of Object.keys(manifest.devDependencies).filter((n) => !n.startsWith('@types/')))
      expect(existsSync(join(dir, 'node_modules', name)), name).toBe(false);
  });

  it('prints the help through npx', async () => {
    const { stdout } = await run('npx', ['--no-install', 'ml-connector', '--help'], { cwd: dir, env });
    expect(stdout).toMatch(/^Usage: ml-connector <command>/);
    expect(stdout).toMatch(/sandbox/);
  });

  it("prints package.json's version", async () => {
    const { stdout } = await run(bin, ['--version'], { cwd: dir, env });
    expect(stdout).toBe(`${manifest.version}\n`);
  });

  it('runs the sandboxes from the installed package and stops them on SIGTERM', async () => {
    // The sandbox CA of this test run (test/support/global-setup.ts), which fetch here trusts.
    const caDir = process.env.ML_CONNECTOR_SANDBOX_DIR ?? join(dir, '.sandbox');
    child = spawn(
      bin,
      ['sandbox', '--json', '--customers', '30', '--products', '20', '--sales-orders', '0', '--dir', caDir],
      { cwd: dir, env },
    );
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const info = JSON.parse(line);

    // Dynamics: an Entra token, then OData over the reference schema the package ships.
    const token = await fetch(`${info.dynamics.authorityHost}/${info.dynamics.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: info.dynamics.clientId,
        client_secret: info.dynamics.clientSecret,
        scope: `${info.dynamics.environmentUrl}/.default`,
      }),
    });
    expect(token.status).toBe(200);
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    const customers = await fetch(`${info.dynamics.odataUrl}CustomersV3?cross-company=true&$top=2`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(customers.status).toBe(200);
    expect(((await customers.json()) as { value: unknown[] }).value).toHaveLength(2);
    // Salesforce: the Pub/Sub endpoint is up, which loaded the shipped pubsub.proto.
    expect(info.salesforce.pubsubEndpoint).toMatch(/^localhost:\d+$/);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });
});
