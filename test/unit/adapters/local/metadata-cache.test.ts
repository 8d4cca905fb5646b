import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatAge,
  loadMetadata,
  METADATA_MAX_AGE_MS,
  metadataCachePath,
} from '#adapters/local/metadata-cache.ts';
import { FO_CSDL_FIXTURE } from '#test/support/csdl.ts';

const ENVIRONMENT = 'https://contoso.operations.dynamics.com';

/** A client whose `$metadata` is the fixture, sent in 100-byte chunks; counts the reads. */
function fakeClient(environmentUrl = ENVIRONMENT, document = FO_CSDL_FIXTURE) {
  const client = {
    environmentUrl,
    reads: 0,
    async streamMetadata(read: (body: AsyncIterable<Uint8Array>) => Promise<void>) {
      client.reads += 1;
      const bytes = new TextEncoder().encode(document);
      async function* chunks() {
        for (let i = 0; i < bytes.length; i += 100) yield bytes.subarray(i, i + 100);
      }
      await read(chunks());
    },
  };
  return client;
}

describe('loadMetadata', () => {
  let dir: string;
  let now: number;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mlc-metadata-'));
    now = Date.parse('2026-12-03T12:00:00Z');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (client: ReturnType<typeof fakeClient>, extra: { refresh?: boolean } = {}) =>
    loadMetadata({ client, dir, now: () => now, entitySets: ['CustomersV3', 'SalesOrderLines'], ...extra });

  it('reads the environment once and then answers from the cache with the read time', async () => {
    const client = fakeClient();
    const first = await load(client);
    expect(first).toMatchObject({ fromCache: false, fetchedAt: now, environment: ENVIRONMENT });
    expect(first.path).toBe(join(dir, 'metadata-contoso.operations.dynamics.com.json'));
    expect(Object.keys(first.model.entitySets).sort()).toEqual(['CustomersV3', 'SalesOrderLines']);
    now += 3_600_000;
    const second = await load(client);
    expect(second).toMatchObject({ fromCache: true, fetchedAt: now - 3_600_000 });
    expect(second.model).toEqual(first.model);
    expect(client.reads).toBe(1);
  });

  it('reads again when the copy is older than the maximum age', async () => {
    const client = fakeClient();
    await load(client);
    now += METADATA_MAX_AGE_MS + 1;
    expect((await load(client)).fromCache).toBe(false);
    expect(client.reads).toBe(2);
  });

  it('reads again when asked to refresh', async () => {
    const client = fakeClient();
    await load(client);
    expect((await load(client, { refresh: true })).fromCache).toBe(false);
    expect(client.reads).toBe(2);
  });

  it("does not take one environment's copy for another, nor a damaged file", async () => {
    await load(fakeClient());
    const other = fakeClient('https://fabrikam.operations.dynamics.com');
    expect((await load(other)).fromCache).toBe(false);
    const client = fakeClient();
    writeFileSync(metadataCachePath(dir, ENVIRONMENT), '{"format":1,');
    expect((await load(client)).fromCache).toBe(false);
    expect(JSON.parse(readFileSync(metadataCachePath(dir, ENVIRONMENT), 'utf8'))).toMatchObject({
      format: 1,
    });
  });

  it('reads again when the connector now needs an entity set the copy does not cover', async () => {
    const client = fakeClient();
    await load(client);
    await loadMetadata({ client, dir, now: () => now, entitySets: ['CustomersV3', 'Currencies'] });
    expect(client.reads).toBe(2);
  });
});

describe('formatAge', () => {
  it('says how old a copy is in the largest whole unit', () => {
    expect(formatAge(5_000)).toBe('just now');
    expect(formatAge(5 * 60_000)).toBe('5 min ago');
    expect(formatAge(3 * 3_600_000 + 1)).toBe('3 h ago');
    expect(formatAge(2 * 86_400_000)).toBe('2 d ago');
  });
});
