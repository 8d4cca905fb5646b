import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSecrets, writeSecretsFile } from '#adapters/local/secrets-file.ts';
import type { ConnectorSecrets } from '#core/ports/secrets.ts';

const secrets: ConnectorSecrets = {
  dynamics: { clientId: 'd-id', clientSecret: 'd-secret-value' },
  salesforce: { clientId: 's-id', clientSecret: 's-secret-value' },
  businessEvents: { current: 'be-secret-value' },
};

describe('createFileSecrets', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlc-secrets-'));
    path = join(dir, 'credentials.enc');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips the secrets through a 0600 file that holds no plaintext', async () => {
    writeSecretsFile(secrets, { path, env: {} });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.key`).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toMatch(/secret-value|d-id/);
    expect(await createFileSecrets({ path, env: {} }).get()).toEqual(secrets);
  });

  it('uses a passphrase instead of a key file when one is set, and refuses the wrong one', async () => {
    writeSecretsFile(secrets, { path, env: { ML_CONNECTOR_PASSPHRASE: 'correct horse' } });
    expect(
      await createFileSecrets({ path, env: { ML_CONNECTOR_PASSPHRASE: 'correct horse' } }).get(),
    ).toEqual(secrets);
    await expect(
      createFileSecrets({ path, env: { ML_CONNECTOR_PASSPHRASE: 'wrong' } }).get(),
    ).rejects.toThrow(/cannot decrypt/);
  });

  it('refuses a file other users can read', async () => {
    writeSecretsFile(secrets, { path, env: {} });
    chmodSync(path, 0o644);
    await expect(createFileSecrets({ path, env: {} }).get()).rejects.toThrow(/chmod 600/);
  });

  it('lets environment variables stand in for or override the file', async () => {
    const env = {
      ML_CONNECTOR_DYNAMICS_CLIENT_ID: 'a',
      ML_CONNECTOR_DYNAMICS_CLIENT_SECRET: 'b',
      ML_CONNECTOR_SALESFORCE_CLIENT_ID: 'c',
      ML_CONNECTOR_SALESFORCE_CLIENT_SECRET: 'd',
      ML_CONNECTOR_BUSINESS_EVENT_SECRET: 'e',
    };
    expect((await createFileSecrets({ path, env }).get()).salesforce).toEqual({
      clientId: 'c',
      clientSecret: 'd',
    });
  });

  it('says how to add credentials when there are none', async () => {
    const local = createFileSecrets({ path, env: {} });
    expect(local.has()).toBe(false);
    await expect(local.get()).rejects.toThrow(/ml-connector credentials set/);
  });
});
