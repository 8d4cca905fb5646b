import { describe, expect, it } from 'vitest';
import { decideCdcEvent, objectsOfTopic } from '#core/triggers/cdc.ts';
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

  it('enqueues an Opportunity only when its stage or IsWon changed, or when it was created', () => {
    expect(decideCdcEvent(changeEvent({ changedFields: ['StageName', 'IsWon'] }), options).kind).toBe(
      'stubs',
    );
    expect(decideCdcEvent(changeEvent({ changedFields: ['Description'] }), options).kind).toBe('ignore');
    expect(decideCdcEvent(changeEvent({ changeType: 'CREATE' }), options).kind).toBe('stubs');
  });

  it('enqueues an Order only when its status changed', () => {
    const order = (fields: string[]) => changeEvent({ entityName: 'Order', changedFields: fields });
    expect(decideCdcEvent(order(['Status', 'StatusCode']), options)).toMatchObject({
      kind: 'stubs',
      sobject: 'Order',
    });
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
    });
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

describe('objectsOfTopic', () => {
  it('maps a per-object channel to its object and the all-changes channel to every object', () => {
    expect(objectsOfTopic('/data/OrderChangeEvent')).toEqual(['Order']);
    expect(objectsOfTopic('/data/ChangeEvents')).toBeUndefined();
  });
});
