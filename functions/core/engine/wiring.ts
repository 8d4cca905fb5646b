/**
 * The flows and what both shapes wire for them, defined once: each flow's name (audit entries,
 * metrics, logs), the Dynamics entity or Salesforce object it moves, and the CDC channel it needs.
 * The local runner, the `sync` command, the Lambda handlers and the stream task all choose their
 * backfill entities, backfill objects and CDC topics here, so a flow added or renamed changes one
 * place.
 */
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { SyncEntity } from '#core/flows/flow.ts';
import type { SalesforceStub } from '#core/work/items.ts';

/** A Salesforce object whose changes flow to Dynamics. */
export type BackfillObject = SalesforceStub['sobject'];

interface ToSalesforceWiring {
  readonly name: string;
  readonly entity: SyncEntity;
}

interface ToDynamicsWiring {
  readonly name: string;
  readonly object: BackfillObject;
  /** The Pub/Sub change-event channel of the object. */
  readonly topic: string;
}

/**
 * Every flow by its configuration key (`flows.<key>`), in the order the engine runs them: Dynamics
 * to Salesforce first, then Accounts before the orders that may need them.
 */
export const FLOWS = {
  customers: { name: 'customers', entity: 'CustomersV3' },
  products: { name: 'products', entity: 'ReleasedProductsV2' },
  accountWriteBack: { name: 'account-write-back', object: 'Account', topic: '/data/AccountChangeEvent' },
  wonOpportunities: {
    name: 'won-opportunities',
    object: 'Opportunity',
    topic: '/data/OpportunityChangeEvent',
  },
  activatedOrders: { name: 'activated-orders', object: 'Order', topic: '/data/OrderChangeEvent' },
} as const satisfies Readonly<Record<keyof ConnectorConfig['flows'], ToSalesforceWiring | ToDynamicsWiring>>;

export type FlowKey = keyof typeof FLOWS;
/** A flow's name as audit entries, metrics and logs carry it. */
export type FlowName = (typeof FLOWS)[FlowKey]['name'];

const KEYS = Object.keys(FLOWS) as FlowKey[];

/** The enabled flows (of `chosen`, when given), in {@link FLOWS} order. */
export function enabledFlows(config: ConnectorConfig, chosen?: readonly FlowKey[]): FlowKey[] {
  return KEYS.filter((k) => config.flows[k].enabled && (chosen === undefined || chosen.includes(k)));
}

/** The Dynamics entities a backfill reads: those of the enabled flows (of `chosen`, when given). */
export function backfillEntities(config: ConnectorConfig, chosen?: readonly FlowKey[]): SyncEntity[] {
  return enabledFlows(config, chosen).flatMap((k) => {
    const flow: ToSalesforceWiring | ToDynamicsWiring = FLOWS[k];
    return 'entity' in flow ? [flow.entity] : [];
  });
}

/** The Salesforce objects a backfill polls: those of the enabled flows (of `chosen`), Accounts first. */
export function backfillObjects(config: ConnectorConfig, chosen?: readonly FlowKey[]): BackfillObject[] {
  return enabledFlows(config, chosen).flatMap((k) => {
    const flow: ToSalesforceWiring | ToDynamicsWiring = FLOWS[k];
    return 'object' in flow ? [flow.object] : [];
  });
}

/** The Pub/Sub CDC channels the enabled flows need. */
export function cdcTopics(config: ConnectorConfig): string[] {
  return enabledFlows(config).flatMap((k) => {
    const flow: ToSalesforceWiring | ToDynamicsWiring = FLOWS[k];
    return 'topic' in flow ? [flow.topic] : [];
  });
}

/** The flow that moves a Dynamics entity to Salesforce. */
export function flowOfEntity(entity: SyncEntity): FlowName {
  return entity === 'CustomersV3' ? FLOWS.customers.name : FLOWS.products.name;
}

/** The flow that moves a Salesforce object to Dynamics. */
export function flowOfObject(sobject: BackfillObject): FlowName {
  if (sobject === 'Account') return FLOWS.accountWriteBack.name;
  return sobject === 'Opportunity' ? FLOWS.wonOpportunities.name : FLOWS.activatedOrders.name;
}

/** The flow a queued work item belongs to (a Dynamics or Salesforce stub), or `unknown`. */
export function flowOfWork(body: unknown): FlowName | 'unknown' {
  const item = (body ?? {}) as { entity?: unknown; sobject?: unknown };
  if (item.entity === 'CustomersV3' || item.entity === 'ReleasedProductsV2') return flowOfEntity(item.entity);
  if (item.sobject === 'Account' || item.sobject === 'Opportunity' || item.sobject === 'Order')
    return flowOfObject(item.sobject);
  return 'unknown';
}
