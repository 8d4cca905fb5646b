import { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError, NetworkError, TimeoutError } from '#base/errors.ts';
import { createHttpClient, type HttpClientOptions } from '#http/client.ts';

const origin = 'https://api.example.test';

describe('createHttpClient', () => {
  let agent: MockAgent;
  let waits: number[];
  let clock: number;

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    waits = [];
    clock = Date.parse('2026-11-26T12:00:00Z');
  });
  afterEach(async () => {
    await agent.close();
  });

  const client = (extra: Partial<HttpClientOptions> = {}) =>
    createHttpClient({
      dispatcher: agent,
      now: () => clock,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
      ...extra,
    });

  it('sends a streamed body once: neither retried nor replayed after a 401', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/upload', method: 'PUT' }).reply(503, 'busy');
    pool.intercept({ path: '/upload', method: 'PUT' }).reply(201, '');
    async function* body() {
      yield Buffer.from('a,b\n');
    }
    await expect(
      client().send({
        method: 'PUT',
        url: `${origin}/upload`,
        operation: 'bulk.upload',
        body: body(),
        idempotent: true,
      }),
    ).rejects.toThrow(HttpError);
    expect(waits).toEqual([]);

    pool.intercept({ path: '/upload2', method: 'PUT' }).reply(401, 'expired');
    let mints = 0;
    const auth = {
      async headers() {
        mints++;
        return { authorization: 'Bearer t' };
      },
    };
    await expect(
      client({ auth }).send({
        method: 'PUT',
        url: `${origin}/upload2`,
        operation: 'bulk.upload',
        body: body(),
      }),
    ).rejects.toThrow(HttpError);
    expect(mints).toBe(1);
  });

  it('streams a 2xx body into readBody, afresh on each attempt, and buffers error bodies', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/data/$metadata', method: 'GET' }).reply(503, 'busy');
    pool.intercept({ path: '/data/$metadata', method: 'GET' }).reply(200, '<edmx:Edmx/>');
    const bodies: string[] = [];
    const res = await client().send({
      method: 'GET',
      url: `${origin}/data/$metadata`,
      operation: 'odata.metadata',
      readBody: async (body) => {
        let text = '';
        for await (const chunk of body) text += Buffer.from(chunk).toString('utf8');
        bodies.push(text);
      },
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(bodies).toEqual(['<edmx:Edmx/>']);
    expect(waits).toHaveLength(1);
  });

  it('honours Retry-After in seconds on 429 and succeeds on the retry', async () => {
    const pool = agent.get(origin);
    pool
      .intercept({ path: '/data/CustomersV3', method: 'GET' })
      .reply(429, 'slow down', { headers: { 'retry-after': '7' } });
    pool.intercept({ path: '/data/CustomersV3', method: 'GET' }).reply(200, { value: [] });
    const http = client();
    const res = await http.send({
      method: 'GET',
      url: `${origin}/data/CustomersV3`,
      operation: 'odata.read',
    });
    expect(res.json<{ value: unknown[] }>().value).toEqual([]);
    expect(waits).toEqual([7000]);
    expect(http.counter.snapshot()).toMatchObject({ total: 2, retries: 1, byOperation: { 'odata.read': 2 } });
  });

  it('honours Retry-After given as an HTTP-date', async () => {
    const pool = agent.get(origin);
    const at = new Date(clock + 12_000).toUTCString();
    pool.intercept({ path: '/x', method: 'GET' }).reply(503, '', { headers: { 'retry-after': at } });
    pool.intercept({ path: '/x', method: 'GET' }).reply(200, 'ok');
    await client().send({ method: 'GET', url: `${origin}/x`, operation: 'op' });
    expect(waits).toEqual([12_000]);
  });

  it('backs off exponentially with bounded jitter on 503 without Retry-After', async () => {
    const pool = agent.get(origin);
    for (let i = 0; i < 3; i++) pool.intercept({ path: '/x', method: 'GET' }).reply(503, '');
    pool.intercept({ path: '/x', method: 'GET' }).reply(200, 'ok');
    await client({ retry: { baseDelayMs: 100 } }).send({
      method: 'GET',
      url: `${origin}/x`,
      operation: 'op',
    });
    // random() = 0.5 → three quarters of each step: 100, 200, 400.
    expect(waits).toEqual([75, 150, 300]);
  });

  it('gives up with an HttpError when the next wait would exceed the budget', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/x', method: 'GET' }).reply(429, '', { headers: { 'retry-after': '3600' } });
    const error = await client({ retry: { budgetMs: 60_000 } })
      .send({ method: 'GET', url: `${origin}/x`, operation: 'op' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(429);
    expect(waits).toEqual([]);
  });

  it('never retries a POST on 503', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/orders', method: 'POST' }).reply(503, '{"error":{"code":"","message":"busy"}}');
    const http = client();
    const error = await http
      .send({ method: 'POST', url: `${origin}/orders`, operation: 'odata.create', json: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(http.counter.snapshot().total).toBe(1);
  });

  it('retries a POST that was throttled with 429, since the server did not process it', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/orders', method: 'POST' }).reply(429, '', { headers: { 'retry-after': '1' } });
    pool.intercept({ path: '/orders', method: 'POST' }).reply(201, '{"id":1}');
    const res = await client().send({
      method: 'POST',
      url: `${origin}/orders`,
      operation: 'odata.create',
      json: {},
    });
    expect(res.status).toBe(201);
  });

  it('calls beforeResend after each wait and before each re-send, never before the first send', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/orders', method: 'POST' }).reply(429, '', { headers: { 'retry-after': '2' } });
    pool.intercept({ path: '/orders', method: 'POST' }).reply(429, '', { headers: { 'retry-after': '3' } });
    pool.intercept({ path: '/orders', method: 'POST' }).reply(201, '{"id":1}');
    const calls: [number, number][] = [];
    const res = await client().send({
      method: 'POST',
      url: `${origin}/orders`,
      operation: 'odata.create',
      json: {},
      beforeResend: async (attempt) => {
        calls.push([attempt, waits.length]);
      },
    });
    expect(res.status).toBe(201);
    expect(calls).toEqual([
      [2, 1],
      [3, 2],
    ]);
  });

  it('sends nothing more when beforeResend throws (the lease was lost during the wait)', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/orders', method: 'POST' }).reply(429, '', { headers: { 'retry-after': '200' } });
    const lost = new Error('lease lost');
    await expect(
      client().send({
        method: 'POST',
        url: `${origin}/orders`,
        operation: 'odata.create',
        json: {},
        retry: { budgetMs: 600_000 },
        beforeResend: async () => {
          throw lost;
        },
      }),
    ).rejects.toBe(lost);
    // Only the first attempt reached the server (MockAgent would fail on an unmatched second POST).
    expect(waits).toEqual([200_000]);
  });

  it('retries a GET after a connection reset and reports a NetworkError when resets persist', async () => {
    const pool = agent.get(origin);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    pool.intercept({ path: '/x', method: 'GET' }).replyWithError(reset).times(5);
    const error = await client()
      .send({ method: 'GET', url: `${origin}/x`, operation: 'op' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect(waits).toHaveLength(4);
  });

  it('re-mints the token once on 401 and replays the request once', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/x', method: 'GET', headers: { authorization: 'Bearer old' } }).reply(401, '');
    pool.intercept({ path: '/x', method: 'GET', headers: { authorization: 'Bearer new' } }).reply(200, 'ok');
    const forced: boolean[] = [];
    const http = client({
      auth: {
        headers: async ({ force }) => {
          forced.push(force);
          return { authorization: `Bearer ${force ? 'new' : 'old'}` };
        },
      },
    });
    const res = await http.send({ method: 'GET', url: `${origin}/x`, operation: 'op' });
    expect(res.text).toBe('ok');
    expect(forced).toEqual([false, true]);
  });

  it('surfaces a second 401 instead of looping', async () => {
    const pool = agent.get(origin);
    pool
      .intercept({ path: '/x', method: 'GET' })
      .reply(401, '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]')
      .times(2);
    const http = client({ auth: { headers: async () => ({ authorization: 'Bearer t' }) } });
    const error = await http
      .send({ method: 'GET', url: `${origin}/x`, operation: 'op' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, errorCode: 'INVALID_SESSION_ID' });
    expect(http.counter.snapshot().total).toBe(2);
  });

  it('keeps secrets out of the error URL', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/hook?code=s3cr3t&x=1', method: 'GET' }).reply(404, 'nope');
    const error = (await client()
      .send({ method: 'GET', url: `${origin}/hook?code=s3cr3t&x=1`, operation: 'op' })
      .catch((e: unknown) => e)) as HttpError;
    expect(error.url).not.toContain('s3cr3t');
    expect(error.message).not.toContain('s3cr3t');
  });

  it('times out a slow attempt with a TimeoutError', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/slow', method: 'POST' }).reply(200, 'late').delay(500);
    const error = await client()
      .send({ method: 'POST', url: `${origin}/slow`, operation: 'op', timeoutMs: 50 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('stops at once when the caller aborts', async () => {
    const pool = agent.get(origin);
    pool.intercept({ path: '/x', method: 'GET' }).reply(503, '');
    const controller = new AbortController();
    const http = createHttpClient({
      dispatcher: agent,
      sleep: async () => {
        controller.abort(new Error('shutting down'));
        throw controller.signal.reason;
      },
    });
    await expect(
      http.send({ method: 'GET', url: `${origin}/x`, operation: 'op', signal: controller.signal }),
    ).rejects.toThrow('shutting down');
  });
});
