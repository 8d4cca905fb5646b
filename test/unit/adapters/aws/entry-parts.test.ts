import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPowertoolsLogger } from '#adapters/aws/logger.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { recordBatch } from '#adapters/aws/metrics.ts';
import { type HealthServer, startHealthServer } from '#adapters/health-server.ts';
import { VERSION } from '#base/version.ts';
import { toReceiverRequest } from '#handlers/api-gateway.ts';
import { apiGatewayPost } from '#test/integration/aws-events.ts';

describe('startHealthServer', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('answers 200 while healthy, 503 once not, and 404 elsewhere', async () => {
    let healthy = true;
    server = await startHealthServer({ port: 0, host: '127.0.0.1', report: () => ({ healthy, topics: [] }) });
    const url = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    healthy = false;
    const down = await fetch(`${url}/health`);
    expect([down.status, await down.json()]).toEqual([503, { healthy: false, topics: [] }]);
    expect((await fetch(`${url}/other`)).status).toBe(404);
  });
});

describe('recordBatch', () => {
  it('counts done items per flow and direction, and retried or dead-lettered items as failures', () => {
    const added: [string, number, Record<string, string> | undefined][] = [];
    const metrics: ConnectorMetrics = {
      add: (n, v, d) => void added.push([n, v, d ? { ...d } : undefined]),
      flush() {},
    };
    const flows: Record<string, string> = { a: 'customers', b: 'customers', c: 'products', d: 'products' };
    recordBatch(
      metrics,
      'to-salesforce',
      { done: ['a', 'b', 'c'], retry: ['d'], deadLetter: [{ receiptHandle: 'a2', reason: 'x' }] },
      (h) => flows[h] ?? 'customers',
    );
    expect(added).toEqual([
      ['RecordsMoved', 2, { flow: 'customers', direction: 'to-salesforce' }],
      ['RecordsMoved', 1, { flow: 'products', direction: 'to-salesforce' }],
      ['Failures', 1, { flow: 'products' }],
      ['Failures', 1, { flow: 'customers' }],
    ]);
  });
});

describe('recordBatch with parked items', () => {
  it('counts parked items as RecordsParked per flow and in total, not as moved', () => {
    const added: [string, number, Record<string, string> | undefined][] = [];
    const metrics: ConnectorMetrics = {
      add: (n, v, d) => void added.push([n, v, d ? { ...d } : undefined]),
      flush() {},
    };
    recordBatch(
      metrics,
      'to-dynamics',
      { done: ['a', 'b', 'c'], retry: [], deadLetter: [] },
      () => 'won-opportunities',
      new Map([['won-opportunities', 2]]),
    );
    expect(added).toEqual([
      ['RecordsMoved', 1, { flow: 'won-opportunities', direction: 'to-dynamics' }],
      ['RecordsParked', 2, { flow: 'won-opportunities', direction: 'to-dynamics' }],
      ['RecordsParked', 2, undefined],
    ]);
  });
});

describe('toReceiverRequest', () => {
  it('decodes a base64 body, lower-cases header names and keeps ?code=', () => {
    const event = apiGatewayPost('{"a":1}', {
      base64: true,
      headers: { 'X-ML-Connector-Secret': 's' },
      query: { code: 'c' },
    });
    const request = toReceiverRequest(event);
    expect(request.method).toBe('POST');
    expect(request.headers['x-ml-connector-secret']).toBe('s');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.query).toEqual({ code: 'c' });
    expect(Buffer.from(request.body as Uint8Array).toString()).toBe('{"a":1}');
  });
});

describe('createPowertoolsLogger', () => {
  it('writes JSON lines with secret-looking fields redacted', () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      createPowertoolsLogger().info('token.minted', {
        orgId: '00D000000000001',
        clientSecret: 'hunter2',
        nested: { accessToken: 'eyJ0b2tlbg' },
      });
    } finally {
      spy.mockRestore();
    }
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ message: 'token.minted', orgId: '00D000000000001', clientSecret: '***' });
    expect(line).toMatchObject({ service: 'ml-connector', version: VERSION });
    expect(lines.join('')).not.toMatch(/hunter2|eyJ0b2tlbg/);
  });
});
