/** The Pub/Sub CDC channels the enabled flows need. */
import type { ConnectorConfig } from '#core/config/schema.ts';

export function cdcTopics(config: ConnectorConfig): string[] {
  const topics: string[] = [];
  if (config.flows.accountWriteBack.enabled) topics.push('/data/AccountChangeEvent');
  if (config.flows.wonOpportunities.enabled) topics.push('/data/OpportunityChangeEvent');
  if (config.flows.activatedOrders.enabled) topics.push('/data/OrderChangeEvent');
  return topics;
}
