import { describe, expect, it } from 'vitest';
import { buildBatchReads, buildChangeSet, parseBatchAnswer, parseChangeSetAnswer } from '#dynamics/batch.ts';

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

const changeSetAnswer = (parts: { id: string; response: string }[]) =>
  `--batchresponse_2\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n${parts
    .map(
      (p) =>
        `--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: ${p.id}\r\n\r\n${p.response}\r\n`,
    )
    .join('')}--changesetresponse_2--\r\n--batchresponse_2--\r\n`;

describe('buildChangeSet', () => {
  it('puts every write in one change set, each with its position as Content-ID', () => {
    const { contentType, body } = buildChangeSet([
      {
        method: 'POST',
        url: 'https://h/data/SalesOrderLines?cross-company=true',
        json: { ItemNumber: 'P1' },
      },
      {
        method: 'PATCH',
        url: "https://h/data/SalesOrderLines(dataAreaId='usmf',InventoryLotId='L1')",
        json: { OrderedSalesQuantity: 2 },
      },
      { method: 'DELETE', url: "https://h/data/SalesOrderLines(dataAreaId='usmf',InventoryLotId='L2')" },
    ]);
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
    expect(body.match(/Content-Type: multipart\/mixed; boundary=changeset_/g)).toHaveLength(1);
    expect([...body.matchAll(/Content-ID: (\d+)/g)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(body).toMatch(
      /POST https:\/\/h\/data\/SalesOrderLines\?cross-company=true HTTP\/1\.1\r\nAccept: application\/json\r\nContent-Type: application\/json\r\n\r\n\{"ItemNumber":"P1"\}/,
    );
    expect(body).toMatch(/DELETE \S+ HTTP\/1\.1\r\nAccept: application\/json\r\n\r\n/);
  });
});

describe('parseChangeSetAnswer', () => {
  const type = 'multipart/mixed; boundary=batchresponse_2';

  it('matches the responses of a committed change set to the requests by Content-ID, whatever their order', () => {
    const text = changeSetAnswer([
      { id: '2', response: 'HTTP/1.1 204 No Content\r\n' },
      {
        id: '1',
        response: 'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\r\n{"InventoryLotId":"L9"}',
      },
    ]);
    const answer = parseChangeSetAnswer(type, text, 2);
    expect(answer?.committed).toBe(true);
    expect(answer?.committed && answer.responses.map((r) => r.status)).toEqual([201, 204]);
    expect(answer?.committed && answer.responses[0]?.json()).toEqual({ InventoryLotId: 'L9' });
  });

  it('reports the single response of a failed change set and the request it names', () => {
    const text =
      '--batchresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 3\r\n\r\n' +
      'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n\r\n{"error":{"code":"","message":"An error has occurred."}}\r\n--batchresponse_2--\r\n';
    const answer = parseChangeSetAnswer(type, text, 3);
    expect(answer).toMatchObject({ committed: false, index: 2 });
    expect(answer?.committed === false && answer.failed.status).toBe(400);
  });

  it('refuses an answer that does not hold one response per request, or repeats a Content-ID', () => {
    const one = changeSetAnswer([{ id: '1', response: 'HTTP/1.1 204 No Content\r\n' }]);
    expect(parseChangeSetAnswer(type, one, 2)).toBeUndefined();
    const twice = changeSetAnswer([
      { id: '1', response: 'HTTP/1.1 204 No Content\r\n' },
      { id: '1', response: 'HTTP/1.1 204 No Content\r\n' },
    ]);
    expect(parseChangeSetAnswer(type, twice, 2)).toBeUndefined();
    expect(parseChangeSetAnswer('application/json', '{}', 1)).toBeUndefined();
    const success =
      '--batchresponse_2\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}\r\n--batchresponse_2--\r\n';
    expect(parseChangeSetAnswer(type, success, 1)).toBeUndefined();
  });
});
