/** Shared fixtures for the Salesforce client unit tests (MockAgent, no network). */
import { MockAgent } from 'undici';
import type { MockInterceptor } from 'undici/types/mock-interceptor.js';
import { type ApiBudgetOptions, createApiBudget } from '#salesforce/budget.ts';
import {
  createSalesforceClient,
  type SalesforceClient,
  type SalesforceClientOptions,
} from '#salesforce/rest.ts';

export const MY_DOMAIN = 'https://acme.my.salesforce.com';
/** The REST instance: a different origin from My Domain, as in real orgs. */
export const INSTANCE = 'https://acme-rest.salesforce.test';
export const ORG_ID = '00D000000000001AAA';
export const USER_ID = '005000000000001AAA';
export const DATA = '/services/data/v63.0';

export function tokenBody(token = 'tok-1', instance = INSTANCE) {
  return {
    access_token: token,
    instance_url: instance,
    id: `https://login.salesforce.com/id/${ORG_ID}/${USER_ID}`,
    token_type: 'Bearer',
    issued_at: '1764158400000',
    signature: 'sig',
    scope: 'api',
  };
}

export function newAgent(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

/** Serves tokens `tok-1`, `tok-2`, … on the token endpoint; returns the count of mints. */
export function serveTokens(agent: MockAgent, instance = INSTANCE): { readonly mints: number } {
  let mints = 0;
  agent
    .get(MY_DOMAIN)
    .intercept({ path: '/services/oauth2/token', method: 'POST' })
    .reply(() => {
      mints += 1;
      return { statusCode: 200, data: tokenBody(`tok-${mints}`, instance) };
    })
    .persist();
  return {
    get mints() {
      return mints;
    },
  };
}

export function headerOf(
  opts: MockInterceptor.MockResponseCallbackOptions,
  name: string,
): string | undefined {
  const h = opts.headers;
  if (!h) return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const entry = Object.entries(h as Record<string, string>).find(([k]) => k.toLowerCase() === name);
  return entry?.[1];
}

export function limitInfo(used: number, max = 15_000) {
  return { 'content-type': 'application/json', 'sforce-limit-info': `api-usage=${used}/${max}` };
}

/** A client on the mock agent with its own budget, instant retries and no real sleeps. */
export function testClient(
  agent: MockAgent,
  extra: Partial<SalesforceClientOptions> & { budgetOptions?: ApiBudgetOptions } = {},
): SalesforceClient {
  return createSalesforceClient({
    myDomainUrl: MY_DOMAIN,
    clientId: 'client-id',
    clientSecret: 'very-secret',
    dispatcher: agent,
    budget: createApiBudget(extra.budgetOptions ?? {}),
    ...extra,
    http: { sleep: async () => {}, random: () => 0.5, ...extra.http },
  });
}
