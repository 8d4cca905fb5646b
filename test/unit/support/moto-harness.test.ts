/** The moto_server harness the AWS-shape suites stand on (test/support/moto.ts). */
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { MOTO_INSTALL_HINT, MotoUnavailableError, startMoto } from '#test/support/moto.ts';
import { until } from '#test/support/wait.ts';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startMoto', () => {
  it('serves AWS APIs on a loopback port and stops on close', async () => {
    const moto = await startMoto();
    expect(moto.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const sqs = new SQSClient(moto.clientConfig);
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls ?? []).toEqual([]);
    sqs.destroy();
    await moto.close();
    expect(alive(moto.pid)).toBe(false);
  }, 30_000);

  it('stops by itself when its lifetime is over', async () => {
    const moto = await startMoto({ lifetimeMs: 10_000 });
    await until('moto to stop by itself', () => !alive(moto.pid), { timeoutMs: 30_000, intervalMs: 100 });
    expect(alive(moto.pid)).toBe(false);
    await moto.close();
  }, 45_000);

  it('fails with how to install moto when the interpreter is missing', async () => {
    const error = await startMoto({ python: 'python3-that-does-not-exist' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotoUnavailableError);
    expect((error as Error).message).toContain(MOTO_INSTALL_HINT);
  });

  it('fails with how to install moto when moto is not importable', async () => {
    // -S: no site-packages, so no moto, as on a machine without it.
    const error = await startMoto({ pythonFlags: ['-S'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MotoUnavailableError);
    expect((error as Error).message).toContain("pip install 'moto[server]");
  }, 30_000);
});
