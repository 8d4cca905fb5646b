import { describe, expect, it } from 'vitest';
import {
  backfillEntities,
  backfillObjects,
  cdcTopics,
  enabledFlows,
  FLOWS,
  flowOfWork,
} from '#core/engine/wiring.ts';
import { testConfig } from '#test/support/config.ts';

const off = { enabled: false } as const;

describe('the flow wiring', () => {
  it('chooses every entity, object and channel of the enabled flows, Accounts before orders', () => {
    const config = testConfig();
    expect(backfillEntities(config)).toEqual(['CustomersV3', 'ReleasedProductsV2']);
    expect(backfillObjects(config)).toEqual(['Account', 'Opportunity', 'Order']);
    expect(cdcTopics(config)).toEqual([
      '/data/AccountChangeEvent',
      '/data/OpportunityChangeEvent',
      '/data/OrderChangeEvent',
    ]);
  });

  it('leaves out disabled flows and keeps to the chosen ones', () => {
    const config = testConfig({ flows: { products: off, wonOpportunities: off } });
    expect(backfillEntities(config)).toEqual(['CustomersV3']);
    expect(backfillObjects(config)).toEqual(['Account', 'Order']);
    expect(cdcTopics(config)).toEqual(['/data/AccountChangeEvent', '/data/OrderChangeEvent']);
    expect(enabledFlows(config, ['products', 'activatedOrders'])).toEqual(['activatedOrders']);
    expect(backfillEntities(config, ['activatedOrders'])).toEqual([]);
  });

  it('names the flow of every kind of queued work item, and unknown for anything else', () => {
    expect(flowOfWork({ kind: 'dynamics-stub', entity: 'CustomersV3' })).toBe('customers');
    expect(flowOfWork({ kind: 'dynamics-stub', entity: 'ReleasedProductsV2' })).toBe('products');
    expect(flowOfWork({ kind: 'salesforce-stub', sobject: 'Account' })).toBe(FLOWS.accountWriteBack.name);
    expect(flowOfWork({ kind: 'salesforce-stub', sobject: 'Opportunity' })).toBe('won-opportunities');
    expect(flowOfWork({ kind: 'salesforce-stub', sobject: 'Order' })).toBe('activated-orders');
    expect(flowOfWork({ sobject: 'Lead' })).toBe('unknown');
    expect(flowOfWork(undefined)).toBe('unknown');
  });
});
