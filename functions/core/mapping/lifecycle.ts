/**
 * The status of master data in Salesforce, from F&O: a customer's hold (CustomersV3 OnHoldStatus)
 * on its Account, and whether a released product may still be sold (Product2.IsActive, and with
 * it the product's price book entries). Kept apart from the field mappings so the mapping
 * language can express it later; configured under `lifecycle` (docs/CONFIGURATION.md).
 *
 * - OnHoldStatus is an enum of type CustVendorBlocked (fo-entities.json), whose members are
 *   No, Invoice, All, Payment, Requisition and Never (sandbox/dynamics/schema.ts cites the
 *   published X++ enum). F&O sends the member's name.
 * - A released product is inactive when its ProductLifecycleStateId is one the user lists in
 *   `lifecycle.products.inactiveStates` (lifecycle states are each company's own setup; there is
 *   no standard list), or when one of the NoYes fields listed in `lifecycle.products.stoppedFlags`
 *   is Yes. ReleasedProductsV2 has no general "stopped for sales" flag (fo-entities.json: the
 *   "Stopped" box of the default sales order settings is not on the entity; the NoYes flags it has
 *   are narrower, e.g. IsIntercompanySalesUsageBlocked, IsPOSRegistrationBlocked), so none is
 *   assumed: a company that exposes one by extension, or wants a narrower one, lists it.
 *   https://learn.microsoft.com/en-us/dynamics365/supply-chain/pim/product-lifecycle
 *   https://learn.microsoft.com/en-us/dynamics365/supply-chain/production-control/default-order-settings
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { DynamicsRecord } from './customers.ts';

/** The CustVendorBlocked members that mean "not on hold". */
const NOT_ON_HOLD: ReadonlySet<string> = new Set(['No', 'Never']);

/**
 * The default `lifecycle.customerHold.values`: the member's own name while the customer is on
 * hold, empty (null) while it is not, so a list view can filter on "Hold Status is not blank"
 * and nothing of F&O's meaning is lost.
 */
export const DEFAULT_HOLD_VALUES: Readonly<Record<string, string | boolean | null>> = Object.freeze({
  No: null,
  Invoice: 'Invoice',
  All: 'All',
  Payment: 'Payment',
  Requisition: 'Requisition',
  Never: null,
});

/** The CustomersV3 fields the hold needs (none when no hold field is configured). */
export function customerLifecycleFields(config: ConnectorConfig): string[] {
  return config.lifecycle.customerHold.field ? ['OnHoldStatus'] : [];
}

/** The ReleasedProductsV2 fields the active state needs. */
export function productLifecycleFields(config: ConnectorConfig): string[] {
  const { inactiveStates, stoppedFlags } = config.lifecycle.products;
  return [...(inactiveStates.length > 0 ? ['ProductLifecycleStateId'] : []), ...stoppedFlags];
}

/** The hold member of a customer; an empty or absent value reads as No (F&O's default member). */
export function holdStatusOf(customer: DynamicsRecord): string {
  const value = customer.OnHoldStatus;
  return typeof value === 'string' && value !== '' ? value : 'No';
}

/** Whether a customer is on hold in F&O (any member but No and Never). */
export function isOnHold(customer: DynamicsRecord): boolean {
  return !NOT_ON_HOLD.has(holdStatusOf(customer));
}

/**
 * The Account fields the customer's hold sets: `{ [field]: value }` through
 * `lifecycle.customerHold.values` (a member missing there carries its own name, or null when it
 * means "not on hold"); empty when no field is configured.
 */
export function accountHoldFields(
  customer: DynamicsRecord,
  config: ConnectorConfig,
): Record<string, unknown> {
  const { field, values } = config.lifecycle.customerHold;
  if (!field) return {};
  const member = holdStatusOf(customer);
  const value = Object.hasOwn(values, member) ? values[member] : NOT_ON_HOLD.has(member) ? null : member;
  return { [field]: value ?? null };
}

/** Why a product is inactive, or undefined when it may be sold. */
export function productInactiveReason(product: DynamicsRecord, config: ConnectorConfig): string | undefined {
  const { inactiveStates, stoppedFlags } = config.lifecycle.products;
  const state = typeof product.ProductLifecycleStateId === 'string' ? product.ProductLifecycleStateId : '';
  if (state !== '' && inactiveStates.some((s) => s.toLowerCase() === state.toLowerCase()))
    return `lifecycle state ${state}`;
  const flag = stoppedFlags.find((f) => product[f] === 'Yes');
  if (flag) return `${flag} is Yes`;
  return undefined;
}

/** Whether a released product is active in Salesforce (Product2.IsActive and its price book entries). */
export function isProductActive(product: DynamicsRecord, config: ConnectorConfig): boolean {
  return productInactiveReason(product, config) === undefined;
}
