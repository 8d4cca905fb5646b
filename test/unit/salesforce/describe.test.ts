import { describe, expect, it } from 'vitest';
import { checkExternalId, parseDescribe } from '#salesforce/describe.ts';
import { DATA, INSTANCE, newAgent, serveTokens, testClient } from './support.ts';

const account = {
  name: 'Account',
  label: 'Account',
  keyPrefix: '001',
  fields: [
    { name: 'Id', type: 'id', label: 'Record ID', idLookup: true },
    { name: 'Name', type: 'string', label: 'Account Name', length: 255, nillable: false, createable: true },
    {
      name: 'D365_Customer_Key__c',
      type: 'string',
      label: 'Key',
      length: 80,
      externalId: true,
      unique: true,
      idLookup: true,
    },
    { name: 'Loose_Key__c', type: 'string', label: 'Loose', externalId: true, unique: false, idLookup: true },
  ],
};

describe('checkExternalId', () => {
  const parsed = parseDescribe(account);

  it('accepts a unique External ID field, matching the name case-insensitively', () => {
    const check = checkExternalId('Account', parsed, 'd365_customer_key__c');
    expect(check).toMatchObject({
      ok: true,
      field: { name: 'D365_Customer_Key__c', externalId: true, unique: true },
    });
  });

  it.each([
    ['Name', 'not-external-id', /not marked External ID/],
    ['Loose_Key__c', 'not-unique', /not Unique/],
    ['Missing__c', 'field-missing', /does not exist/],
  ])('reports %s as %s', (field, problem, message) => {
    const check = checkExternalId('Account', parsed, field);
    expect(check).toMatchObject({ ok: false, problem });
    if (!check.ok) expect(check.message).toMatch(message);
  });

  it('reports a missing object', () => {
    expect(checkExternalId('Nope__c', undefined, 'X__c')).toMatchObject({
      ok: false,
      problem: 'object-missing',
    });
  });
});

describe('describe', () => {
  it('reads the describe resource and answers undefined for an unknown object', async () => {
    const agent = newAgent();
    serveTokens(agent);
    const pool = agent.get(INSTANCE);
    pool.intercept({ path: `${DATA}/sobjects/Account/describe`, method: 'GET' }).reply(200, account);
    pool
      .intercept({ path: `${DATA}/sobjects/Nope__c/describe`, method: 'GET' })
      .reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    const client = testClient(agent);
    const d = await client.describe('Account');
    expect(d?.field('name')?.length).toBe(255);
    expect(await client.checkExternalIdField('Nope__c', 'X__c')).toMatchObject({ problem: 'object-missing' });
    await agent.close();
  });
});
