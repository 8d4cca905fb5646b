import { describe, expect, it } from 'vitest';
import { buildBatchReads, parseBatchAnswer } from '#dynamics/batch.ts';

const answer = (boundary: string, parts: string[]) =>
  `${parts.map((p) => `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${p}\r\n`).join('')}--${boundary}--\r\n`;

describe('buildBatchReads', () => {
  it('puts one GET per URL in a multipart/mixed body with its boundary', () => {
    const { contentType, body } = buildBatchReads([
      'https://h/data/CustomersV3?$filter=a',
      'https://h/data/CustomersV3?$filter=b',
    ]);
    const boundary = /boundary=(\S+)/.exec(contentType)?.[1] ?? '';
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
    expect(body.match(/GET https:\/\/h\/data\/CustomersV3\?\$filter=[ab] HTTP\/1\.1/g)).toHaveLength(2);
    expect(body.endsWith(`--${boundary}--\r\n`)).toBe(true);
  });
});

describe('parseBatchAnswer', () => {
  it('returns each part as a response, failed parts included, in order', () => {
    const text = answer('batchresponse_1', [
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"value":[{"CustomerAccount":"US-1"}]}',
      'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n\r\n{"error":{"code":"","message":"throttled"}}',
    ]);
    const parts = parseBatchAnswer('multipart/mixed; boundary=batchresponse_1', text);
    expect(parts?.map((p) => p.status)).toEqual([200, 429]);
    expect(parts?.[0]?.json<{ value: unknown[] }>().value).toHaveLength(1);
    expect(parts?.[1]?.header('Retry-After')).toBe('5');
  });

  it('refuses an answer that is not a multipart batch', () => {
    expect(parseBatchAnswer('application/json', '{"value":[]}')).toBeUndefined();
    expect(
      parseBatchAnswer(
        'multipart/mixed; boundary=b',
        '--b\r\nContent-Type: application/http\r\n\r\nnot http\r\n--b--',
      ),
    ).toBeUndefined();
  });
});
