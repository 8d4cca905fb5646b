/**
 * The DynamicsApi and SalesforceApi ports: the parts of the two clients the engine uses. They are
 * type-only views of the clients (erased at run time), so the core depends on no SDK or
 * transport; the sandboxes are their test doubles.
 */
import type { DynamicsClient } from '#dynamics/client.ts';
import type { SalesforceClient } from '#salesforce/rest.ts';

export type DynamicsApi = Pick<
  DynamicsClient,
  'read' | 'readPages' | 'readByKeys' | 'get' | 'create' | 'update' | 'counter'
>;

export type SalesforceApi = Pick<
  SalesforceClient,
  | 'query'
  | 'queryPages'
  | 'upsert'
  | 'bulkUpsert'
  | 'openBulkJob'
  | 'readBulkResults'
  | 'update'
  | 'updateMany'
  | 'create'
  | 'createMany'
  | 'get'
  | 'describe'
  | 'limits'
  | 'budget'
  | 'counter'
>;
