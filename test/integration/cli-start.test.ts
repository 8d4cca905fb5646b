import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

describe('ml-connector start with nothing configured', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlc-start-'));
  let child: ChildProcessWithoutNullStreams | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the demo until the won opportunity is a Dynamics sales order, then stops cleanly on SIGTERM', async () => {
    child = spawn(process.execPath, [bin, 'start', '--customers', '150', '--products', '30'], {
      cwd: dir,
      env: { ...process.env, XDG_CONFIG_HOME: dir, CI: 'true' },
    });
    let out = '';
    const reached = new Promise<void>((resolve, reject) => {
      child?.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // Ready comes first (it never waits for the queues); the demo's story runs after it.
        if (out.includes('Ctrl-C to stop') && out.includes('The demo is done')) resolve();
      });
      child?.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    await reached;
    expect(out).toMatch(/running the demo against the built-in sandboxes/);
    expect(out).toMatch(/won opportunity: Dynamics sales order \S+ in usmf for \S+, 3 lines/);
    expect(out).toMatch(/the Opportunity now carries D365_Sales_Order__c = \S+/);
    expect(out).toMatch(/new account: Dynamics customer \S+ in demf \(EUR/);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    expect(out).toMatch(/Stopped\./);
  }, 120_000);
});
