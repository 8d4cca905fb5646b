import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorClients, createClients } from '#adapters/clients.ts';
import { sandboxConfig } from '#cli/demo-config.ts';
import type { ConnectorConfigInput } from '#core/config/schema.ts';
import { ConfigurationCheckError, checkConfiguration } from '#core/engine/check.ts';
import { goLiveFieldCheck } from '#core/engine/field-check.ts';
import { CONNECTOR_ENTITY_SETS, fetchCsdlModel } from '#dynamics/metadata-fetch.ts';
import { type Sandboxes, startSandboxes } from '#sandbox/index.ts';

describe('the go-live field check against the sandboxes', () => {
  let sandboxes: Sandboxes;
  const opened: ConnectorClients[] = [];
  beforeAll(async () => {
    sandboxes = await startSandboxes({ dynamics: { customers: 5, products: 5, salesOrders: 0 } });
  });
  afterAll(async () => {
    for (const c of opened) await c.close();
    await sandboxes?.close();
  });

  function setUp(overrides: Partial<ConnectorConfigInput> = {}) {
    const config = sandboxConfig(sandboxes.info, overrides);
    const { dynamics, salesforce } = sandboxes.info;
    const clients = createClients(config, {
      dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
      salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
    });
    opened.push(clients);
    return { config, clients };
  }

  it('streams $metadata through the Dynamics client into every entity set the connector uses', async () => {
    const { clients } = setUp();
    const model = await fetchCsdlModel(clients.dynamics);
    expect(Object.keys(model.entitySets).sort()).toEqual([...CONNECTOR_ENTITY_SETS].sort());
    expect(model.entitySets.CustomersV3?.key).toEqual(['dataAreaId', 'CustomerAccount']);
    expect(clients.dynamics.counter.snapshot().byOperation['odata.metadata']).toBe(1);
  });

  it('lets the engine start when every field fits', async () => {
    const { config, clients } = setUp();
    const fieldCheck = goLiveFieldCheck(config, () => fetchCsdlModel(clients.dynamics));
    const reference = await checkConfiguration(config, clients.dynamics, clients.salesforce, { fieldCheck });
    expect(reference.legalEntities.size).toBeGreaterThan(0);
  });

  it('refuses to start with a mapped field the F&O entity lacks and a Salesforce field the user cannot see', async () => {
    const { config, clients } = setUp({
      mappings: {
        products: { Family: 'ZZ_ProductFamily' },
        salesOrders: { CustomerRequisitionNumber: 'PO__c' },
      },
    });
    const fieldCheck = goLiveFieldCheck(config, () => fetchCsdlModel(clients.dynamics));
    const error = await checkConfiguration(config, clients.dynamics, clients.salesforce, {
      fieldCheck,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationCheckError);
    expect((error as ConfigurationCheckError).problems).toEqual([
      {
        key: 'mappings.products.Family',
        problem: 'ReleasedProductsV2 has no field ZZ_ProductFamily',
        fix: 'add it to the entity by extension, or remove mappings.products.Family',
      },
      expect.objectContaining({
        key: 'mappings.salesOrders.CustomerRequisitionNumber',
        problem: 'Opportunity.PO__c does not exist or is not visible to the integration user',
      }),
      expect.objectContaining({
        key: 'mappings.salesOrders.CustomerRequisitionNumber',
        problem: 'Order.PO__c does not exist or is not visible to the integration user',
      }),
    ]);
  });
});
