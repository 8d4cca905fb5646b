import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '#base/errors.ts';
import { DATA, headerOf, INSTANCE, newAgent, serveTokens, testClient } from './support.ts';

describe('query', () => {
  let agent: MockAgent;
  beforeEach(() => {
    agent = newAgent();
    serveTokens(agent);
  });
  afterEach(async () => {
    await agent.close();
  });

  it('follows nextRecordsUrl until done, sending the batch size on every page', async () => {
    const pool = agent.get(INSTANCE);
    const sizes: (string | undefined)[] = [];
    const page = (n: number, next?: string) => ({
      totalSize: 5,
      done: next === undefined,
      ...(next ? { nextRecordsUrl: next } : {}),
      records: Array.from({ length: n }, (_, i) => ({ attributes: { type: 'Account' }, Id: `id${i}` })),
    });
    pool
      .intercept({ path: `${DATA}/queryAll?q=SELECT%20Id%20FROM%20Account`, method: 'GET' })
      .reply((opts) => {
        sizes.push(headerOf(opts, 'sforce-query-options'));
        return { statusCode: 200, data: page(2, `${DATA}/query/01g000000000001-200`) };
      });
    pool.intercept({ path: `${DATA}/query/01g000000000001-200`, method: 'GET' }).reply((opts) => {
      sizes.push(headerOf(opts, 'sforce-query-options'));
      return { statusCode: 200, data: page(2, `${DATA}/query/01g000000000001-400`) };
    });
    pool.intercept({ path: `${DATA}/query/01g000000000001-400`, method: 'GET' }).reply(200, page(1));
    const client = testClient(agent);
    const ids: string[] = [];
    for await (const r of client.query<{ Id: string }>('SELECT Id FROM Account', {
      batchSize: 200,
      all: true,
    })) {
      ids.push(r.Id);
    }
    expect(ids).toHaveLength(5);
    expect(sizes).toEqual(['batchSize=200', 'batchSize=200']);
    expect(client.counter.snapshot().byOperation).toMatchObject({ 'rest.query': 1, 'rest.queryMore': 2 });
  });

  it('stops requesting pages when the consumer stops iterating', async () => {
    const pool = agent.get(INSTANCE);
    pool.intercept({ path: /\/query\?q=/, method: 'GET' }).reply(200, {
      totalSize: 4000,
      done: false,
      nextRecordsUrl: `${DATA}/query/01g-2000`,
      records: [{ Id: 'a' }, { Id: 'b' }],
    });
    const client = testClient(agent);
    for await (const r of client.query('SELECT Id FROM Account')) {
      expect(r).toEqual({ Id: 'a' });
      break;
    }
    expect(client.counter.snapshot().byOperation).toEqual({ 'oauth.token': 1, 'rest.query': 1 });
  });

  it('refuses a batch size outside 200–2000', async () => {
    const client = testClient(agent);
    await expect(client.query('SELECT Id FROM Account', { batchSize: 100 }).next()).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(client.query('SELECT Id FROM Account', { batchSize: 2001 }).next()).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('rejects a page that is not done yet has no nextRecordsUrl', async () => {
    agent
      .get(INSTANCE)
      .intercept({ path: /\/query\?q=/, method: 'GET' })
      .reply(200, { totalSize: 1, done: false, records: [] });
    await expect(testClient(agent).query('SELECT Id FROM Account').next()).rejects.toThrow(/nextRecordsUrl/);
  });
});
