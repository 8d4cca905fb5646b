import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandboxes } from '#sandbox/index.ts';
import { type CliWorkspace, runCli, useCliWorkspace } from '#test/support/cli.ts';

describe('ml-connector migrate-keys and sync --reconcile against the sandboxes', () => {
  let workspace: CliWorkspace;
  let sandboxes: Sandboxes;
  useCliWorkspace('mlc-lifecycle-', { dynamics: { customers: 20, products: 6, salesOrders: 0 } }, (w) => {
    workspace = w;
    sandboxes = w.sandboxes;
  });

  /** Writes the configuration: two legal entities, the stable key format. */
  const writeConfig = () => {
    const { dynamics, salesforce } = sandboxes.info;
    writeFileSync(
      join(workspace.dir, 'ml-connector.yaml'),
      [
        `dynamics: { environment: "${dynamics.environmentUrl}", tenantId: ${dynamics.tenantId}, authorityHost: "${dynamics.authorityHost}" }`,
        `salesforce: { myDomain: "${salesforce.myDomainUrl}", pubsubEndpoint: "${salesforce.pubsubEndpoint}", apiReserve: 100 }`,
        'flows: { wonOpportunities: { enabled: false }, activatedOrders: { enabled: false }, accountWriteBack: { enabled: false } }',
        'legalEntities: [usmf, demf]',
        'legalEntityRules: [{ default: usmf }]',
        '',
      ].join('\n'),
    );
  };

  const run = (...args: string[]) => runCli(workspace, args);
  const accounts = (where: string) =>
    sandboxes.salesforce.control.query(`SELECT Id, D365_Customer_Key__c FROM Account WHERE ${where}`).records;

  it('moves legacy keys when a legal entity is added, then repairs an Account deleted in Salesforce', async () => {
    // Accounts an earlier version wrote with one legal entity: keys without it.
    const legacy = sandboxes.dynamics.control
      .listRecords('CustomersV3', { company: 'usmf', top: 5 })
      .map((c) => String(c.CustomerAccount));
    for (const key of legacy)
      sandboxes.salesforce.control.createAccount({ Name: `Legacy ${key}`, D365_Customer_Key__c: key });
    writeConfig();

    const refused = await run('sync');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ml-connector migrate-keys');

    const dry = await run('migrate-keys', '--dry-run', '--legal-entity', 'usmf');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('Account.D365_Customer_Key__c: 5 without a legal entity, would move 5');
    expect(accounts("D365_Customer_Key__c LIKE 'usmf:%'")).toHaveLength(0);

    const moved = await run('migrate-keys', '--legal-entity', 'usmf', '--json');
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout).results[0]).toMatchObject({ found: 5, migrated: 5 });

    // One of them deleted by a rep: the repair recreates it, the others are matched, none duplicated.
    const [gone] = accounts(`D365_Customer_Key__c = 'usmf:${legacy[0]}'`);
    sandboxes.salesforce.control.delete('Account', String(gone?.Id));
    const repaired = await run('sync', '--reconcile', '--json');
    expect(repaired.code, repaired.stderr).toBe(0);
    for (const key of legacy) expect(accounts(`D365_Customer_Key__c = 'usmf:${key}'`)).toHaveLength(1);
    expect(accounts(`Name = 'Legacy ${legacy[1]}'`)).toHaveLength(0);
  });
});
