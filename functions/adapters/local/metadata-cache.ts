/**
 * The F&O model (`$metadata`, reduced to the connector's entity sets) cached in a file beside the
 * local state, so `ping` and `start` read the large document once rather than every run. The file
 * is `<dir>/metadata-<environment host name>.json` (dir: the state database's directory, by default
 * `.ml-connector/`). It is read again when older than the maximum age (default 24 hours), when
 * the caller asks (`ping --refresh-metadata`), when it is for another environment or another set
 * of entities, or when it cannot be read.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '#base/logger.ts';
import type { DynamicsClient } from '#dynamics/client.ts';
import type { CsdlModel } from '#dynamics/metadata-csdl.ts';
import { CONNECTOR_ENTITY_SETS, fetchCsdlModel } from '#dynamics/metadata-fetch.ts';

/** Default maximum age of a cached model: F&O's `$metadata` changes only with a deployment. */
export const METADATA_MAX_AGE_MS = 24 * 3600 * 1000;

const FORMAT = 1;

/** A model with where and when it was read. */
export interface MetadataSnapshot {
  readonly model: CsdlModel;
  readonly environment: string;
  /** Epoch ms when the document was read from the environment. */
  readonly fetchedAt: number;
  /** Whether it came from the cache file (false: read from the environment just now). */
  readonly fromCache: boolean;
  readonly path: string;
}

export interface MetadataCacheOptions {
  readonly client: Pick<DynamicsClient, 'streamMetadata' | 'environmentUrl'>;
  /** The directory of the cache file. */
  readonly dir: string;
  readonly maxAgeMs?: number | undefined;
  /** Read the document again whatever the cache holds. */
  readonly refresh?: boolean | undefined;
  readonly entitySets?: readonly string[] | undefined;
  readonly now?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
}

interface CacheFile {
  readonly format: number;
  readonly environment: string;
  readonly fetchedAt: number;
  readonly entitySets: readonly string[];
  readonly model: CsdlModel;
}

/**
 * The cache file of an environment, named by its host name (a port is left out, so sandboxes on
 * ever-changing loopback ports share one file; the environment recorded inside tells them apart).
 */
export function metadataCachePath(dir: string, environmentUrl: string): string {
  const host = new URL(environmentUrl).hostname.replace(/[^A-Za-z0-9.-]/g, '_');
  return join(dir, `metadata-${host}.json`);
}

function readCache(path: string): CacheFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<CacheFile>;
    if (
      parsed.format !== FORMAT ||
      typeof parsed.environment !== 'string' ||
      typeof parsed.fetchedAt !== 'number' ||
      !Array.isArray(parsed.entitySets) ||
      !parsed.model ||
      typeof parsed.model.entitySets !== 'object'
    ) {
      return undefined;
    }
    return parsed as CacheFile;
  } catch {
    return undefined;
  }
}

/** The cached model when fresh, else the environment's `$metadata` read now (and cached). */
export async function loadMetadata(options: MetadataCacheOptions): Promise<MetadataSnapshot> {
  const now = options.now ?? Date.now;
  const maxAge = options.maxAgeMs ?? METADATA_MAX_AGE_MS;
  const environment = options.client.environmentUrl;
  const entitySets = options.entitySets ?? CONNECTOR_ENTITY_SETS;
  const path = metadataCachePath(options.dir, environment);
  if (!options.refresh) {
    const cached = readCache(path);
    const age = cached ? now() - cached.fetchedAt : Number.POSITIVE_INFINITY;
    if (
      cached &&
      cached.environment === environment &&
      age >= 0 &&
      age <= maxAge &&
      entitySets.every((s) => cached.entitySets.includes(s))
    ) {
      return { model: cached.model, environment, fetchedAt: cached.fetchedAt, fromCache: true, path };
    }
  }
  const model = await fetchCsdlModel(options.client, entitySets);
  const fetchedAt = now();
  const file: CacheFile = { format: FORMAT, environment, fetchedAt, entitySets: [...entitySets], model };
  try {
    mkdirSync(options.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file)}\n`);
    renameSync(tmp, path);
  } catch (error) {
    // A cache that cannot be written costs a re-read next time, nothing else.
    options.logger?.warn('metadata.cache_write_failed', { path, error: String(error) });
  }
  return { model, environment, fetchedAt, fromCache: false, path };
}

/** "3 min", "2 h", "just now": the age of a snapshot for people. */
export function formatAge(ms: number): string {
  if (ms < 60_000) return 'just now';
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ago`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)} h ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}
