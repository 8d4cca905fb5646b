/** Shared set-up for the Pub/Sub integration tests: the sandbox server, a token source, change factories. */
import { randomUUID } from 'node:crypto';
import { createMemoryReplayStore } from '#salesforce/pubsub/replay-id.ts';
import {
  type PubSubSubscriber,
  type PubSubSubscriberOptions,
  startPubSubSubscriber,
} from '#salesforce/pubsub/subscriber.ts';
import type { SalesforceSession, SalesforceTokenSource } from '#salesforce/session.ts';
import { type ChangeFeed, createChangeFeed, type SandboxChange } from '#sandbox/salesforce/change-feed.ts';
import { buildOrgSchema } from '#sandbox/salesforce/objects.ts';
import {
  type PubSubSandbox,
  type PubSubSandboxOptions,
  startPubSubSandbox,
} from '#sandbox/salesforce/pubsub/index.ts';
import { createSandboxClock, type SandboxClock } from '#sandbox/shared/clock.ts';
import { createFaultInjector, type FaultInjector } from '#sandbox/shared/faults.ts';
import { ensureSandboxTls, type SandboxTls } from '#sandbox/shared/tls.ts';
import { until } from '#test/support/wait.ts';

export const ORG_ID = '00D000000000001AAA';
export const USER_ID = '005000000000001AAA';
export const INSTANCE_URL = 'https://sandbox.my.salesforce.com';

/** A token source minting `token-1`, `token-2`, … ; only tokens in `valid` are accepted by the server. */
export function fakeTokens(): SalesforceTokenSource & {
  valid: Set<string>;
  minted: number;
  forced: number;
  current(): string;
} {
  let n = 0;
  let session: SalesforceSession | undefined;
  const source = {
    valid: new Set<string>(),
    minted: 0,
    forced: 0,
    current: () => session?.accessToken ?? '',
    async getSession(options?: { readonly forceRefresh?: boolean }) {
      if (options?.forceRefresh) source.forced += 1;
      if (!session || options?.forceRefresh) {
        n += 1;
        source.minted += 1;
        const accessToken = `${ORG_ID}!token-${n}`;
        source.valid.add(accessToken);
        session = {
          accessToken,
          instanceUrl: INSTANCE_URL,
          orgId: ORG_ID,
          userId: USER_ID,
          issuedAt: Date.now(),
        };
      }
      return session;
    },
  };
  return source;
}

export interface Harness {
  readonly server: PubSubSandbox;
  readonly feed: ChangeFeed;
  readonly clock: SandboxClock;
  readonly faults: FaultInjector;
  readonly tls: SandboxTls;
  readonly tokens: ReturnType<typeof fakeTokens>;
}

/** Starts the Pub/Sub sandbox with fast timers; close it with `harness.server.close()`. */
export async function startHarness(overrides: Partial<PubSubSandboxOptions> = {}): Promise<Harness> {
  const feed = createChangeFeed();
  const clock = createSandboxClock();
  const faults = createFaultInjector();
  const tls = await ensureSandboxTls();
  const tokens = fakeTokens();
  const server = await startPubSubSandbox({
    feed,
    schema: buildOrgSchema(),
    tls,
    clock,
    faults,
    authenticate: (meta) => tokens.valid.has(meta.accessToken) && meta.tenantId === ORG_ID,
    keepaliveMs: 200,
    idleTimeoutMs: 2_000,
    ...overrides,
  });
  return { server, feed, clock, faults, tls, tokens };
}

let counter = 0;

/** An 18-character Account id. */
export function accountId(n: number): string {
  return `001${String(n).padStart(12, '0')}AAA`;
}

/** An Account UPDATE changing Name and BillingCity. */
export function accountUpdate(
  n: number,
  clock: SandboxClock,
  extra: Partial<SandboxChange> = {},
): SandboxChange {
  counter += 1;
  return {
    entityName: 'Account',
    changeType: 'UPDATE',
    recordIds: [accountId(n)],
    changedFields: ['Name', 'BillingAddress.City', 'LastModifiedDate'],
    nulledFields: [],
    diffFields: [],
    values: { Name: `Account ${n}`, BillingCity: `City ${n}`, LastModifiedDate: clock.now() },
    changeOrigin: 'com/salesforce/api/rest/63.0;client=ml-connector',
    transactionKey: randomUUID(),
    sequenceNumber: 1,
    commitTimestamp: clock.now(),
    commitNumber: 10_000_000_000_000_000n + BigInt(counter),
    commitUser: USER_ID,
    ...extra,
  };
}

/** Resolves once `predicate` holds, polling every 10 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  await until(what, predicate, { timeoutMs, intervalMs: 10 });
}

/**
 * Starts a subscriber on the harness server (Account change events, an in-memory replay store,
 * short back-offs) and records it in `started` so the test can stop it afterwards.
 */
export function subscribeTo(
  h: Harness,
  started: PubSubSubscriber[],
  options: Partial<PubSubSubscriberOptions> & Pick<PubSubSubscriberOptions, 'handler'>,
): PubSubSubscriber {
  const subscriber = startPubSubSubscriber({
    tokens: h.tokens,
    topic: '/data/AccountChangeEvent',
    replayStore: createMemoryReplayStore(),
    endpoint: h.server.endpoint,
    rootCerts: h.tls.ca,
    backoff: { initialMs: 10, maxMs: 50 },
    ...options,
  });
  started.push(subscriber);
  return subscriber;
}
