import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VERSION } from '#base/version.ts';
import { main } from '#cli/main.ts';

const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function capture(): { io: Parameters<typeof main>[1]; out: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return {
    io: { stdout: sink, stderr: sink, env: {}, stopSignal: new AbortController().signal },
    out: () => text,
  };
}

describe('ml-connector --version', () => {
  it('reads the version from package.json when the sources run directly', () => {
    expect(VERSION).toBe(manifest.version);
  });

  it.each(['--version', '-v', 'version'])('prints the version alone for %s', async (flag) => {
    const { io, out } = capture();
    expect(await main([flag], io)).toBe(0);
    expect(out()).toBe(`${manifest.version}\n`);
  });

  it('lists --version in the overview', async () => {
    const { io, out } = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(out()).toMatch(/ml-connector --version/);
  });
});
