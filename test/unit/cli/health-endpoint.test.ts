import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VERSION } from '#base/version.ts';
import { openHealthEndpoint } from '#cli/health-endpoint.ts';

function io(stop: AbortController) {
  let text = '';
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { io: { stdout, stderr: stdout, env: {}, stopSignal: stop.signal }, out: () => text };
}

describe('openHealthEndpoint', () => {
  it('opens nothing without --health-port', async () => {
    const stop = new AbortController();
    const { io: cli, out } = io(stop);
    await using health = await openHealthEndpoint({}, cli);
    expect(health.port).toBeUndefined();
    expect(out()).toBe('');
  });

  it('answers 200 with the version while running, 503 once asked to stop, and closes on dispose', async () => {
    const stop = new AbortController();
    const { io: cli, out } = io(stop);
    let url: string;
    {
      await using health = await openHealthEndpoint({ 'health-port': '0' }, cli);
      url = `http://127.0.0.1:${health.port}/health`;
      expect(out()).toBe(`Health endpoint: ${url}\n`);
      const up = await fetch(url);
      expect([up.status, await up.json()]).toEqual([
        200,
        { healthy: true, status: 'running', version: VERSION },
      ]);
      stop.abort(new Error('received SIGTERM'));
      const stopping = await fetch(url);
      expect([stopping.status, await stopping.json()]).toMatchObject([503, { status: 'stopping' }]);
    }
    await expect(fetch(url)).rejects.toThrow();
  });

  it('refuses a port that is not a number', async () => {
    const { io: cli } = io(new AbortController());
    await expect(openHealthEndpoint({ 'health-port': 'http' }, cli)).rejects.toThrow(/--health-port/);
  });
});
