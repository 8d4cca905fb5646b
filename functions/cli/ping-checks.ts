/**
 * `ml-connector ping`: checks a configuration and its credentials against the real systems and
 * reports each finding with its fix. It only reads: tokens, LegalEntities, Currencies, describes,
 * /limits and Pub/Sub GetTopic. Nothing is written to either system.
 */
import type { ConnectorClients } from '#adapters/clients.ts';
import { formatAge, loadMetadata, type MetadataSnapshot } from '#adapters/local/metadata-cache.ts';
import { AuthError, ConnectorError, HttpError } from '#base/errors.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { ConfigurationCheckError, checkConfiguration } from '#core/engine/check.ts';
import { goLiveFieldCheck } from '#core/engine/field-check.ts';
import { dynamicsFieldUses, salesforceFieldUses } from '#core/engine/field-uses.ts';
import { cdcTopics } from '#core/engine/topics.ts';
import type { OrgFacts } from '#core/mapping/legal-entity.ts';
import { LegalEntities } from '#core/ports/dynamics/entities.ts';
import { createPubSubClient } from '#salesforce/pubsub/channel.ts';
import { getTopic } from '#salesforce/pubsub/rpc.ts';

export interface PingCheck {
  readonly system: 'dynamics' | 'salesforce' | 'configuration';
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly fix?: string | undefined;
}

export interface PingReport {
  readonly ok: boolean;
  readonly checks: readonly PingCheck[];
}

/** The passed field check: how many fields were compared. */
function fieldsFitCheck(config: ConnectorConfig, org: OrgFacts, withMetadata: boolean): PingCheck {
  const count = (keys: string[]) => new Set(keys).size;
  const dynamics = count(dynamicsFieldUses(config).map((u) => `${u.entity}.${u.field}`));
  const salesforce = count(salesforceFieldUses(config, org).map((u) => `${u.sobject}.${u.field}`));
  return {
    system: 'configuration',
    name: 'fields in $metadata and describe',
    ok: true,
    detail: `${withMetadata ? `${dynamics} F&O fields exist with the expected types` : 'F&O fields not checked (no $metadata)'}; ${salesforce} Salesforce fields are visible, createable/updateable where written, of matching types`,
  };
}

function failure(system: PingCheck['system'], name: string, error: unknown): PingCheck {
  if (error instanceof AuthError) {
    return { system, name, ok: false, detail: error.message, fix: error.hint };
  }
  if (error instanceof HttpError && error.status === 401 && system === 'dynamics') {
    return {
      system,
      name,
      ok: false,
      detail: `the token was minted but F&O answered 401 (${error.url})`,
      fix:
        'register the client id in F&O (System administration > Setup > Microsoft Entra applications) and map it to a ' +
        'user; check that dynamics.environment is exactly the environment URL (the token audience)',
    };
  }
  const detail = error instanceof ConnectorError ? error.message : String(error);
  return { system, name, ok: false, detail };
}

/**
 * Who numbers the customers account write-back creates. F&O refuses a caller's CustomerAccount
 * unless the customer account number sequence is Manual or allows changes, and ping cannot read
 * that setting: the number sequence entity (NumberSequenceTableEntity in Microsoft's CDM) is not
 * in the entity schema the connector is built against, and which sequence a company uses for
 * customer accounts is set in Accounts receivable parameters. So a prefix needs your confirmation.
 */
export function customerNumbersCheck(config: ConnectorConfig): PingCheck {
  const {
    customerAccountPrefix: prefix,
    prefixAllowedBySequence,
    salesforceIdField,
  } = config.accountWriteBack;
  const name = 'accountWriteBack.customerAccountPrefix';
  if (prefix === undefined) {
    return {
      system: 'configuration',
      name: 'customer account numbers',
      ok: true,
      detail: `F&O assigns each new customer's CustomerAccount from its number sequence; the Account Id rides in CustomersV3.${salesforceIdField}`,
    };
  }
  const detail = `customerAccountPrefix '${prefix}' makes the connector choose customer numbers, which F&O refuses unless each legal entity's customer account number sequence is Manual or allows changes; ping cannot read number sequence settings (F&O exposes no such entity in the schema the connector is checked against)`;
  if (prefixAllowedBySequence) {
    return {
      system: 'configuration',
      name,
      ok: true,
      detail: `${detail}; confirmed by accountWriteBack.prefixAllowedBySequence`,
    };
  }
  return {
    system: 'configuration',
    name,
    ok: false,
    detail,
    fix: 'remove accountWriteBack.customerAccountPrefix to let F&O assign numbers, or set the customer account number sequence (Accounts receivable parameters > Number sequences) of every synced legal entity to Manual and then set accountWriteBack.prefixAllowedBySequence: true',
  };
}

/** Where ping keeps the F&O model it read from `$metadata`, and whether to read it again. */
export interface PingOptions {
  /** The directory of the `$metadata` cache (default `.ml-connector`, beside the local state). */
  readonly metadataDir?: string | undefined;
  /** Read `$metadata` again whatever the cache holds. */
  readonly refreshMetadata?: boolean | undefined;
  readonly now?: (() => number) | undefined;
}

/** Reads (or takes from the cache) the customer's `$metadata`; the check shows its age. */
async function metadataCheck(
  clients: ConnectorClients,
  options: PingOptions,
): Promise<{ check: PingCheck; snapshot: MetadataSnapshot | undefined }> {
  const now = options.now ?? Date.now;
  try {
    const snapshot = await loadMetadata({
      client: clients.dynamics,
      dir: options.metadataDir ?? '.ml-connector',
      refresh: options.refreshMetadata,
      now,
    });
    const sets = Object.keys(snapshot.model.entitySets).length;
    const age = snapshot.fromCache
      ? `cached ${formatAge(now() - snapshot.fetchedAt)} (${new Date(snapshot.fetchedAt).toISOString()}) in ${snapshot.path}; --refresh-metadata reads it again`
      : `read just now, cached in ${snapshot.path}`;
    return {
      snapshot,
      check: {
        system: 'dynamics',
        name: '$metadata',
        ok: true,
        detail: `${sets} entity sets the connector uses; ${age}`,
      },
    };
  } catch (error) {
    return {
      snapshot: undefined,
      check: {
        ...failure('dynamics', '$metadata', error),
        fix: "the field check needs GET /data/$metadata: check that the connector's user may read it, then run ping again",
      },
    };
  }
}

export async function runPing(
  config: ConnectorConfig,
  clients: ConnectorClients,
  options: PingOptions = {},
): Promise<PingReport> {
  const checks: PingCheck[] = [];

  let dynamicsOk = false;
  try {
    let entities = 0;
    for await (const _ of clients.dynamics.read(LegalEntities, { select: ['LegalEntityId'] })) entities += 1;
    checks.push({
      system: 'dynamics',
      name: 'token and OData service',
      ok: true,
      detail: `token minted for ${clients.dynamics.environmentUrl}; OData answered (${entities} legal entities visible)`,
    });
    dynamicsOk = true;
  } catch (error) {
    checks.push(failure('dynamics', 'token and OData service', error));
  }

  let salesforceOk = false;
  try {
    const session = await clients.salesforce.tokenSource.getSession();
    const limits = await clients.salesforce.limits();
    const { Max, Remaining } = limits.DailyApiRequests;
    checks.push({
      system: 'salesforce',
      name: 'token and REST API',
      ok: true,
      detail: `token minted at My Domain; REST at ${session.instanceUrl}; org ${session.orgId}`,
    });
    const low = Remaining < config.salesforce.apiReserve;
    checks.push({
      system: 'salesforce',
      name: 'daily API allocation',
      ok: !low,
      detail: `${Remaining.toLocaleString('en-US')} of ${Max.toLocaleString('en-US')} calls remaining (reserve for people: ${config.salesforce.apiReserve.toLocaleString('en-US')})`,
      ...(low
        ? { fix: 'wait for the rolling 24-hour window, lower salesforce.apiReserve, or buy more API calls' }
        : {}),
    });
    salesforceOk = true;
  } catch (error) {
    checks.push(failure('salesforce', 'token and REST API', error));
  }

  let metadata: MetadataSnapshot | undefined;
  if (dynamicsOk) {
    const read = await metadataCheck(clients, options);
    checks.push(read.check);
    metadata = read.snapshot;
  }

  if (dynamicsOk && salesforceOk) {
    try {
      const model = metadata?.model;
      const reference = await checkConfiguration(config, clients.dynamics, clients.salesforce, {
        fieldCheck: goLiveFieldCheck(config, async () => model),
      });
      checks.push({
        system: 'configuration',
        name: 'legal entities and currencies',
        ok: true,
        detail: config.legalEntities
          .map((le) => `${le} (${reference.legalEntities.get(le)?.currency ?? '?'})`)
          .join(', '),
      });
      checks.push({
        system: 'configuration',
        name: 'External ID and write-back fields',
        ok: true,
        detail: `Account.${config.externalIds.account}, Product2.${config.externalIds.product} are unique External IDs`,
      });
      checks.push(fieldsFitCheck(config, reference, model !== undefined));
    } catch (error) {
      if (!(error instanceof ConfigurationCheckError)) throw error;
      for (const p of error.problems) {
        checks.push({ system: 'configuration', name: p.key, ok: false, detail: p.problem, fix: p.fix });
      }
    }
    if (config.flows.accountWriteBack.enabled) checks.push(customerNumbersCheck(config));

    const pubsub = createPubSubClient({
      tokens: clients.salesforce.tokenSource,
      endpoint: config.salesforce.pubsubEndpoint,
    });
    try {
      for (const topic of cdcTopics(config)) {
        try {
          const info = await getTopic(pubsub, topic);
          checks.push({
            system: 'salesforce',
            name: `Pub/Sub ${topic}`,
            ok: info.can_subscribe,
            detail: info.can_subscribe ? 'can subscribe' : 'the integration user may not subscribe',
            ...(info.can_subscribe
              ? {}
              : { fix: 'grant the integration user read access to the object and its change events' }),
          });
        } catch (error) {
          checks.push({
            ...failure('salesforce', `Pub/Sub ${topic}`, error),
            fix: `enable Change Data Capture for ${topic.replace('/data/', '').replace('ChangeEvent', '')} (Setup > Change Data Capture), and check salesforce.pubsubEndpoint`,
          });
        }
      }
    } finally {
      pubsub.close();
    }
  }

  return { ok: checks.every((c) => c.ok), checks };
}
