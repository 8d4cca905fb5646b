import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '#adapters/clients.ts';
import { ConfigurationCheckError, checkConfiguration } from '#core/engine/check.ts';
import { type EngineHarness, sandboxConfig, startEngineHarness } from '#test/support/engine-harness.ts';

describe('checkConfiguration', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs the check with clients of its own and returns the problems it refused to run with. */
  async function refusal(config: ReturnType<typeof sandboxConfig>) {
    const { dynamics, salesforce } = h.sandboxes.info;
    const clients = createClients(config, {
      dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
    });
    try {
      const error = await checkConfiguration(config, clients.dynamics, clients.salesforce).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigurationCheckError);
      return (error as ConfigurationCheckError).problems;
    } finally {
      await clients.close();
    }
  }

  it('resolves legal entities with their currencies, the Standard Price Book and multi-currency', () => {
    expect([...h.ctx.reference.legalEntities.values()].map((le) => [le.id, le.currency])).toEqual(
      expect.arrayContaining([
        ['usmf', 'USD'],
        ['demf', 'EUR'],
        ['gbsi', 'GBP'],
      ]),
    );
    expect(h.ctx.reference.standardPricebookId).toMatch(/^01s/);
    expect(h.ctx.reference.multiCurrency).toBe(false);
  });

  it('refuses to run with every problem and its fix: an unknown legal entity, a non-External-ID field, a missing rule field', async () => {
    const config = sandboxConfig(h.sandboxes.info, {
      legalEntities: ['usmf', 'frrt'],
      legalEntityRules: [{ field: 'Legal_Entity_Missing__c' }],
      externalIds: { account: 'D365_Legal_Entity__c' },
    });
    const problems = await refusal(config);
    expect(problems.map((p) => p.key)).toEqual([
      'legalEntities',
      'externalIds.account',
      'legalEntityRules.0.field',
    ]);
    expect(problems[0]?.problem).toMatch(/"frrt" does not exist/);
    expect(problems[1]?.fix).toMatch(/External ID and Unique/);
  });

  it('names a configured Salesforce-id field that the Dynamics entity lacks, with its fix', async () => {
    const config = sandboxConfig(h.sandboxes.info, {
      accountWriteBack: { salesforceIdField: 'SalesforceAccountId' },
      salesOrders: { lineIdField: 'OrderLineReference' },
    });
    const problems = await refusal(config);
    expect(problems.map((p) => p.key)).toEqual(['accountWriteBack.salesforceIdField']);
    expect(problems[0]?.problem).toMatch(/^CustomersV3\.SalesforceAccountId does not exist in Dynamics/);
    expect(problems[0]?.fix).toMatch(/text field of CustomersV3 \(at least 18 characters\)/);
  });
});
