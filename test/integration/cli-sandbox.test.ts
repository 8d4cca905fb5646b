import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

function run(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [bin, ...args], { env: { ...process.env, CI: 'true' } });
}

async function exitOf(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('ml-connector sandbox', () => {
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
  });

  it('prints one JSON line a client can connect with, then stops cleanly on SIGTERM', async () => {
    child = run(['sandbox', '--json', '--customers', '300', '--products', '100', '--sales-orders', '10']);
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const info = JSON.parse(line);
    expect(info.dynamics.odataUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/data\/$/);
    expect(info.salesforce.myDomainUrl).not.toBe(info.salesforce.instanceUrl);
    expect(info.salesforce.pubsubEndpoint).toMatch(/^localhost:\d+$/);

    // The Salesforce token endpoint answers a client-credentials request with the printed credentials.
    const token = await fetch(`${info.salesforce.myDomainUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: info.salesforce.clientId,
        client_secret: info.salesforce.clientSecret,
      }),
    });
    expect(token.status).toBe(200);
    expect(await token.json()).toMatchObject({ instance_url: info.salesforce.instanceUrl });

    const exiting = exitOf(child);
    child.kill('SIGTERM');
    expect((await exiting).code).toBe(0);
  });

  it('exits 2 with the usage on a bad argument', async () => {
    const { code, stderr } = await exitOf(run(['sandbox', '--customers', 'many']));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--customers must be a non-negative integer[\s\S]*Usage: ml-connector sandbox/);
  });

  it('exits 2 on an out-of-range option the sandbox refuses', async () => {
    const { code, stderr } = await exitOf(run(['sandbox', '--page-size', '20000']));
    expect(code).toBe(2);
    expect(stderr).toMatch(/pageSize/);
  });

  it('exits 2 on an unknown command and lists the commands', async () => {
    const { code, stderr } = await exitOf(run(['frobnicate']));
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown command "frobnicate"[\s\S]*sandbox/);
  });
});
