import type { Context } from 'aws-lambda';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import type { ConnectorMetrics } from '#adapters/aws/metrics.ts';
import { CredentialsNotSetError } from '#adapters/aws/secrets.ts';
import { createSqliteStateStore } from '#adapters/local/sqlite-state-store.ts';
import { AuthError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import { secretsFrom } from '#core/ports/secrets.ts';
import type { StateStore } from '#core/ports/state-store.ts';
import { acquireLease, leaseName } from '#handlers/lease.ts';
import { unreachableConfig, unreachableEnvironment } from '#test/support/aws-environment.ts';

const config = unreachableConfig;

const env = unreachableEnvironment();

const context = (requestId: string) =>
  ({ awsRequestId: requestId, getRemainingTimeInMillis: () => 60_000 }) as unknown as Context;

function recorder() {
  const metrics: [string, number][] = [];
  const logs: [string, string][] = [];
  const logger: Logger = {
    debug: () => {},
    info: (m) => void logs.push(['info', m]),
    warn: (m) => void logs.push(['warn', m]),
    error: (m) => void logs.push(['error', m]),
  };
  const m: ConnectorMetrics = { add: (name, value) => void metrics.push([name, value]), flush() {} };
  return { metrics, logs, logger, m };
}

describe('acquireLease', () => {
  let clock: number;
  let store: StateStore;
  beforeEach(() => {
    clock = 1_000_000;
    store = createSqliteStateStore({ database: ':memory:', now: () => clock });
  });
  afterEach(() => store.close());
  const take = (holder: string, durationMs = 60_000) =>
    acquireLease(store, { name: 'backfill', holder, durationMs, now: () => clock });

  it('gives the lease to one holder at a time until it is released', async () => {
    const first = await take('run-1');
    expect(first?.until).toBe(1_060_000);
    expect(await take('run-2')).toBeUndefined();
    await first?.release();
    expect(await take('run-2')).toBeDefined();
  });

  it('lets exactly one of two concurrent takers win', async () => {
    const results = await Promise.all([take('run-1'), take('run-2')]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('lets the next holder take a lease that lapsed without release (a run killed at its timeout)', async () => {
    await take('run-1', 60_000);
    clock += 59_000;
    expect(await take('run-2')).toBeUndefined();
    clock += 2_000;
    const next = await take('run-2');
    expect(next).toBeDefined();
    // The dead run's late release does not free the new holder's lease.
    const stale = await store.getCheckpoint(leaseName('backfill'));
    expect(JSON.parse(stale?.value ?? '{}')).toMatchObject({ holder: 'run-2' });
  });
});

describe('the backfill handler', () => {
  const runtimes: EngineRuntime[] = [];
  // The module builds its own handler from process.env on import, as Lambda loads it.
  let createBackfillHandler: typeof import('#handlers/backfill.ts').createBackfillHandler;
  let BACKFILL_LEASE: string;
  beforeAll(async () => {
    Object.assign(process.env, env, { POWERTOOLS_METRICS_DISABLED: 'true' });
    ({ createBackfillHandler, BACKFILL_LEASE } = await import('#handlers/backfill.ts'));
  });
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.close();
  });

  it('returns cleanly, logged and without a failure metric, while the credentials are placeholders', async () => {
    const r = recorder();
    const runtime = createEngineRuntime({
      env,
      logger: r.logger,
      metrics: r.m,
      secrets: secretsFrom(async () => {
        throw new CredentialsNotSetError(['dynamics', 'salesforce']);
      }),
    });
    runtimes.push(runtime);
    const handler = createBackfillHandler(runtime);
    const result = await handler(null, context('req-1'));
    expect(result.skipped).toBe('credentials-not-set');
    expect(result.dynamics.runs).toEqual([]);
    expect(r.metrics).toEqual([]);
    expect(r.logs).toEqual([['info', 'backfill.waiting-for-credentials']]);
  });

  it('skips a run while another holds the lease, and runs nothing', async () => {
    const r = recorder();
    const store = createSqliteStateStore({ database: ':memory:' });
    const base = createEngineRuntime({ env, logger: r.logger, metrics: r.m });
    runtimes.push(base);
    let engineCalls = 0;
    const runtime: EngineRuntime = {
      ...base,
      state: store,
      // The lease is checked after the start-up check; an engine the run would fail to use proves nothing ran.
      engine: async () => {
        engineCalls += 1;
        return { ctx: {}, clients: {} } as never;
      },
    };
    const other = await acquireLease(store, {
      name: BACKFILL_LEASE,
      holder: 'req-running',
      durationMs: 60_000,
      now: Date.now,
    });
    expect(other).toBeDefined();
    const result = await createBackfillHandler(runtime)(null, context('req-2'));
    expect(result.skipped).toBe('already-running');
    expect(engineCalls).toBe(1);
    expect(r.metrics).toEqual([]);
    expect(r.logs).toContainEqual(['info', 'backfill.skipped']);
    await store.close();
  });

  it('makes the next run re-read the secrets after the credentials were refused, and releases the lease', async () => {
    const r = recorder();
    const store = createSqliteStateStore({ database: ':memory:' });
    const base = createEngineRuntime({ env, logger: r.logger, metrics: r.m });
    runtimes.push(base);
    let refreshed = 0;
    const runtime: EngineRuntime = {
      ...base,
      state: store,
      refreshCredentials: () => {
        refreshed += 1;
      },
      engine: async () =>
        ({
          ctx: {
            config: { ...config, flows: { ...config.flows } },
            state: store,
            logger: r.logger,
            now: Date.now,
            get dynamics(): never {
              throw new AuthError('dynamics', 'invalid_client');
            },
          },
          // The run first checks which org the state belongs to (identity.ts).
          clients: {
            salesforce: { tokenSource: { getSession: async () => ({ orgId: '00DRO0000000001' }) } },
          },
        }) as never,
    };
    await expect(createBackfillHandler(runtime)(null, context('req-3'))).rejects.toBeInstanceOf(AuthError);
    expect(refreshed).toBe(1);
    expect(r.metrics).toEqual([
      ['BackfillRuns', 1],
      ['BackfillFailures', 1],
    ]);
    const lease = await store.getCheckpoint(leaseName(BACKFILL_LEASE));
    expect(JSON.parse(lease?.value ?? '{}')).toMatchObject({ holder: 'req-3', until: 0 });
    await store.close();
  });
});
