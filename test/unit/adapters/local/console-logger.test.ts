import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createConsoleLogger } from '#adapters/local/console-logger.ts';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  return { stream, lines };
}

describe('createConsoleLogger', () => {
  it('writes one JSON line per entry and drops levels below the minimum', () => {
    const { stream, lines } = capture();
    const log = createConsoleLogger({ stream, level: 'info', now: () => 0 });
    log.debug('hidden');
    log.info('sync.done', { records: 3 });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: '1970-01-01T00:00:00.000Z', level: 'info', message: 'sync.done', records: 3 },
    ]);
  });

  it('redacts secret-looking fields at any depth', () => {
    const { stream, lines } = capture();
    const log = createConsoleLogger({ stream, level: 'debug' });
    log.debug('token.minted', {
      clientSecret: 's3cr3t',
      nested: { access_token: 'eyJ…', ok: 1 },
      authorization: 'Bearer x',
    });
    expect(lines.join('\n')).not.toMatch(/s3cr3t|eyJ|Bearer x/);
    expect(JSON.parse(lines[0] ?? '{}').nested.ok).toBe(1);
  });
});
