/**
 * Builds the two API clients from the validated configuration and the credentials (which come
 * from the Secrets port, never from the configuration file). Both shapes call this once per
 * process and hand the clients to the engine as its DynamicsApi and SalesforceApi ports.
 */

import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { ConnectorCredentials } from '#core/ports/secrets.ts';
import { createDynamicsClient, type DynamicsClient } from '#dynamics/client.ts';
import type { HttpClientOptions } from '#http/client.ts';
import { createSalesforceClient, type SalesforceClient } from '#salesforce/rest.ts';

export type { ConnectorCredentials };

export interface ConnectorClients {
  readonly dynamics: DynamicsClient;
  readonly salesforce: SalesforceClient;
  close(): Promise<void>;
}

export interface CreateClientsOptions {
  readonly logger?: Logger;
  /** HTTP overrides per system (tests shorten back-off waits). */
  readonly dynamicsHttp?: Partial<HttpClientOptions>;
  readonly salesforceHttp?: Partial<HttpClientOptions>;
  /** Status polling of streamed Bulk jobs (tests shorten it). */
  readonly salesforceBulkPolling?: { readonly pollIntervalMs?: number; readonly maxPollIntervalMs?: number };
}

export function createClients(
  config: ConnectorConfig,
  credentials: ConnectorCredentials,
  options: CreateClientsOptions = {},
): ConnectorClients {
  const dynamics = createDynamicsClient({
    environment: config.dynamics.environment,
    tenantId: config.dynamics.tenantId,
    authorityHost: config.dynamics.authorityHost,
    clientId: credentials.dynamics.clientId,
    clientSecret: credentials.dynamics.clientSecret,
    maxUrlLength: config.batches.maxODataUrlLength,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.dynamicsHttp ? { http: options.dynamicsHttp } : {}),
  });
  const salesforce = createSalesforceClient({
    myDomainUrl: config.salesforce.myDomain,
    clientId: credentials.salesforce.clientId,
    clientSecret: credentials.salesforce.clientSecret,
    apiVersion: config.salesforce.apiVersion,
    callOptionsClient: config.salesforce.callOptionsClient,
    budgetOptions: { reserveCalls: config.salesforce.apiReserve },
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.salesforceHttp ? { http: options.salesforceHttp } : {}),
    ...(options.salesforceBulkPolling ? { bulkPolling: options.salesforceBulkPolling } : {}),
  });
  return {
    dynamics,
    salesforce,
    async close() {
      await Promise.allSettled([dynamics.close(), salesforce.close()]);
    },
  };
}
