import { describe, expect, it } from 'vitest';
import { flatComponentName, parseChangeOriginClient, toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import type { PubSubEvent } from '#salesforce/pubsub/subscriber.ts';
import type { SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import { buildOrgSchema } from '#sandbox/salesforce/objects.ts';
import { encodeChange } from '#sandbox/salesforce/pubsub/encode.ts';
import { buildChangeEventSchemas } from '#sandbox/salesforce/pubsub/schemas.ts';

const org = buildOrgSchema();
const schemas = buildChangeEventSchemas(org);

function change(overrides: Partial<SandboxChange>): SandboxChange {
  return {
    entityName: 'Opportunity',
    changeType: 'UPDATE',
    recordIds: ['006000000000001AAA'],
    changedFields: [],
    nulledFields: [],
    diffFields: [],
    values: {},
    changeOrigin: '',
    transactionKey: 'tx-1',
    sequenceNumber: 1,
    commitTimestamp: 1_764_000_000_000,
    commitNumber: 2n ** 60n + 7n,
    commitUser: '005000000000001AAA',
    ...overrides,
  };
}

/** The event as the subscriber hands it over: encoded by the sandbox, decoded with the served schema. */
function delivered(c: SandboxChange): PubSubEvent {
  const object = org.get(c.entityName);
  const served = schemas.get(c.entityName);
  if (!object || !served) throw new Error(`no schema for ${c.entityName}`);
  return {
    replayId: Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]),
    eventId: 'e-1',
    schemaId: served.id,
    payload: served.type.fromBuffer(encodeChange(c, object, served)) as Record<string, unknown>,
    schema: served.type,
  };
}

describe('change event decoding', () => {
  it('decodes header, bitmaps and typed values of an update', () => {
    const event = toChangeEvent(
      delivered(
        change({
          changedFields: ['StageName', 'CloseDate', 'Amount', 'LastModifiedDate'],
          nulledFields: ['Description'],
          values: {
            StageName: 'Closed Won',
            CloseDate: '2026-11-30',
            Amount: 1250.5,
            LastModifiedDate: 1_764_000_000_123,
          },
          changeOrigin: 'com/salesforce/api/rest/63.0;client=ml-connector',
        }),
      ),
    );
    expect(event.changedFields).toEqual(['LastModifiedDate', 'CloseDate', 'StageName', 'Amount']); // schema order
    expect(event.nulledFields).toEqual(['Description']);
    expect(event.fields).toEqual({
      StageName: 'Closed Won',
      CloseDate: BigInt(Date.UTC(2026, 10, 30)),
      Amount: 1250.5,
      LastModifiedDate: 1_764_000_000_123n,
    });
    expect(event.commitNumber).toBe(2n ** 60n + 7n);
    expect(event.commitTimestamp).toBe(1_764_000_000_000n);
    expect(event.clientId).toBe('ml-connector');
    expect(event.transactionKey).toBe('tx-1');
    expect(event.isGap).toBe(false);
  });

  it('flags GAP events, which carry only the header', () => {
    const event = toChangeEvent(delivered(change({ changeType: 'GAP_UPDATE', values: { StageName: 'x' } })));
    expect(event.isGap).toBe(true);
    expect(event.isOverflow).toBe(false);
    expect(event.recordIds).toEqual(['006000000000001AAA']);
    expect(event.fields).toEqual({});
    expect(event.changedFields).toEqual([]);
  });

  it('flags GAP_OVERFLOW, which names only the entity', () => {
    const event = toChangeEvent(
      delivered(change({ entityName: 'Account', changeType: 'GAP_OVERFLOW', recordIds: [] })),
    );
    expect(event).toMatchObject({ entityName: 'Account', isGap: true, isOverflow: true, recordIds: [] });
  });

  it('keeps compound fields nested and flattened', () => {
    const event = toChangeEvent(
      delivered(
        change({
          entityName: 'Account',
          recordIds: ['001000000000001AAA'],
          changedFields: ['ShippingAddress.City', 'ShippingAddress.CountryCode'],
          values: { ShippingCity: 'Lyon', ShippingCountryCode: 'FR' },
        }),
      ),
    );
    expect(event.changedFields).toEqual(['ShippingAddress.City', 'ShippingAddress.CountryCode']);
    expect(event.fields).toEqual({
      ShippingAddress: { City: 'Lyon', CountryCode: 'FR' },
      ShippingCity: 'Lyon',
      ShippingCountryCode: 'FR',
    });
  });

  it('parses the client id out of changeOrigin', () => {
    expect(parseChangeOriginClient('com/salesforce/api/rest/63.0;client=ml-connector')).toBe('ml-connector');
    expect(parseChangeOriginClient('com/salesforce/api/soap/63.0; client=other')).toBe('other');
    expect(parseChangeOriginClient('com/salesforce/api/rest/63.0')).toBeUndefined();
    expect(parseChangeOriginClient('')).toBeUndefined();
  });

  it('names compound components the way the REST API does', () => {
    expect(flatComponentName('BillingAddress', 'City')).toBe('BillingCity');
    expect(flatComponentName('MailingAddress', 'PostalCode')).toBe('MailingPostalCode');
    expect(flatComponentName('Site__c', 'City')).toBe('Site__City__s');
  });
});
