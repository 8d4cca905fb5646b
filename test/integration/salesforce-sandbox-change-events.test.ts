import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import type { SalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { startSandbox } from './salesforce-sandbox-helpers.ts';

describe('Salesforce sandbox change events for several records or a wildcard', () => {
  let sandbox: SalesforceSandbox;
  const changes: SandboxChange[] = [];
  let stop: () => void;
  beforeAll(async () => {
    sandbox = await startSandbox({});
    stop = sandbox.changeFeed.subscribe((c) => changes.push(c));
  });
  afterAll(async () => {
    stop?.();
    await sandbox.close();
  });

  const control = (path: string, body: unknown) =>
    fetch(`${sandbox.info.controlUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.info.controlToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('publishes one UPDATE naming several records changed alike, with their shared values', async () => {
    const a = sandbox.control.createAccount({ Name: 'Alike A', BillingCity: 'Springfield' });
    const b = sandbox.control.createAccount({ Name: 'Alike B', BillingCity: 'Springfield' });
    const res = await control('/changes/event', {
      entityName: 'Account',
      changeType: 'UPDATE',
      recordIds: [a, b],
      changedFields: ['BillingCity'],
    });
    expect(res.status).toBe(200);
    expect(changes.at(-1)).toMatchObject({
      entityName: 'Account',
      changeType: 'UPDATE',
      recordIds: [a, b],
      changedFields: ['BillingAddress.City'],
      values: { BillingCity: 'Springfield' },
      changeOrigin: '',
    });
  });

  it('publishes a wildcard id with the header only, and the integration user as committer on request', () => {
    sandbox.control.publishChangeEvent({
      entityName: 'Account',
      changeType: 'UPDATE',
      recordIds: ['001*'],
      changedFields: ['Name'],
      commitUser: 'integration',
    });
    const event = changes.at(-1);
    expect(event).toMatchObject({
      recordIds: ['001*'],
      changedFields: ['Name'],
      values: {},
      changeOrigin: '',
    });
    expect(event?.commitUser).not.toBe(changes.at(-2)?.commitUser);
  });

  it('refuses records changed differently, unknown ids, foreign wildcards and unknown fields', async () => {
    const a = sandbox.control.createAccount({ Name: 'Differs A', BillingCity: 'Springfield' });
    const b = sandbox.control.createAccount({ Name: 'Differs B', BillingCity: 'Shelbyville' });
    const refusal = async (body: Record<string, unknown>) => {
      const res = await control('/changes/event', { entityName: 'Account', changeType: 'UPDATE', ...body });
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    const before = changes.length;
    expect(await refusal({ recordIds: [a, b], changedFields: ['BillingCity'] })).toMatch(/not changed alike/);
    expect(await refusal({ recordIds: ['001000000000000AAA'], changedFields: ['Name'] })).toMatch(
      /no Account/,
    );
    expect(await refusal({ recordIds: ['006*'], changedFields: ['Name'] })).toMatch(/'001\*'/);
    expect(await refusal({ recordIds: [a], changedFields: ['Nope__c'] })).toMatch(/no field/);
    expect(await refusal({ recordIds: [a] })).toMatch(/needs changedFields/);
    expect(changes.length).toBe(before);
  });
});
