import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { parseConfig } from '#core/config/parse.ts';

const bin = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

function run(args: string[], dir: string, stdin = '') {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { cwd: dir, env: { ...process.env, XDG_CONFIG_HOME: dir }, timeout: 20_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin);
  });
}

describe('ml-connector init and credentials set', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlc-setup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a commented starter configuration that validates, and refuses to overwrite it', async () => {
    expect((await run(['init'], dir)).code).toBe(0);
    const text = readFileSync(join(dir, 'ml-connector.yaml'), 'utf8');
    expect(text).toMatch(/^# ml-connector configuration/);
    expect(parseConfig(text).legalEntities).toEqual(['usmf']);
    const again = await run(['init'], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--force/);
  });

  it('stores both credential sets encrypted in a 0600 file and prints the receiver secret once', async () => {
    const first = await run(
      ['credentials', 'set', '--dynamics-client-id', 'd-app', '--salesforce-client-id', 's-app'],
      dir,
      'dyn-secret-1\nsf-secret-1\n',
    );
    expect(first.code).toBe(0);
    const file = join(dir, 'ml-connector', 'credentials.enc');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toMatch(/secret-1|d-app/);
    const stored = await createFileSecrets({ path: file, env: {} }).get();
    expect(stored.dynamics).toEqual({ clientId: 'd-app', clientSecret: 'dyn-secret-1' });
    expect(first.stdout).toContain(stored.businessEvents.current);
    expect(first.stdout).not.toContain('dyn-secret-1');

    // Changing the client secrets keeps the receiver secret F&O already uses.
    const second = await run(
      ['credentials', 'set', '--dynamics-client-id', 'd-app', '--salesforce-client-id', 's-app'],
      dir,
      'dyn-secret-2\nsf-secret-2\n',
    );
    expect(second.stdout).not.toContain(stored.businessEvents.current);
    const kept = await createFileSecrets({ path: file, env: {} }).get();
    expect(kept.businessEvents.current).toBe(stored.businessEvents.current);
    expect(kept.dynamics.clientSecret).toBe('dyn-secret-2');

    // A rotation makes a new one and keeps the old one valid meanwhile.
    await run(
      [
        'credentials',
        'set',
        '--dynamics-client-id',
        'd-app',
        '--salesforce-client-id',
        's-app',
        '--rotate-receiver-secret',
      ],
      dir,
      'dyn-secret-2\nsf-secret-2\n',
    );
    const rotated = await createFileSecrets({ path: file, env: {} }).get();
    expect(rotated.businessEvents.previous).toBe(stored.businessEvents.current);
    expect(rotated.businessEvents.current).not.toBe(stored.businessEvents.current);
  });

  it('exits 2 when a client id is missing or the secrets are not given', async () => {
    expect((await run(['credentials', 'set', '--dynamics-client-id', 'd'], dir)).code).toBe(2);
    expect(
      (await run(['credentials', 'set', '--dynamics-client-id', 'd', '--salesforce-client-id', 's'], dir, ''))
        .code,
    ).toBe(2);
    expect((await run(['credentials', 'list'], dir)).code).toBe(2);
  });
});
