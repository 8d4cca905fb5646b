/**
 * Work items: the small messages triggers enqueue and workers consume. They carry keys, never
 * full records (the worker reads the record), so they stay far below the queue's size limit.
 */

/** Queue names shared by both shapes. */
export const QUEUES = {
  toSalesforce: 'to-salesforce',
  toDynamics: 'to-dynamics',
} as const;

export type Trigger = 'business-event' | 'cdc' | 'backfill' | 'replay' | 'sync';

/** A Dynamics record to read over OData and push to Salesforce. */
export interface DynamicsStub {
  readonly kind: 'dynamics-stub';
  readonly entity: 'CustomersV3' | 'ReleasedProductsV2';
  /** The full key, dataAreaId included. */
  readonly key: Readonly<Record<string, string>>;
  readonly trigger: Trigger;
  /** When the trigger saw the change, epoch ms (for latency figures). */
  readonly observedAt: number;
  /** e.g. the business event's EventId, or the CDC replay id. */
  readonly source?: string;
}

/** A Salesforce record to read and write into Dynamics. */
export interface SalesforceStub {
  readonly kind: 'salesforce-stub';
  readonly sobject: 'Account' | 'Opportunity' | 'Order';
  readonly id: string;
  readonly trigger: Trigger;
  readonly observedAt: number;
  readonly source?: string;
}

/**
 * A sales order the connector created whose status or invoices may have changed (an F&O business
 * event for a confirmation, packing slip or invoice): the worker reads it over OData.
 */
export interface OrderStatusStub {
  readonly kind: 'order-status';
  /** Lowercase. */
  readonly dataAreaId: string;
  readonly salesOrderNumber: string;
  readonly trigger: Trigger;
  readonly observedAt: number;
  /** The business event's EventId. */
  readonly source?: string;
}

export type WorkItem = DynamicsStub | SalesforceStub | OrderStatusStub;
