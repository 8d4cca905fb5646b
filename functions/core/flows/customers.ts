/**
 * The customers flow: CustomersV3 → Account, upserted on the configured External ID field
 * (`usmf:US-000001` when several legal entities are synced).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { FLOWS } from '#core/engine/wiring.ts';
import { DEFAULT_ACCOUNT_FIELDS, mapCustomerToAccount } from '#core/mapping/customers.ts';
import { contentHash } from '#core/mapping/hash.ts';
import { fitToOrg } from '#core/mapping/salesforce-fit.ts';
import { CustomersV3 } from '#core/ports/dynamics/entities.ts';
import type { ToSalesforceFlow } from './flow.ts';

/** The CustomersV3 fields the Account mapping reads (keys, defaults and configured extras). */
export function customerFields(config: ConnectorConfig): string[] {
  return [
    ...new Set([
      ...CustomersV3.keys,
      ...Object.values(DEFAULT_ACCOUNT_FIELDS),
      ...Object.values(config.mappings.customers),
    ]),
  ];
}

/** The customers flow for the shared sync procedure. */
export const customersFlow: ToSalesforceFlow = Object.freeze<ToSalesforceFlow>({
  name: FLOWS.customers.name,
  entity: CustomersV3,
  idField: 'CustomerAccount',
  sobject: 'Account',
  externalIdField: (config: ConnectorConfig) => config.externalIds.account,
  select: customerFields,
  async prepare(ctx) {
    const org = orgShapeOf(ctx.reference);
    return (record) => {
      const notes: string[] = [];
      const fields = fitToOrg('Account', mapCustomerToAccount(record, ctx.config, org, notes), org, notes);
      return { fields, hash: contentHash(fields), ...(notes.length > 0 ? { notes } : {}) };
    };
  },
});
