/**
 * End to end: a write through the REST sandbox becomes a change event on the Pub/Sub sandbox,
 * received by the connector's subscriber and by a third-party client, with the same fields.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChangeEvent, toChangeEvent } from '#salesforce/pubsub/cdc.ts';
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import { type PubSubSubscriber, startPubSubSubscriber } from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceSession, SalesforceTokenSource } from '#salesforce/session.ts';
import { type SalesforceSandbox, startSalesforceSandbox } from '#sandbox/salesforce/index.ts';
import { type PubSubSandbox, startPubSubSandbox } from '#sandbox/salesforce/pubsub/index.ts';
import { ensureSandboxTls, type SandboxTls } from '#sandbox/shared/tls.ts';
import { waitFor } from './pubsub-harness.ts';
import { connectThirdParty, type ThirdPartyClient, type ThirdPartyEvent } from './pubsub-third-party.ts';

const TOPIC = '/data/AccountChangeEvent';

/** Client credentials against the sandbox's My Domain, minted with plain fetch. */
function tokenSource(sf: SalesforceSandbox): SalesforceTokenSource {
  let session: SalesforceSession | undefined;
  return {
    async getSession(options) {
      if (session && !options?.forceRefresh) return session;
      const response = await fetch(`${sf.info.myDomainUrl}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: sf.info.clientId,
          client_secret: sf.info.clientSecret,
        }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        access_token: string;
        instance_url: string;
        id: string;
        issued_at: string;
      };
      const [, orgId = '', userId = ''] = /\/id\/(\w+)\/(\w+)$/.exec(body.id) ?? [];
      session = {
        accessToken: body.access_token,
        instanceUrl: body.instance_url,
        orgId,
        userId,
        issuedAt: Number(body.issued_at),
      };
      return session;
    },
  };
}

describe('CDC end to end through the REST and Pub/Sub sandboxes', () => {
  let tls: SandboxTls;
  let sf: SalesforceSandbox;
  let pubsub: PubSubSandbox;
  let tokens: SalesforceTokenSource;
  let subscriber: PubSubSubscriber;
  let thirdParty: ThirdPartyClient;
  const ours: ChangeEvent[] = [];
  const theirs: ThirdPartyEvent[] = [];

  beforeAll(async () => {
    tls = await ensureSandboxTls();
    sf = await startSalesforceSandbox({ tls });
    pubsub = await startPubSubSandbox({
      feed: sf.changeFeed,
      schema: sf.schema,
      tls,
      clock: sf.clock,
      faults: sf.faults,
      authenticate: (meta) => sf.verifyAccessToken(meta.accessToken)?.orgId === meta.tenantId,
      keepaliveMs: 500,
    });
    tokens = tokenSource(sf);
    const session = await tokens.getSession();
    subscriber = startPubSubSubscriber({
      tokens,
      topic: TOPIC,
      replayStore: createMemoryReplayStore(),
      endpoint: pubsub.endpoint,
      rootCerts: tls.ca,
      handler: async (batch) => void ours.push(...batch.events.map(toChangeEvent)),
    });
    thirdParty = await connectThirdParty({
      endpoint: pubsub.endpoint,
      accessToken: session.accessToken,
      instanceUrl: session.instanceUrl,
      orgId: session.orgId,
      caPem: tls.ca,
    });
    thirdParty.subscribe(TOPIC, (_info, type, data) => {
      if (type === 'event') theirs.push(data as ThirdPartyEvent);
    });
    // Both first fetch requests are in: each stream's LATEST position is set before anything is written.
    await waitFor(() => pubsub.stats().streamsSubscribed === 2, 10_000, 'both subscriptions');
  });

  afterAll(async () => {
    await subscriber?.stop();
    await pubsub?.close();
    thirdParty?.close();
    await sf?.close();
  });

  async function rest(method: string, path: string, body: unknown): Promise<Response> {
    const session = await tokens.getSession();
    return fetch(`${session.instanceUrl}/services/data/v63.0${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        'content-type': 'application/json',
        'sforce-call-options': 'client=ml-connector',
      },
      body: JSON.stringify(body),
    });
  }

  it('delivers a REST create and update to both subscribers with the written fields', async () => {
    const created = await rest('POST', '/sobjects/Account', {
      Name: 'Contoso Ltd',
      Phone: '+33 1 23 45 67 89',
      BillingStreet: '1 Rue de Rivoli',
      BillingCity: 'Paris',
      BillingCountry: 'France',
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };

    await waitFor(() => ours.length === 1 && theirs.length === 1, 10_000, 'create event');
    const create = ours[0];
    expect(create).toMatchObject({
      entityName: 'Account',
      changeType: 'CREATE',
      recordIds: [id],
      clientId: 'ml-connector',
    });
    // Salesforce sends an empty changedFields bitmap on CREATE; the body carries the values.
    expect(create?.changedFields).toEqual([]);
    expect(create?.fields).toMatchObject({
      Name: 'Contoso Ltd',
      Phone: '+33 1 23 45 67 89',
      BillingCity: 'Paris',
      BillingAddress: { Street: '1 Rue de Rivoli', City: 'Paris', Country: 'France' },
    });
    const theirCreate = theirs[0]?.payload;
    expect(theirCreate?.ChangeEventHeader.recordIds).toEqual([id]);
    expect([...(theirCreate?.ChangeEventHeader.changedFields ?? [])].sort()).toEqual(
      [...(create?.changedFields ?? [])].sort(),
    );
    expect(theirCreate?.Name).toBe('Contoso Ltd');

    const updated = await rest('PATCH', `/sobjects/Account/${id}`, { BillingCity: 'Lyon', Phone: null });
    expect(updated.status).toBe(204);
    await waitFor(() => ours.length === 2 && theirs.length === 2, 10_000, 'update event');
    const update = ours[1];
    expect(update?.changeType).toBe('UPDATE');
    expect(update?.changedFields).toEqual(expect.arrayContaining(['BillingAddress.City', 'Phone']));
    expect(update?.changedFields).not.toContain('Name');
    expect(update?.nulledFields).toEqual(['Phone']);
    expect(update?.fields.BillingCity).toBe('Lyon');
    expect(update?.transactionKey).not.toBe(create?.transactionKey);
    const theirUpdate = theirs[1]?.payload.ChangeEventHeader;
    expect([...(theirUpdate?.changedFields ?? [])].sort()).toEqual([...(update?.changedFields ?? [])].sort());
    expect(theirUpdate?.nulledFields).toEqual(['Phone']);
  });
});
