import { describe, expect, it } from 'vitest';
import { decideCdcEvent, isWildcardId, objectsOfTopic } from '#core/triggers/cdc.ts';
import type { ChangeEvent, ChangeType } from '#salesforce/pubsub/cdc.ts';

function changeEvent(overrides: Partial<ChangeEvent> & { changeType?: ChangeType } = {}): ChangeEvent {
  const changeType = overrides.changeType ?? 'UPDATE';
  return {
    replayId: Uint8Array.of(0, 0, 0, 1),
    eventId: 'e1',
    schemaId: 's1',
    entityName: 'Opportunity',
    recordIds: ['006000000000001AAA'],
    changedFields: [],
    nulledFields: [],
    diffFields: [],
    changeOrigin: '',
    clientId: undefined,
    transactionKey: 't',
    sequenceNumber: 1,
    commitTimestamp: 0n,
    commitNumber: 0n,
    commitUser: '005',
    fields: {},
    isGap: changeType.startsWith('GAP_'),
    isOverflow: changeType === 'GAP_OVERFLOW',
    ...overrides,
    changeType,
  };
}

const options = { ownClientId: 'ml-connector', enabled: ['Account', 'Opportunity', 'Order'] as const };

describe('decideCdcEvent', () => {
  it("drops the echo of the connector's own write", () => {
    const echo = changeEvent({
      changedFields: ['StageName'],
      changeOrigin: 'com/salesforce/api/rest/63.0;client=ml-connector',
      clientId: 'ml-connector',
    });
    expect(decideCdcEvent(echo, options).kind).toBe('ignore');
  });

  it('keeps a write by another API client', () => {
    const other = changeEvent({ changedFields: ['StageName'], clientId: 'dataloader' });
    expect(decideCdcEvent(other, options)).toMatchObject({ kind: 'stubs', sobject: 'Opportunity' });
  });

  it('enqueues an Opportunity only when its stage, IsWon or Amount (its lines) changed, or when it was created', () => {
    expect(decideCdcEvent(changeEvent({ changedFields: ['StageName', 'IsWon'] }), options).kind).toBe(
      'stubs',
    );
    expect(decideCdcEvent(changeEvent({ changedFields: ['Amount'] }), options).kind).toBe('stubs');
    expect(decideCdcEvent(changeEvent({ changedFields: ['Description'] }), options).kind).toBe('ignore');
    expect(decideCdcEvent(changeEvent({ changeType: 'CREATE' }), options).kind).toBe('stubs');
  });

  it('enqueues an Order only when its status or TotalAmount (its lines) changed', () => {
    const order = (fields: string[]) => changeEvent({ entityName: 'Order', changedFields: fields });
    expect(decideCdcEvent(order(['Status', 'StatusCode']), options)).toMatchObject({
      kind: 'stubs',
      sobject: 'Order',
    });
    expect(decideCdcEvent(order(['TotalAmount']), options).kind).toBe('stubs');
    expect(decideCdcEvent(order(['PoNumber']), options).kind).toBe('ignore');
  });

  it('enqueues every Account create and update (the worker checks for a missing key)', () => {
    const account = changeEvent({
      entityName: 'Account',
      changedFields: ['Name'],
      recordIds: ['001A', '001B'],
    });
    expect(decideCdcEvent(account, options)).toEqual({
      kind: 'stubs',
      sobject: 'Account',
      ids: ['001A', '001B'],
    });
  });

  it('turns a GAP event into stubs for its record ids and GAP_OVERFLOW into a backfill', () => {
    expect(decideCdcEvent(changeEvent({ changeType: 'GAP_UPDATE' }), options).kind).toBe('stubs');
    expect(decideCdcEvent(changeEvent({ changeType: 'GAP_OVERFLOW', recordIds: [] }), options)).toEqual({
      kind: 'backfill',
      sobject: 'Opportunity',
      reason: 'GAP_OVERFLOW',
    });
  });

  it('ignores GAP_DELETE like DELETE: a deleted record owes nothing', () => {
    expect(decideCdcEvent(changeEvent({ changeType: 'GAP_DELETE' }), options).kind).toBe('ignore');
  });

  it('turns an event naming several records changed alike into one stub per record', () => {
    const ids = ['006000000000001AAA', '006000000000002AAA', '006000000000003AAA'];
    expect(decideCdcEvent(changeEvent({ changedFields: ['StageName'], recordIds: ids }), options)).toEqual({
      kind: 'stubs',
      sobject: 'Opportunity',
      ids,
    });
  });

  it('turns a wildcard record id into a backfill of the object', () => {
    const account = changeEvent({ entityName: 'Account', changedFields: ['Name'], recordIds: ['001*'] });
    expect(decideCdcEvent(account, options)).toEqual({
      kind: 'backfill',
      sobject: 'Account',
      reason: 'wildcard record id 001*',
    });
    const gap = changeEvent({ changeType: 'GAP_UPDATE', recordIds: ['006*'] });
    expect(decideCdcEvent(gap, options)).toMatchObject({ kind: 'backfill', sobject: 'Opportunity' });
    // Whatever fields it names (their completeness is unconfirmed), except for a delete.
    const description = changeEvent({ changedFields: ['Description'], recordIds: ['006*'] });
    expect(decideCdcEvent(description, options).kind).toBe('backfill');
    const deleted = changeEvent({ changeType: 'DELETE', recordIds: ['006*'] });
    expect(decideCdcEvent(deleted, options).kind).toBe('ignore');
  });

  it("drops a change committed by the connector's integration user when changeOrigin names no client", () => {
    const withUser = { ...options, integrationUserId: '005RO0000000001AAA' };
    const bulkEcho = changeEvent({
      entityName: 'Account',
      changedFields: ['Name'],
      commitUser: '005RO0000000001AAA',
    });
    expect(decideCdcEvent(bulkEcho, withUser)).toEqual({
      kind: 'ignore',
      reason: 'committed by the connector’s integration user',
    });
    // Ids compare on their 15-character form.
    expect(decideCdcEvent(bulkEcho, { ...options, integrationUserId: '005RO0000000001' }).kind).toBe(
      'ignore',
    );
  });

  it('keeps changes by other users, tagged by another client, GAP events, and all when the user is unknown', () => {
    const withUser = { ...options, integrationUserId: '005RO0000000001AAA' };
    const byRep = changeEvent({
      entityName: 'Account',
      changedFields: ['Name'],
      commitUser: '005RO0000000002AAA',
    });
    expect(decideCdcEvent(byRep, withUser).kind).toBe('stubs');
    const otherClient = changeEvent({
      entityName: 'Account',
      changedFields: ['Name'],
      commitUser: '005RO0000000001AAA',
      clientId: 'dataloader',
    });
    expect(decideCdcEvent(otherClient, withUser).kind).toBe('stubs');
    const gap = changeEvent({ changeType: 'GAP_UPDATE', commitUser: '005RO0000000001AAA' });
    expect(decideCdcEvent(gap, withUser).kind).toBe('stubs');
    const unknown = changeEvent({
      entityName: 'Account',
      changedFields: ['Name'],
      commitUser: '005RO0000000001AAA',
    });
    expect(decideCdcEvent(unknown, options).kind).toBe('stubs');
  });

  it('ignores deletes, other objects and objects whose flow is disabled', () => {
    expect(decideCdcEvent(changeEvent({ changeType: 'DELETE' }), options).kind).toBe('ignore');
    expect(decideCdcEvent(changeEvent({ entityName: 'Contact', changeType: 'CREATE' }), options).kind).toBe(
      'ignore',
    );
    const onlyAccounts = { ...options, enabled: ['Account'] as const };
    expect(decideCdcEvent(changeEvent({ changeType: 'CREATE' }), onlyAccounts).kind).toBe('ignore');
  });
});

describe('isWildcardId', () => {
  it('tells a key-prefix wildcard from a record id', () => {
    expect(isWildcardId('001*')).toBe(true);
    expect(isWildcardId('001RO00000000AAAAA')).toBe(false);
  });
});

describe('objectsOfTopic', () => {
  it('maps a per-object channel to its object and the all-changes channel to every object', () => {
    expect(objectsOfTopic('/data/OrderChangeEvent')).toEqual(['Order']);
    expect(objectsOfTopic('/data/ChangeEvents')).toBeUndefined();
  });
});
