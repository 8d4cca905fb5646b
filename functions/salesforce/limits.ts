/**
 * Org limits: `GET /limits/` → `{"DailyApiRequests":{"Max":…,"Remaining":…},…}`
 * https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_limits.htm
 */
import { ConnectorError } from '#base/errors.ts';
import type { SalesforceTransport } from './transport.ts';

export interface LimitValue {
  readonly Max: number;
  readonly Remaining: number;
}

export interface OrgLimits {
  readonly DailyApiRequests: LimitValue;
  /** Every limit the org reported, by name. */
  readonly all: Readonly<Record<string, LimitValue>>;
}

/** Reads the org's limits and records the daily API usage in the budget tracker. */
export async function readLimits(
  rest: SalesforceTransport,
  options: { signal?: AbortSignal } = {},
): Promise<OrgLimits> {
  const response = await rest.send({
    method: 'GET',
    path: '/limits/',
    operation: 'rest.limits',
    signal: options.signal,
  });
  const body = response.json<Record<string, LimitValue>>();
  const daily = body?.DailyApiRequests;
  if (!daily || typeof daily.Max !== 'number' || typeof daily.Remaining !== 'number') {
    throw new ConnectorError('rest.limits: no DailyApiRequests in the answer', { code: 'BAD_RESPONSE' });
  }
  rest.budget.record(daily.Max - daily.Remaining, daily.Max);
  return { DailyApiRequests: { Max: daily.Max, Remaining: daily.Remaining }, all: body };
}
