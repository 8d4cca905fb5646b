import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import { CustomersV3 } from '#core/ports/dynamics/entities.ts';
import { createDynamicsClient, type DynamicsClient } from '#dynamics/client.ts';
import { type DynamicsSandbox, startDynamicsSandbox } from '#sandbox/dynamics/index.ts';

const CUSTOMERS = 3_000;
const PAGE = 500;
const PAGES = Math.ceil(CUSTOMERS / PAGE);

interface Logged {
  message: string;
  fields: Record<string, unknown> | undefined;
}

describe('DynamicsClient resilience against the sandbox', () => {
  let sandbox: DynamicsSandbox;
  let client: DynamicsClient;
  const logged: Logged[] = [];
  const logger: Logger = {
    debug() {},
    info: (message, fields) => logged.push({ message, fields }),
    warn: (message, fields) => logged.push({ message, fields }),
    error: (message, fields) => logged.push({ message, fields }),
  };

  beforeAll(async () => {
    sandbox = await startDynamicsSandbox({ customers: CUSTOMERS, pageSize: PAGE, salesOrders: 0 });
    const { info } = sandbox;
    client = createDynamicsClient({
      environment: info.environmentUrl,
      authorityHost: info.authorityHost,
      tenantId: info.tenantId,
      clientId: info.clientId,
      clientSecret: info.clientSecret,
      logger,
      http: { retry: { baseDelayMs: 20 } },
    });
  });
  afterEach(() => {
    sandbox.control.setFaultPlan({ rules: [] });
    client.counter.reset();
    logged.length = 0;
  });
  afterAll(async () => {
    await client?.close();
    await sandbox?.close();
  });

  async function readAll(): Promise<number> {
    const keys = new Set<string>();
    for await (const c of client.read(CustomersV3, {
      company: { crossCompany: true },
      select: ['dataAreaId', 'CustomerAccount'],
    })) {
      keys.add(`${c.dataAreaId}/${c.CustomerAccount}`);
    }
    return keys.size;
  }

  it('waits as Retry-After says on 429 and then succeeds', async () => {
    await readAll(); // warm: token and connections
    client.counter.reset();
    sandbox.control.setFaultPlan({
      rules: [{ kind: 'throttle', match: 'odata.read', count: 1, retryAfterSeconds: 1 }],
    });
    const started = performance.now();
    expect(await readAll()).toBe(CUSTOMERS);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(logged.filter((l) => l.message === 'http.retry').map((l) => l.fields?.delayMs)).toEqual([1000]);
    expect(client.counter.snapshot()).toMatchObject({ retries: 1, byOperation: { 'odata.read': PAGES + 1 } });
  });

  it('retries 503 answers and completes the read', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'error', status: 503, match: 'odata.read', count: 2 }] });
    expect(await readAll()).toBe(CUSTOMERS);
    expect(sandbox.control.faultsFired()).toEqual({ error: 2 });
    expect(client.counter.snapshot()).toMatchObject({ retries: 2, byOperation: { 'odata.read': PAGES + 2 } });
  });

  it('retries connection resets and completes the read', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'reset', match: 'odata.read', count: 2 }] });
    expect(await readAll()).toBe(CUSTOMERS);
    expect(sandbox.control.faultsFired()).toEqual({ reset: 2 });
    expect(client.counter.snapshot().retries).toBe(2);
  });

  it('re-mints the token exactly once when it expires mid-read (sandbox clock) and continues', async () => {
    await readAll();
    client.counter.reset();
    const before = client.authStats();
    const tokensBefore = sandbox.control.counters().token ?? 0;
    const keys = new Set<string>();
    let page = 0;
    for await (const p of client.readPages(CustomersV3, {
      company: { crossCompany: true },
      select: ['dataAreaId', 'CustomerAccount'],
    })) {
      for (const c of p.records) keys.add(`${c.dataAreaId}/${c.CustomerAccount}`);
      // Past any token lifetime (60-90 min): the next page is answered 401.
      if (page++ === 1) sandbox.control.advanceClock(2 * 60 * 60 * 1000);
    }
    expect(keys.size).toBe(CUSTOMERS);
    const after = client.authStats();
    expect((after?.minted ?? 0) - (before?.minted ?? 0)).toBe(1);
    expect((after?.forced ?? 0) - (before?.forced ?? 0)).toBe(1);
    expect((sandbox.control.counters().token ?? 0) - tokensBefore).toBe(1);
    expect(logged.filter((l) => l.message === 'http.reauth')).toHaveLength(1);
    expect(client.counter.snapshot().byOperation).toMatchObject({ 'odata.read': PAGES + 1, token: 1 });
  });

  it('re-mints once on a token-expiry fault, and surfaces a second 401 instead of looping', async () => {
    sandbox.control.setFaultPlan({ rules: [{ kind: 'token-expiry', match: 'odata.read', count: 1 }] });
    expect(await readAll()).toBe(CUSTOMERS);
    expect(client.counter.snapshot().byOperation.token).toBe(1);

    sandbox.control.setFaultPlan({ rules: [{ kind: 'token-expiry', match: 'odata.read', count: 2 }] });
    const error = await readAll().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(401);
  });
});
