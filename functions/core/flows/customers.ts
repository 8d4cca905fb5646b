/**
 * The customers flow: CustomersV3 → Account, upserted on the configured External ID field
 * (`usmf:US-000001` when several legal entities are synced).
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import { orgShapeOf } from '#core/engine/org-shape.ts';
import { FLOWS } from '#core/engine/wiring.ts';
import { mapCustomerToAccount } from '#core/mapping/customers.ts';
import { flowMapping, mappingPaths, tooLongPolicies } from '#core/mapping/flow-mappings.ts';
import { fieldsHash } from '#core/mapping/hash.ts';
import { accountHoldFields, customerLifecycleFields } from '#core/mapping/lifecycle.ts';
import { fitToOrg } from '#core/mapping/salesforce-fit.ts';
import { CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { type AccountLink, accountIdOf, accountLinks } from './account-link.ts';
import type { ToSalesforceFlow } from './flow.ts';

/**
 * The CustomersV3 fields the Account mapping reads: the keys and the mapping's source fields (in
 * either org shape; the address Code fields are computed from the ISO country and state). Dotted
 * paths are not OData fields of the entity: the go-live check reports them, `$select` leaves them out.
 */
export function customerFields(config: ConnectorConfig): string[] {
  const paths = [
    ...mappingPaths(flowMapping('customers', config, { addressCodes: false })),
    ...mappingPaths(flowMapping('customers', config, { addressCodes: true })),
    'AddressCountryRegionISOCode',
    'AddressState',
    ...customerLifecycleFields(config),
    // The Account Id of a customer created from an Account (see account-link.ts).
    ...(config.flows.accountWriteBack.enabled ? [config.accountWriteBack.salesforceIdField] : []),
  ];
  return [...new Set([...CustomersV3.keys, ...paths.filter((p) => !p.includes('.'))])];
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
    const policies = tooLongPolicies(
      flowMapping('customers', ctx.config, { addressCodes: org.addressCodes }),
    );
    return (record) => {
      const notes: string[] = [];
      const mapped = mapCustomerToAccount(record, ctx.config, org, notes);
      // The hold joins the mapped fields unless a configured mapping already names its field.
      for (const [field, value] of Object.entries(accountHoldFields(record, ctx.config)))
        if (!(field in ctx.config.mappings.customers)) mapped[field] = value;
      const fields = fitToOrg('Account', mapped, org, notes, policies);
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
