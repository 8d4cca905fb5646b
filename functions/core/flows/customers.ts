/**
 * Flow 1 (customers): CustomersV3 → Account, upserted on the configured External ID field
 * (`usmf:US-000001` when several legal entities are synced).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { DEFAULT_ACCOUNT_FIELDS, mapCustomerToAccount } from '#core/mapping/customers.ts';
import { fieldsHash } from '#core/mapping/hash.ts';
import { accountHoldFields, customerLifecycleFields } from '#core/mapping/lifecycle.ts';
import { fitToOrg } from '#core/mapping/salesforce-fit.ts';
import { CustomersV3 } from '#dynamics/entities.ts';
import { type AccountLink, accountIdOf, accountLinks } from './account-link.ts';
import type { ToSalesforceFlow } from './flow.ts';

/** The CustomersV3 fields the Account mapping reads (keys, defaults and configured extras). */
export function customerFields(config: ConnectorConfig): string[] {
  return [
    ...new Set([
      ...CustomersV3.keys,
      ...Object.values(DEFAULT_ACCOUNT_FIELDS),
      ...Object.values(config.mappings.customers),
      ...customerLifecycleFields(config),
      // The Account Id of a customer created from an Account (see account-link.ts).
      ...(config.flows.accountWriteBack.enabled ? [config.accountWriteBack.salesforceIdField] : []),
    ]),
  ];
}

/** The customers flow for the shared sync procedure. */
export const customersFlow: ToSalesforceFlow = Object.freeze<ToSalesforceFlow>({
  name: 'customers',
  entity: CustomersV3,
  idField: 'CustomerAccount',
  sobject: 'Account',
  externalIdField: (config: ConnectorConfig) => config.externalIds.account,
  select: customerFields,
  async prepare(ctx) {
    const org = orgShapeOf(ctx.reference);
    return (record) => {
      const notes: string[] = [];
      const mapped = mapCustomerToAccount(record, ctx.config, org, notes);
      // The hold joins the mapped fields unless a configured mapping already names its field.
      for (const [field, value] of Object.entries(accountHoldFields(record, ctx.config)))
        if (!(field in ctx.config.mappings.customers)) mapped[field] = value;
      const fields = fitToOrg('Account', mapped, org, notes);
      const accountId = accountIdOf(ctx, record);
      const extra: AccountLink | undefined = accountId ? { accountId } : undefined;
      return {
        fields,
        hash: fieldsHash(fields, ctx.config.externalIds.account),
        ...(extra ? { extra } : {}),
        ...(notes.length > 0 ? { notes } : {}),
      };
    };
  },
  linkTargets: accountLinks,
});
