import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { accountUpdate, type Harness, ORG_ID, startHarness } from './pubsub-harness.ts';

const CHILD = fileURLToPath(new URL('./pubsub-default-roots.child.ts', import.meta.url));

describe('Pub/Sub subscriber TLS trust', () => {
  let harness: Harness | undefined;

  afterEach(async () => {
    await harness?.server.close();
    harness = undefined;
  });

  /** Runs the child subscriber with `trust` added to its environment; resolves with its exit code and output. */
  async function runChild(trust: (caFile: string) => Record<string, string>) {
    harness = await startHarness();
    const h = harness;
    h.feed.publish(accountUpdate(1, h.clock));
    const session = await h.tokens.getSession();
    // The subscriber hands grpc-js Node's default store, so trust works even where
    // GRPC_DEFAULT_SSL_ROOTS_FILE_PATH points grpc-js at another bundle (as on these machines).
    const { NODE_EXTRA_CA_CERTS: _extra, ...env } = process.env;
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [CHILD],
        {
          cwd: process.cwd(),
          env: {
            ...env,
            ...trust(h.tls.caFile),
            PUBSUB_ENDPOINT: h.server.endpoint,
            PUBSUB_TOKEN: session.accessToken,
            PUBSUB_ORG: ORG_ID,
          },
          timeout: 20_000,
        },
        (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    return result;
  }

  it('trusts a CA from NODE_EXTRA_CA_CERTS, as undici and MSAL do, whatever GRPC_DEFAULT_SSL_ROOTS_FILE_PATH says', async () => {
    expect(await runChild((caFile) => ({ NODE_EXTRA_CA_CERTS: caFile }))).toEqual({
      code: 0,
      stdout: 'received 1\n',
    });
  });

  it('trusts a CA added with tls.setDefaultCACertificates before the channel is created', async () => {
    expect(await runChild((caFile) => ({ PUBSUB_TRUST_CA_FILE: caFile }))).toEqual({
      code: 0,
      stdout: 'received 1\n',
    });
  });

  it('fails to connect without the CA, so the other cases prove the trust path', async () => {
    const result = await runChild(() => ({ PUBSUB_CHILD_TIMEOUT_MS: '1500' }));
    expect(result.code).not.toBe(0);
  });
});
