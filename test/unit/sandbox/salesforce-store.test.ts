import { describe, expect, it } from 'vitest';
import { createChangeFeed, type SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import { Org } from '#sandbox/salesforce/org.ts';
import type { RecordError } from '#sandbox/salesforce/store.ts';
import { createSandboxClock } from '#sandbox/shared/clock.ts';

function newOrg() {
  const feed = createChangeFeed();
  const changes: SandboxChange[] = [];
  feed.subscribe((c) => changes.push(c));
  const clock = createSandboxClock(() => Date.parse('2025-03-01T00:00:00Z'));
  const org = new Org({ seed: 7, multiCurrency: false, currencies: ['USD'], clock, feed });
  return { org, changes, clock };
}

describe('sandbox org store', () => {
  it('matches External IDs case-insensitively and refuses a duplicate unique value', () => {
    const { org } = newOrg();
    const tx = org.store.begin(org.uiContext());
    const first = org.dml.upsert(tx, 'Account', 'D365_Customer_Key__c', 'Abc', { Name: 'A' });
    const again = org.dml.upsert(tx, 'Account', 'd365_customer_key__c', 'ABC', { Name: 'B' });
    expect(first.created).toBe(true);
    expect(again).toEqual({ id: first.id, created: false });
    const other = org.dml.insert(tx, 'Account', { Name: 'C' });
    expect(() => org.dml.update(tx, 'Account', other, { D365_Customer_Key__c: 'abc' })).toThrow(
      expect.objectContaining({ statusCode: 'DUPLICATE_VALUE' }),
    );
    tx.commit();
  });

  it('restores rows and indexes on rollback and publishes nothing', () => {
    const { org, changes } = newOrg();
    changes.length = 0;
    const tx = org.store.begin(org.uiContext());
    org.dml.insert(tx, 'Account', { Name: 'Temp', D365_Customer_Key__c: 'T-1' });
    tx.rollback();
    expect(changes).toEqual([]);
    expect(org.store.table('Account')?.findByExternalId('D365_Customer_Key__c', 'T-1')).toEqual([]);
    const tx2 = org.store.begin(org.uiContext());
    expect(org.dml.upsert(tx2, 'Account', 'D365_Customer_Key__c', 'T-1', { Name: 'Again' }).created).toBe(
      true,
    );
    tx2.commit();
  });

  it('finds rows by 15-character ids and stamps audit fields from the sandbox clock', () => {
    const { org, clock } = newOrg();
    const tx = org.store.begin({ userId: org.integrationUserId, changeOrigin: 'x' });
    const id = org.dml.insert(tx, 'Account', { Name: 'Clocked' });
    tx.commit();
    clock.advance(5000);
    const tx2 = org.store.begin({ userId: org.integrationUserId, changeOrigin: 'x' });
    org.dml.update(tx2, 'Account', id.slice(0, 15), { Phone: '1' });
    tx2.commit();
    const row = org.store.get('Account', id.slice(0, 15));
    expect(row?.CreatedDate).toBe(Date.parse('2025-03-01T00:00:00Z'));
    expect(row?.SystemModstamp).toBe(Date.parse('2025-03-01T00:00:05Z'));
    expect(row?.LastModifiedById).toBe(org.integrationUserId);
  });

  it('names compound address components through their compound in change events', () => {
    const { org, changes } = newOrg();
    changes.length = 0;
    const tx = org.store.begin(org.uiContext());
    const id = org.dml.insert(tx, 'Account', {
      Name: 'Addr',
      BillingStreet: '1 Road',
      BillingCountryCode: 'NO',
    });
    tx.commit();
    expect(changes[0]?.values).toMatchObject({ BillingStreet: '1 Road', BillingCountryCode: 'NO' });
    const update = org.store.begin(org.uiContext());
    org.dml.update(update, 'Account', id, { BillingStreet: '2 Road', BillingCountryCode: 'SE' });
    update.commit();
    expect(changes[1]?.changedFields).toEqual(
      expect.arrayContaining(['BillingAddress.Street', 'BillingAddress.CountryCode']),
    );
    expect(changes[1]?.changedFields).not.toContain('SystemModstamp');
  });

  it('reports per-record errors as RecordError with Salesforce status codes', () => {
    const { org } = newOrg();
    const tx = org.store.begin(org.uiContext());
    const attempt = (fields: Record<string, unknown>) => {
      try {
        org.dml.insert(tx, 'Opportunity', fields);
        return 'ok';
      } catch (err) {
        return (err as RecordError).statusCode;
      }
    };
    expect(attempt({ Name: 'x', StageName: 'Prospecting' })).toBe('REQUIRED_FIELD_MISSING');
    expect(attempt({ Name: 'x', StageName: 'Prospecting', CloseDate: 'soon' })).toBe(
      'INVALID_TYPE_ON_FIELD_IN_RECORD',
    );
    expect(
      attempt({
        Name: 'x',
        StageName: 'Prospecting',
        CloseDate: '2025-01-01',
        AccountId: org.salesRepUserId,
      }),
    ).toBe('FIELD_INTEGRITY_EXCEPTION');
    expect(attempt({ Name: 'x', StageName: 'Prospecting', CloseDate: '2025-01-01', IsWon: true })).toBe(
      'INVALID_FIELD_FOR_INSERT_UPDATE',
    );
    tx.rollback();
  });

  it('evaluates relative date literals against the sandbox clock in GMT', () => {
    const { org, clock } = newOrg();
    const tx = org.store.begin(org.uiContext());
    org.dml.insert(tx, 'Account', { Name: 'Old' });
    tx.commit();
    clock.advance(3 * 86_400_000);
    const tx2 = org.store.begin(org.uiContext());
    org.dml.insert(tx2, 'Account', { Name: 'New' });
    tx2.commit();
    const names = (where: string) =>
      org.queries.run(`SELECT Name FROM Account WHERE ${where} ORDER BY Name`).records.map((r) => r.Name);
    expect(names('CreatedDate = TODAY')).toEqual(['New']);
    expect(names('CreatedDate = LAST_N_DAYS:3')).toEqual(['New', 'Old']);
    expect(names('CreatedDate < YESTERDAY')).toEqual(['Old']);
    expect(names('CreatedDate = N_DAYS_AGO:3')).toEqual(['Old']);
  });
});
