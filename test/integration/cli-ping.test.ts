import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSION } from '#base/version.ts';
import type { PingReport } from '#cli/ping-checks.ts';
import { type Sandboxes, startSandboxes } from '#sandbox/index.ts';

const bin = new URL('../../bin/ml-connector.ts', import.meta.url).pathname;

describe('ml-connector ping', () => {
  let sandboxes: Sandboxes;
  let dir: string;
  beforeAll(async () => {
    sandboxes = await startSandboxes({ dynamics: { customers: 30, products: 10, salesOrders: 0 } });
    dir = mkdtempSync(join(tmpdir(), 'mlc-ping-'));
  });
  afterAll(async () => {
    await sandboxes?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function configFile(
    name: string,
    edits: { legalEntities?: string; accountField?: string; myDomain?: string; extra?: string[] } = {},
  ) {
    const { dynamics, salesforce } = sandboxes.info;
    const path = join(dir, `${name}.yaml`);
    writeFileSync(
      path,
      [
        'dynamics:',
        `  environment: ${dynamics.environmentUrl}`,
        `  tenantId: ${dynamics.tenantId}`,
        `  authorityHost: ${dynamics.authorityHost}`,
        'salesforce:',
        `  myDomain: ${edits.myDomain ?? salesforce.myDomainUrl}`,
        `  pubsubEndpoint: ${salesforce.pubsubEndpoint}`,
        '  apiReserve: 100',
        `legalEntities: ${edits.legalEntities ?? '[usmf, demf, gbsi]'}`,
        ...(edits.accountField ? ['externalIds:', `  account: ${edits.accountField}`] : []),
        ...(edits.extra ?? []),
        '',
      ].join('\n'),
    );
    return path;
  }

  function ping(config: string, secretOverrides: Record<string, string> = {}, args: string[] = []) {
    const { dynamics, salesforce } = sandboxes.info;
    const env = {
      ...process.env,
      XDG_CONFIG_HOME: dir,
      ML_CONNECTOR_DYNAMICS_CLIENT_ID: dynamics.clientId,
      ML_CONNECTOR_DYNAMICS_CLIENT_SECRET: dynamics.clientSecret,
      ML_CONNECTOR_SALESFORCE_CLIENT_ID: salesforce.clientId,
      ML_CONNECTOR_SALESFORCE_CLIENT_SECRET: salesforce.clientSecret,
      ML_CONNECTOR_BUSINESS_EVENT_SECRET: 'unused-here',
      ...secretOverrides,
    };
    return new Promise<{ code: number; report: PingReport | undefined; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [bin, 'ping', '--config', config, '--json', '--metadata-cache', join(dir, 'cache'), ...args],
        { env, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
          resolve({ code, report: stdout ? (JSON.parse(stdout) as PingReport) : undefined, stderr });
        },
      );
    });
  }

  const failed = (report: PingReport | undefined) => report?.checks.filter((c) => !c.ok) ?? [];

  it('reports everything fits for a correct configuration and exits 0', async () => {
    const { code, report } = await ping(configFile('good'));
    expect(failed(report)).toEqual([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({ version: VERSION });
    expect(report?.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'token and OData service',
        'daily API allocation',
        'Pub/Sub /data/AccountChangeEvent',
        'customer account numbers',
      ]),
    );
  });

  it('refuses a customer account prefix until the number sequence is confirmed to accept it', async () => {
    const prefixed = ['accountWriteBack:', '  customerAccountPrefix: SF-'];
    const refused = await ping(configFile('prefix', { extra: prefixed }));
    expect(refused.code).toBe(1);
    expect(failed(refused.report)).toEqual([
      expect.objectContaining({
        name: 'accountWriteBack.customerAccountPrefix',
        detail: expect.stringContaining('ping cannot read number sequence settings'),
        fix: expect.stringContaining('prefixAllowedBySequence: true'),
      }),
    ]);
    const confirmed = await ping(
      configFile('prefix-confirmed', { extra: [...prefixed, '  prefixAllowedBySequence: true'] }),
    );
    expect(failed(confirmed.report)).toEqual([]);
    expect(confirmed.code).toBe(0);
  });

  it('explains a wrong Dynamics client secret with its fix and exits 1', async () => {
    const { code, report } = await ping(configFile('good'), {
      ML_CONNECTOR_DYNAMICS_CLIENT_SECRET: 'not-the-secret',
    });
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      expect.objectContaining({
        system: 'dynamics',
        detail: expect.stringContaining('7000215'),
        fix: expect.any(String),
      }),
    ]);
    expect(JSON.stringify(report)).not.toContain('not-the-secret');
  });

  it('explains a token endpoint on the wrong Salesforce host', async () => {
    const wrongHost = configFile('wrong-host', { myDomain: sandboxes.info.salesforce.instanceUrl });
    const { code, report } = await ping(wrongHost);
    expect(code).toBe(1);
    expect(failed(report)[0]).toMatchObject({
      system: 'salesforce',
      fix: expect.stringContaining('My Domain'),
    });
  });

  it('names an unknown legal entity and a field that is not an External ID, each with its fix', async () => {
    const config = configFile('bad-config', {
      legalEntities: '[usmf, frrt]',
      accountField: 'D365_Legal_Entity__c',
    });
    const { code, report } = await ping(config);
    expect(code).toBe(1);
    expect(failed(report).map((c) => c.name)).toEqual(['legalEntities', 'externalIds.account']);
    expect(failed(report).every((c) => c.fix)).toBe(true);
  });

  it('names a mapped field the F&O entity lacks, with its configuration key and fix', async () => {
    const config = configFile('extension-field', {
      extra: [
        'mappings:',
        '  customers:',
        '    Description: ZZ_Region',
        'modifiedFields:',
        '  ReleasedProductsV2: ZZ_Modified',
      ],
    });
    const { code, report } = await ping(config);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      {
        system: 'configuration',
        name: 'mappings.customers.Description',
        ok: false,
        detail: 'CustomersV3 has no field ZZ_Region',
        fix: 'add it to the entity by extension, or remove mappings.customers.Description',
      },
      expect.objectContaining({
        name: 'modifiedFields.ReleasedProductsV2',
        detail: 'ReleasedProductsV2 has no field ZZ_Modified',
        fix: expect.stringContaining('remove modifiedFields.ReleasedProductsV2'),
      }),
    ]);
  });

  it('names a misspelled mapped field and a value-map value the picklist lacks, each with its key and fix', async () => {
    const config = configFile('mapping-typos', {
      extra: [
        'flows:',
        '  activatedOrders: { enabled: false }',
        'mappings:',
        '  customers:',
        '    ShippingCountryCode: { field: AddressCountryRegionISOCode, map: { US: US, DE: DE, GB: UK } }',
        '  salesOrders:',
        '    DeliveryAdressCity: Account.ShippingCity',
        '    DeliveryAddressStreet: Account.ShipingStreet',
      ],
    });
    const { code, report } = await ping(config);
    expect(code).toBe(1);
    expect(failed(report)).toEqual([
      {
        system: 'configuration',
        name: 'mappings.salesOrders.DeliveryAdressCity',
        ok: false,
        detail: 'SalesOrderHeadersV2 has no field DeliveryAdressCity',
        fix: 'add it to the entity by extension, or remove mappings.salesOrders.DeliveryAdressCity',
      },
      expect.objectContaining({
        name: 'mappings.customers.ShippingCountryCode',
        detail: '"UK" is not an active picklist value of Account.ShippingCountryCode',
        fix: 'add "UK" to the picklist of Account.ShippingCountryCode (Setup > Object Manager), or change mappings.customers.ShippingCountryCode',
      }),
      expect.objectContaining({
        name: 'mappings.salesOrders.DeliveryAddressStreet',
        detail: 'Opportunity.Account.ShipingStreet does not exist or is not visible to the integration user',
        fix: expect.stringContaining('remove mappings.salesOrders.DeliveryAddressStreet'),
      }),
    ]);
  });

  it('shows the age of the cached $metadata and reads it again on --refresh-metadata', async () => {
    const config = configFile('good');
    const first = await ping(config, {}, ['--refresh-metadata']);
    const metadata = (r: PingReport | undefined) => r?.checks.find((c) => c.name === '$metadata');
    expect(metadata(first.report)).toMatchObject({
      ok: true,
      detail: expect.stringContaining('read just now'),
    });
    const reads = sandboxes.dynamics.control.counters()['odata.read:$metadata'] ?? 0;
    const second = await ping(config);
    expect(metadata(second.report)).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/cached just now \(\d{4}-/),
    });
    expect(sandboxes.dynamics.control.counters()['odata.read:$metadata'] ?? 0).toBe(reads);
    expect(second.report?.checks.find((c) => c.name === 'fields in $metadata and describe')).toMatchObject({
      ok: true,
    });
  });

  it('says to grant field access in the permission set for a field the integration user cannot see or edit', async () => {
    const { control } = sandboxes.salesforce;
    control.setFieldAccess('Account', 'Phone', 'read');
    control.setFieldAccess('Opportunity', 'IsWon', 'hidden');
    try {
      const { code, report } = await ping(configFile('good'));
      expect(code).toBe(1);
      expect(failed(report)).toEqual([
        expect.objectContaining({
          name: 'connector: customers flow (Account fields)',
          detail: 'Account.Phone is not createable or updateable for the integration user',
          fix: expect.stringContaining('grant field access in the permission set (Edit on Account.Phone)'),
        }),
        expect.objectContaining({
          name: 'connector: won opportunities flow',
          detail: 'Opportunity.IsWon does not exist or is not visible to the integration user',
          fix: 'grant field access in the permission set (Read on Opportunity.IsWon)',
        }),
      ]);
    } finally {
      control.setFieldAccess('Account', 'Phone', 'edit');
      control.setFieldAccess('Opportunity', 'IsWon', 'edit');
    }
  });

  it('exits 2 with the fix when there is no configuration file', async () => {
    const { code, stderr } = await ping(join(dir, 'missing.yaml'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/ml-connector init/);
  });
});
