import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '#base/version.ts';
import { main } from '#cli/main.ts';
import { captureIo } from '#test/support/cli-io.ts';

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('ml-connector --version', () => {
  it('reads the version from package.json when the sources run directly', () => {
    expect(VERSION).toBe(manifest.version);
  });

  it.each(['--version', '-v', 'version'])('prints the version alone for %s', async (flag) => {
    const { io, out } = captureIo();
    expect(await main([flag], io)).toBe(0);
    expect(out()).toBe(`${manifest.version}\n`);
  });

  it('lists --version in the overview', async () => {
    const { io, out } = captureIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(out()).toMatch(/ml-connector --version/);
  });
});
