/**
 * Which Salesforce org and which F&O environment the stored state belongs to. The state remembers
 * what was synced by content hash; when the systems under the same configuration change (a
 * Salesforce sandbox refresh gives a new org id; an F&O database refresh or restore replaces the
 * data), those hashes describe records that may not exist any more, so the check at start resets
 * them (the {@link HASHES_VALID_FROM} checkpoint) and logs why: the next sync compares and sends
 * everything again, by External ID, without duplicates.
 * - Salesforce: the org id of the token response's identity URL (`id` = `…/id/<orgId>/<userId>`).
 *   https://help.salesforce.com/s/articleView?id=xcloud.data_sandbox_environments.htm (a refreshed
 *   sandbox is a new org with a new id).
 * - F&O: its OData service publishes no environment id (UNCONFIRMED: none found in the public
 *   entity list), so the connector keeps a canary of its own: the last customer it created from an
 *   Account (key and the Account Id in `accountWriteBack.salesforceIdField`). Gone, or carrying
 *   another Account Id, means the environment's data was replaced. Without a canary (no write-back
 *   yet) an F&O refresh is not detected; the hash comparison still sends what differs, and
 *   `sync --reconcile` repairs the rest.
 */
import { CustomersV3, type FieldOf } from '#core/ports/dynamics/entities.ts';
import type { EngineContext } from './context.ts';

/**
 * The checkpoint whose write invalidates every content hash stored before it (its value says why);
 * `syncRecords` ignores older hashes.
 */
export const HASHES_VALID_FROM = 'hashes:valid-from';

const SALESFORCE_ORG = 'identity:salesforce-org';
const DYNAMICS_CANARY = 'identity:dynamics-canary';

/** The canary: a customer the connector created from an Account. */
interface Canary {
  readonly dataAreaId: string;
  readonly customerAccount: string;
  readonly accountId: string;
}

/** Remembers a customer the account write-back created, as the F&O canary. */
export async function rememberDynamicsCanary(ctx: EngineContext, canary: Canary): Promise<void> {
  await ctx.state.putCheckpoint(DYNAMICS_CANARY, JSON.stringify(canary));
}

function parseCanary(value: string | undefined): Canary | undefined {
  if (!value) return undefined;
  try {
    const c = JSON.parse(value) as Partial<Canary>;
    return typeof c.dataAreaId === 'string' &&
      typeof c.customerAccount === 'string' &&
      typeof c.accountId === 'string'
      ? (c as Canary)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compares the systems with those the state belongs to; on a change resets the stored hashes and
 * logs the reason. Returns the reasons (empty when nothing changed). `salesforceOrgId` comes from
 * the Salesforce session (the caller holds the concrete client).
 */
export async function checkSystemIdentity(ctx: EngineContext, salesforceOrgId: string): Promise<string[]> {
  const reasons: string[] = [];
  const org = await ctx.state.getCheckpoint(SALESFORCE_ORG);
  if (org && org.value !== salesforceOrgId) {
    reasons.push(
      `the Salesforce org changed from ${org.value} to ${salesforceOrgId} under the same configuration (a sandbox refresh, or another org)`,
    );
  }
  if (org?.value !== salesforceOrgId) await ctx.state.putCheckpoint(SALESFORCE_ORG, salesforceOrgId);

  const stored = await ctx.state.getCheckpoint(DYNAMICS_CANARY);
  const canary = parseCanary(stored?.value);
  if (canary && ctx.config.flows.accountWriteBack.enabled) {
    const idField = ctx.config.accountWriteBack.salesforceIdField as FieldOf<typeof CustomersV3>;
    const found = await ctx.dynamics.get(
      CustomersV3,
      { dataAreaId: canary.dataAreaId, CustomerAccount: canary.customerAccount },
      { select: ['CustomerAccount', idField], ...(ctx.signal ? { signal: ctx.signal } : {}) },
    );
    if (!found || found[idField] !== canary.accountId) {
      reasons.push(
        `the F&O environment's data changed (a database refresh or restore): customer ${canary.dataAreaId}:${canary.customerAccount}, created by the connector for Account ${canary.accountId}, is ${found ? 'another customer now' : 'gone'}`,
      );
      await ctx.state.putCheckpoint(DYNAMICS_CANARY, '');
    }
  }
  if (reasons.length > 0) {
    await ctx.state.putCheckpoint(HASHES_VALID_FROM, reasons.join('; '));
    ctx.logger.warn('identity.changed', {
      reasons,
      action:
        'stored content hashes reset: the next sync compares every record and sends it again by External ID',
    });
  }
  return reasons;
}
