import type { MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SalesforceApiError } from '#core/ports/salesforce/errors.ts';
import { DATA, headerOf, INSTANCE, newAgent, serveTokens, testClient } from './support.ts';

type Sent = { allOrNone: boolean; records: Record<string, unknown>[] };

describe('createMany (sObject Collections create)', () => {
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

  /** Entries priced below 0 fail; the others get ids. */
  function fakeOrg(failFirst: number[] = []) {
    agent
      .get(INSTANCE)
      .intercept({ path: `${DATA}/composite/sobjects`, method: 'POST' })
      .reply((opts) => {
        expect(headerOf(opts, 'sforce-call-options')).toBe('client=ml-connector');
        if (failFirst.length > 0) return { statusCode: failFirst.shift() as number, data: [] };
        const body = JSON.parse(String(opts.body)) as Sent;
        bodies.push(body);
        const data = body.records.map((r, i) =>
          Number(r.UnitPrice) < 0
            ? {
                success: false,
                errors: [
                  {
                    statusCode: 'FIELD_INTEGRITY_EXCEPTION',
                    message: 'negative price',
                    fields: ['UnitPrice'],
                  },
                ],
              }
            : { id: `01u${String(bodies.length * 1000 + i).padStart(15, '0')}`, success: true, errors: [] },
        );
        return { statusCode: 200, data };
      })
      .persist();
  }

  it('creates records in chunks of at most 200 and maps results back in input order', async () => {
    fakeOrg();
    const records = Array.from({ length: 450 }, (_, i) => ({
      Product2Id: `p${i}`,
      UnitPrice: i === 201 ? -1 : i,
    }));
    records.push({ Id: '01u000000000001AAA', UnitPrice: 1 } as never);
    const results = await testClient(agent).createMany('PricebookEntry', records);
    expect(bodies.map((b) => b.records.length)).toEqual([200, 200, 50]);
    expect(bodies.every((b) => b.allOrNone === false)).toBe(true);
    expect(bodies[0]?.records[0]).toEqual({
      Product2Id: 'p0',
      UnitPrice: 0,
      attributes: { type: 'PricebookEntry' },
    });
    expect(results).toHaveLength(451);
    expect(results.map((r) => r.index)).toEqual(records.map((_, i) => i));
    expect(results[0]).toMatchObject({ outcome: 'created', id: expect.stringMatching(/^01u/) });
    expect(results[201]).toMatchObject({
      outcome: 'failed',
      errors: [{ statusCode: 'FIELD_INTEGRITY_EXCEPTION', message: 'negative price', fields: ['UnitPrice'] }],
    });
    expect(results[450]?.errors?.[0]?.statusCode).toBe('INVALID_FIELD');
  });

  it('does not replay a create after a 503 unless the caller marks it idempotent', async () => {
    fakeOrg([503]);
    const client = testClient(agent);
    await expect(client.createMany('PricebookEntry', [{ UnitPrice: 1 }])).rejects.toBeInstanceOf(
      SalesforceApiError,
    );
    expect(bodies).toHaveLength(0);
    await agent.close();

    agent = newAgent();
    serveTokens(agent);
    fakeOrg([503]);
    const results = await testClient(agent).createMany('PricebookEntry', [{ UnitPrice: 1 }], {
      idempotent: true,
    });
    expect(results[0]?.outcome).toBe('created');
    expect(bodies).toHaveLength(1);
  });
});
