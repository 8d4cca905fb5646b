import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustomersV3, LegalEntities } from '#core/ports/dynamics/entities.ts';
import { createDynamicsClient, type DynamicsClient } from '#dynamics/client.ts';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';

const CUSTOMERS = 25_500;
const PAGE = 1_000;

function clientFor(
  sandbox: DynamicsSandbox,
  extra: Partial<Parameters<typeof createDynamicsClient>[0]> = {},
) {
  const { info } = sandbox;
  return createDynamicsClient({
    environment: info.environmentUrl,
    authorityHost: info.authorityHost,
    tenantId: info.tenantId,
    clientId: info.clientId,
    clientSecret: info.clientSecret,
    ...extra,
  });
}

describe('DynamicsClient reads against the sandbox', () => {
  let sandbox: DynamicsSandbox;
  let client: DynamicsClient;

  beforeAll(async () => {
    sandbox = await startDynamicsSandbox({ customers: CUSTOMERS, pageSize: PAGE, salesOrders: 0 });
    client = clientFor(sandbox);
  });
  afterAll(async () => {
    await client?.close();
    await sandbox?.close();
  });

  it('obtains a token from the Entra stand-in through MSAL and reads legal entities', async () => {
    const ids: string[] = [];
    for await (const le of client.read(LegalEntities)) ids.push(String(le.LegalEntityId));
    expect(ids.sort()).toEqual(['demf', 'gbsi', 'usmf']);
    expect(client.authStats()).toMatchObject({ minted: 1 });
  });

  it('pages through more than 25,000 customers cross-company, each record once, in ceil(N/page) calls', async () => {
    client.counter.reset();
    const seen = new Set<string>();
    let records = 0;
    for await (const c of client.read(CustomersV3, {
      company: { crossCompany: true },
      select: ['dataAreaId', 'CustomerAccount', 'OrganizationName'],
    })) {
      records += 1;
      seen.add(`${c.dataAreaId}/${c.CustomerAccount}`);
    }
    expect(records).toBe(CUSTOMERS);
    expect(seen.size).toBe(CUSTOMERS);
    expect(client.counter.snapshot().byOperation['odata.read']).toBe(Math.ceil(CUSTOMERS / PAGE));
    expect(client.counter.snapshot().retries).toBe(0);
  });

  it('reads only the default company without cross-company', async () => {
    const companies = new Set<string>();
    let n = 0;
    for await (const c of client.read(CustomersV3, { select: ['dataAreaId', 'CustomerAccount'] })) {
      companies.add(String(c.dataAreaId));
      n += 1;
    }
    expect([...companies]).toEqual(['usmf']);
    expect(n).toBe(await client.count(CustomersV3, { company: 'usmf' }));
  });

  it('reads one other company with its dataAreaId filter and cross-company on every page', async () => {
    const companies = new Set<string>();
    const links: string[] = [];
    let n = 0;
    for await (const page of client.readPages(CustomersV3, {
      company: 'DEMF',
      select: ['dataAreaId', 'CustomerAccount'],
    })) {
      if (page.nextLink) links.push(page.nextLink);
      for (const c of page.records) {
        companies.add(String(c.dataAreaId));
        n += 1;
      }
    }
    expect([...companies]).toEqual(['demf']);
    expect(n).toBeGreaterThan(PAGE);
    expect(links.length).toBe(Math.ceil(n / PAGE) - 1);
    for (const link of links) expect(new URL(link).searchParams.get('cross-company')).toBe('true');
    expect(n).toBe(await client.count(CustomersV3, { company: 'demf' }));
  });
});
