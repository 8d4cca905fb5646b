/**
 * The External ID format over time. Earlier versions wrote the id alone (`US-001`) while one legal
 * entity was synced and `usmf:US-001` once several were, so adding a legal entity changed every
 * key and the next sync created every Account and Product2 again. Now the default format is always
 * prefixed (`externalIds.format`), and:
 * - the start-up check refuses to run while Salesforce still holds unprefixed values under a
 *   prefixed format (one `LIMIT 1` query per object), naming the migration;
 * - {@link migrateExternalIds} (`ml-connector migrate-keys`) rewrites them in place: it reads the
 *   unprefixed values (`NOT <field> LIKE '%:%'`), skips a value whose prefixed form another record
 *   already holds (a duplicate made earlier: reported, never overwritten), and updates the rest by
 *   Id, 200 per call. Re-running finds only what is left, so a stopped run resumes and a finished
 *   one changes nothing. `dryRun` reads and reports without writing.
 * The state store needs no migration: its keys always carried the legal entity
 * (`customers:usmf:US-001`), and content hashes leave the External ID out (`fieldsHash`).
 */

import { ConnectorError } from '#base/errors.ts';
import type { Logger } from '#base/logger.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { externalIdValue, prefixedExternalIds } from '#core/mapping/keys.ts';
import type { SalesforceApi } from '#core/ports/apis.ts';
import { soqlIdent, soqlList } from '#core/ports/salesforce/soql.ts';
import type { CheckProblem } from './check.ts';

/** An object whose External IDs the format governs, and whether its flow is on. */
interface KeyedObject {
  readonly sobject: 'Account' | 'Product2';
  readonly field: string;
  readonly key: string;
  readonly needed: boolean;
}

function keyedObjects(config: ConnectorConfig): KeyedObject[] {
  return [
    {
      sobject: 'Account',
      field: config.externalIds.account,
      key: 'externalIds.account',
      needed: config.flows.customers.enabled || config.flows.accountWriteBack.enabled,
    },
    {
      sobject: 'Product2',
      field: config.externalIds.product,
      key: 'externalIds.product',
      needed: config.flows.products.enabled,
    },
  ];
}

/** The SOQL selecting records whose External ID has no legal entity prefix. */
export function unprefixedQuery(sobject: string, field: string, limit?: number): string {
  const f = soqlIdent(field).text;
  return `SELECT Id, ${f} FROM ${soqlIdent(sobject).text} WHERE ${f} != null AND (NOT ${f} LIKE '%:%')${limit ? ` LIMIT ${limit}` : ''}`;
}

/** The start-up check's part: unprefixed External IDs under a prefixed format, one problem per object. */
export async function checkKeyFormat(
  config: ConnectorConfig,
  salesforce: Pick<SalesforceApi, 'query'>,
): Promise<CheckProblem[]> {
  if (!prefixedExternalIds(config)) return [];
  const problems: CheckProblem[] = [];
  for (const o of keyedObjects(config)) {
    if (!o.needed) continue;
    let example: string | undefined;
    for await (const row of salesforce.query<Record<string, unknown>>(
      unprefixedQuery(o.sobject, o.field, 1),
    )) {
      example = String(row[o.field]);
    }
    if (example === undefined) continue;
    problems.push({
      key: 'externalIds.format',
      problem: `${o.sobject}.${o.field} holds values without a legal entity (e.g. "${example}"), while the configuration writes "<legal entity>:<id>"; syncing now would create every ${o.sobject} again`,
      fix: `run \`ml-connector migrate-keys --dry-run\`, then \`ml-connector migrate-keys\` (add --legal-entity <id> when several are synced), or set externalIds.format: legacy while one legal entity is synced`,
    });
  }
  return problems;
}

/** Thrown when the migration cannot tell which legal entity the unprefixed values belong to. */
export class KeyMigrationError extends ConnectorError {
  override name = 'KeyMigrationError';
}

export interface KeyMigrationOptions {
  /** The legal entity the unprefixed values belong to; default the only synced one. */
  readonly legalEntity?: string | undefined;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

/** What the migration found and did for one object. */
export interface KeyMigrationResult {
  readonly sobject: string;
  readonly field: string;
  /** Records found with an unprefixed value. */
  readonly found: number;
  /** Records rewritten (0 in a dry run). */
  readonly migrated: number;
  /** Values whose prefixed form another record already holds: left as they are. */
  readonly conflicts: readonly { readonly id: string; readonly value: string; readonly heldBy: string }[];
  /** Records Salesforce refused, with its reason. */
  readonly failed: readonly { readonly id: string; readonly reason: string }[];
  /** Up to 5 planned changes, for the report. */
  readonly examples: readonly { readonly from: string; readonly to: string }[];
}

/** Moves unprefixed External IDs of Account and Product2 to `<legal entity>:<id>` (see the module comment). */
export async function migrateExternalIds(
  deps: { readonly config: ConnectorConfig; readonly salesforce: SalesforceApi; readonly logger: Logger },
  options: KeyMigrationOptions = {},
): Promise<KeyMigrationResult[]> {
  const { config, salesforce, logger } = deps;
  const legalEntity = (
    options.legalEntity ?? (config.legalEntities.length === 1 ? config.legalEntities[0] : undefined)
  )?.toLowerCase();
  if (!legalEntity) {
    throw new KeyMigrationError(
      `several legal entities are synced (${config.legalEntities.join(', ')}): name the one the unprefixed keys belong to with --legal-entity`,
      { code: 'KEY_MIGRATION_LEGAL_ENTITY' },
    );
  }
  if (!config.legalEntities.includes(legalEntity)) {
    throw new KeyMigrationError(`legal entity ${legalEntity} is not among the synced ones (legalEntities)`, {
      code: 'KEY_MIGRATION_LEGAL_ENTITY',
    });
  }
  const opts = options.signal ? { signal: options.signal } : {};
  const results: KeyMigrationResult[] = [];
  for (const o of keyedObjects(config)) {
    if (!o.needed) continue;
    const result = {
      sobject: o.sobject,
      field: o.field,
      found: 0,
      migrated: 0,
      conflicts: [] as { id: string; value: string; heldBy: string }[],
      failed: [] as { id: string; reason: string }[],
      examples: [] as { from: string; to: string }[],
    };
    let batch: { id: string; from: string; to: string }[] = [];
    const flush = async () => {
      const part = batch;
      batch = [];
      if (part.length === 0) return;
      const held = new Map<string, string>();
      const f = soqlIdent(o.field).text;
      for await (const row of salesforce.query<Record<string, unknown>>(
        `SELECT Id, ${f} FROM ${o.sobject} WHERE ${f} IN ${soqlList(part.map((p) => p.to)).text}`,
        opts,
      )) {
        // External IDs match case-insensitively unless the field is case-sensitive.
        held.set(String(row[o.field]).toLowerCase(), String(row.Id));
      }
      const writable = part.filter((p) => {
        const other = held.get(p.to.toLowerCase());
        if (other === undefined || other === p.id) return true;
        result.conflicts.push({ id: p.id, value: p.from, heldBy: other });
        return false;
      });
      if (options.dryRun || writable.length === 0) return;
      const updates = await salesforce.updateMany(
        writable.map((p) => ({ sobject: o.sobject, id: p.id, fields: { [o.field]: p.to } })),
        { chunkSize: 200, ...opts },
      );
      for (const r of updates) {
        const p = writable[r.index] as { id: string };
        if (r.outcome === 'updated') result.migrated += 1;
        else
          result.failed.push({
            id: p.id,
            reason: r.errors?.map((e) => `${e.statusCode}: ${e.message}`).join('; ') ?? 'refused',
          });
      }
    };
    for await (const row of salesforce.query<Record<string, unknown>>(
      unprefixedQuery(o.sobject, o.field),
      opts,
    )) {
      const from = String(row[o.field]);
      const to = externalIdValue({ dataAreaId: legalEntity, id: from }, true);
      result.found += 1;
      if (result.examples.length < 5) result.examples.push({ from, to });
      batch.push({ id: String(row.Id), from, to });
      if (batch.length >= 200) await flush();
    }
    await flush();
    logger.info('migrate-keys.object', {
      sobject: o.sobject,
      found: result.found,
      migrated: result.migrated,
      conflicts: result.conflicts.length,
      failed: result.failed.length,
      dryRun: options.dryRun === true,
    });
    results.push(result);
  }
  return results;
}
