import fc from 'fast-check';
import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import { planRounds } from '#salesforce/collections.ts';
import { DATA, headerOf, INSTANCE, newAgent, serveTokens, testClient } from './support.ts';

type Sent = { allOrNone: boolean; records: Record<string, unknown>[] };

describe('upsert (sObject Collections)', () => {
  let agent: MockAgent;
  let bodies: Sent[];
  beforeEach(() => {
    agent = newAgent();
    serveTokens(agent);
    bodies = [];
  });
  afterEach(async () => {
    await agent.close();
  });

  /** A fake org: keys starting with `bad` fail, keys seen before are updated, others created. */
  function fakeOrg() {
    const known = new Set<string>(['k-existing']);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/composite/sobjects/Account/D365_Customer_Key__c`, method: 'PATCH' })
      .reply((opts) => {
        expect(headerOf(opts, 'sforce-call-options')).toBe('client=ml-connector');
        const body = JSON.parse(String(opts.body)) as Sent;
        bodies.push(body);
        const data = body.records.map((r, i) => {
          const key = String(r.D365_Customer_Key__c);
          if (key.startsWith('bad')) {
            return {
              success: false,
              errors: [
                { statusCode: 'STRING_TOO_LONG', message: 'Name: data value too large', fields: ['Name'] },
              ],
            };
          }
          const created = !known.has(key);
          known.add(key);
          return { id: `001${String(i).padStart(15, '0')}`, success: true, errors: [], created };
        });
        return { statusCode: 200, data };
      })
      .persist();
  }

  it('maps mixed created, updated and failed results back to the inputs in order', async () => {
    fakeOrg();
    const records = [
      { D365_Customer_Key__c: 'k-new', Name: 'A' },
      { D365_Customer_Key__c: 'bad-1', Name: 'B' },
      { D365_Customer_Key__c: 'k-existing', Name: 'C' },
      { Name: 'no key' },
      { D365_Customer_Key__c: 'k-id', Id: '001000000000001AAA', Name: 'D' },
    ];
    const results = await testClient(agent).upsert('Account', 'D365_Customer_Key__c', records);
    expect(results.map((r) => [r.index, r.key, r.outcome])).toEqual([
      [0, 'k-new', 'created'],
      [1, 'bad-1', 'failed'],
      [2, 'k-existing', 'updated'],
      [3, '', 'failed'],
      [4, 'k-id', 'failed'],
    ]);
    expect(results[1]?.errors).toEqual([
      { statusCode: 'STRING_TOO_LONG', message: 'Name: data value too large', fields: ['Name'] },
    ]);
    expect(results[3]?.errors?.[0]?.statusCode).toBe('REQUIRED_FIELD_MISSING');
    expect(results[4]?.errors?.[0]?.statusCode).toBe('INVALID_FIELD');
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.allOrNone).toBe(false);
    expect(bodies[0]?.records[0]).toEqual({
      D365_Customer_Key__c: 'k-new',
      Name: 'A',
      attributes: { type: 'Account' },
    });
  });

  it('sends at most 200 records per call', async () => {
    fakeOrg();
    const records = Array.from({ length: 450 }, (_, i) => ({ D365_Customer_Key__c: `k${i}`, Name: `N${i}` }));
    const results = await testClient(agent).upsert('Account', 'D365_Customer_Key__c', records, {
      concurrency: 3,
    });
    expect(bodies.map((b) => b.records.length).sort()).toEqual([200, 200, 50]);
    expect(results.every((r, i) => r.index === i && r.key === `k${i}` && r.outcome === 'created')).toBe(true);
  });

  it('sends a repeated key in a later round so each input gets its own result', async () => {
    fakeOrg();
    const records = [
      { D365_Customer_Key__c: 'dup', Name: 'first' },
      { D365_Customer_Key__c: 'other', Name: 'x' },
      { D365_Customer_Key__c: 'DUP', Name: 'second' },
    ];
    const results = await testClient(agent).upsert('Account', 'D365_Customer_Key__c', records);
    expect(bodies.map((b) => b.records.map((r) => r.Name))).toEqual([['first', 'x'], ['second']]);
    expect(results.map((r) => r.outcome)).toEqual(['created', 'created', 'created']);
  });

  it('throws SalesforceApiError when the whole request is refused', async () => {
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/composite/sobjects/Account/Nope__c`, method: 'PATCH' })
      .reply(400, [{ errorCode: 'INVALID_FIELD', message: 'No such column Nope__c', fields: [] }]);
    const error = await testClient(agent)
      .upsert('Account', 'Nope__c', [{ Nope__c: 'x' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SalesforceApiError);
    expect(error).toMatchObject({ errorCode: 'INVALID_FIELD' });
  });

  it('refuses an answer whose length differs from the request', async () => {
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/composite/sobjects/Account/D365_Customer_Key__c`, method: 'PATCH' })
      .reply(200, []);
    await expect(
      testClient(agent).upsert('Account', 'D365_Customer_Key__c', [{ D365_Customer_Key__c: 'x' }]),
    ).rejects.toThrow(/expected 1 results/);
  });
});

describe('updateMany', () => {
  it('updates by Id in one composite call and maps failures', async () => {
    const agent = newAgent();
    serveTokens(agent);
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/composite/sobjects`, method: 'PATCH' })
      .reply(200, [
        { id: '001000000000001AAA', success: true, errors: [] },
        { success: false, errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'deleted', fields: [] }] },
      ]);
    const results = await testClient(agent).updateMany([
      { sobject: 'Account', id: '001000000000001AAA', fields: { D365_Customer_Key__c: 'C1' } },
      { sobject: 'Account', id: '001000000000002AAA', fields: { D365_Customer_Key__c: 'C2' } },
      { sobject: 'Account', id: 'nope', fields: {} },
    ]);
    expect(results.map((r) => r.outcome)).toEqual(['updated', 'failed', 'failed']);
    expect(results[2]?.errors?.[0]?.statusCode).toBe('MALFORMED_ID');
    await agent.close();
  });
});

describe('planRounds', () => {
  it('puts the k-th occurrence of a key in round k, case-insensitively', () => {
    expect(planRounds(['a', 'b', 'A', undefined, 'a', 'c'])).toEqual([[0, 1, 5], [2], [4]]);
  });
});

describe('upsert mapping (property)', () => {
  it('gives every input its own result and leaves the last occurrence of each key stored', async () => {
    const input = fc.array(
      fc.record({
        key: fc.option(fc.constantFrom('a', 'A', 'b', 'c', 'd', 'e'), { nil: undefined }),
        n: fc.nat(999),
      }),
      { maxLength: 450 },
    );
    await fc.assert(
      fc.asyncProperty(input, fc.integer({ min: 1, max: 200 }), async (rows, chunkSize) => {
        const agent = newAgent();
        serveTokens(agent);
        const stored = new Map<string, string>();
        agent
          .get(INSTANCE)
          .intercept({ path: `${DATA}/composite/sobjects/Account/D365_Customer_Key__c`, method: 'PATCH' })
          .reply((opts) => {
            const body = JSON.parse(String(opts.body)) as Sent;
            const seen = new Set<string>();
            const data = body.records.map((r) => {
              const key = String(r.D365_Customer_Key__c).toLowerCase();
              if (seen.has(key)) throw new Error('duplicate key within one request');
              seen.add(key);
              const created = !stored.has(key);
              stored.set(key, String(r.Name));
              return { id: `001${key.padStart(15, '0')}`, success: true, errors: [], created };
            });
            return { statusCode: 200, data };
          })
          .persist();
        const records = rows.map((r) =>
          r.key === undefined ? { Name: `n${r.n}` } : { D365_Customer_Key__c: r.key, Name: `n${r.n}` },
        );
        const results = await testClient(agent).upsert('Account', 'D365_Customer_Key__c', records, {
          chunkSize,
        });
        await agent.close();
        expect(results).toHaveLength(rows.length);
        const last = new Map<string, string>();
        const firstSeen = new Set<string>();
        rows.forEach((r, i) => {
          const result = results[i];
          expect(result?.index).toBe(i);
          if (r.key === undefined) {
            expect(result?.outcome).toBe('failed');
            return;
          }
          const k = r.key.toLowerCase();
          expect(result?.outcome).toBe(firstSeen.has(k) ? 'updated' : 'created');
          firstSeen.add(k);
          last.set(k, `n${r.n}`);
        });
        expect(Object.fromEntries(stored)).toEqual(Object.fromEntries(last));
      }),
      { numRuns: 60 },
    );
  });
});
