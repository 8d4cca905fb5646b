/**
 * Flow 5 (account write-back): a Salesforce Account without a Dynamics key becomes a CustomersV3
 * record, exactly once, and the new key is written back to the Account.
 *
 * The CustomerAccount is chosen by the connector (F&O has no number sequence for CustomersV3
 * creates): `<prefix><n>` with a per-legal-entity counter in the StateStore, e.g. `SF-000001`.
 * A person reading Dynamics sees at once which customers came from Salesforce, the numbers never
 * collide with F&O's own (`US-000001`), and they are short enough to type on the phone. The
 * number is allocated once and saved in the idempotency record before the create, so a retry
 * creates the same customer or finds it; a number already taken by someone else is skipped.
 */
import type { EngineContext } from '#core/engine/context.ts';
import { ConditionFailedError } from '#core/ports/state-store.ts';
import type { Trigger } from '#core/work/items.ts';
import { CustomersV3 } from '#dynamics/entities.ts';
import { DynamicsWriteError } from '#dynamics/errors.ts';
import { accountQuery, customerRecord, formatCustomerAccount } from '../mapping/account-write-back.ts';
import { externalIdValue, parseExternalIdValue, recordKey } from '../mapping/keys.ts';
import {
  legalEntityField,
  ParkedError,
  resolveCurrency,
  resolveLegalEntity,
} from '../mapping/legal-entity.ts';
import { type AttemptInfo, audit, claim, newOwner } from './exactly-once.ts';
import { parkOnRefusal } from './parking.ts';

const FLOW = 'account-write-back';

/** Per-call options: the attempt facts for the audit trail, the number prefix and the lease owner. */
export interface WriteBackOptions extends Partial<AttemptInfo> {
  readonly prefix?: string;
  /** Lease owner (the worker's id); default a new one per call. */
  readonly owner?: string;
}

/** Succeeded (customer created now) or exists (the Account had a key); skipped or parked with the reason. */
export type WriteBackResult =
  | {
      readonly outcome: 'succeeded' | 'exists';
      readonly dataAreaId: string;
      readonly customerAccount: string;
      readonly key: string;
    }
  | { readonly outcome: 'skipped' | 'parked'; readonly reason: string };

async function readAccount(ctx: EngineContext, id: string): Promise<Record<string, unknown> | undefined> {
  const text = accountQuery(ctx.config, ctx.reference, id);
  for await (const record of ctx.salesforce.query<Record<string, unknown>>(text, optionsOf(ctx)))
    return record;
  return undefined;
}

const optionsOf = (ctx: EngineContext) => (ctx.signal ? { signal: ctx.signal } : {});

/** Allocates the next CustomerAccount number of a legal entity (conditional counter; safe under concurrency). */
export async function allocateCustomerAccount(
  ctx: EngineContext,
  dataAreaId: string,
  prefix: string,
): Promise<string> {
  const name = `counter:customer-account:${dataAreaId}`;
  for (let i = 0; i < 20; i++) {
    const current = await ctx.state.getCheckpoint(name);
    const next = Number(current?.value ?? 0) + 1;
    try {
      await ctx.state.putCheckpoint(name, String(next), { expectedVersion: current?.version ?? 0 });
      return formatCustomerAccount(prefix, next);
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }
  throw new ConditionFailedError(`${name}: too much contention allocating a customer account`);
}

/**
 * Creates the customer, or confirms that it exists from an earlier attempt. A duplicate on a
 * number this record already tried to create is ours (the earlier POST went through); on a first
 * try it is someone else's unless the name matches. Returns false when the number is taken.
 */
async function createOrConfirm(
  ctx: EngineContext,
  record: Record<string, unknown>,
  triedBefore: boolean,
): Promise<boolean> {
  try {
    await ctx.dynamics.create(CustomersV3, record, optionsOf(ctx));
    return true;
  } catch (error) {
    if (!(error instanceof DynamicsWriteError && error.isDuplicate)) throw error;
  }
  if (triedBefore) return true;
  const existing = await ctx.dynamics.get(
    CustomersV3,
    { dataAreaId: String(record.dataAreaId), CustomerAccount: String(record.CustomerAccount) },
    { ...optionsOf(ctx), select: ['OrganizationName'] },
  );
  return existing !== undefined && existing.OrganizationName === record.OrganizationName;
}

/**
 * Flow 5 for one Account: done at once when it already has a Dynamics key; otherwise resolves the
 * legal entity, currency and customer group, creates the customer exactly once and writes the key
 * (and the legal entity field, when a `{field}` rule names one) back. Audits every attempt; a
 * record that cannot resolve is parked (returned, not thrown); other failures are audited and thrown.
 */
export async function writeBackAccount(
  ctx: EngineContext,
  accountId: string,
  trigger: Trigger,
  options: WriteBackOptions = {},
): Promise<WriteBackResult> {
  const { config } = ctx;
  const startedAt = ctx.now();
  const info: AttemptInfo = { trigger, attempt: options.attempt, work: options.work };
  const key = recordKey('salesforce', 'Account', accountId);
  const idemKey = `customer:${accountId}`;
  try {
    if (!config.flows.accountWriteBack.enabled) {
      const reason = 'account write-back is disabled (flows.accountWriteBack)';
      await audit(ctx, { recordKey: key, flow: FLOW, outcome: 'skipped', startedAt, info, error: reason });
      return { outcome: 'skipped', reason };
    }
    const account = await readAccount(ctx, accountId);
    if (!account) {
      await audit(ctx, {
        recordKey: key,
        flow: FLOW,
        outcome: 'skipped',
        startedAt,
        info,
        error: 'the Account no longer exists',
      });
      return { outcome: 'skipped', reason: 'the Account no longer exists' };
    }
    const existingKey = account[config.externalIds.account];
    if (typeof existingKey === 'string' && existingKey !== '') {
      await settle(ctx, idemKey);
      const reason = 'the Account already has a Dynamics key';
      await audit(ctx, { recordKey: key, flow: FLOW, outcome: 'skipped', startedAt, info, error: reason });
      return { outcome: 'exists', key: existingKey, ...splitKey(ctx, existingKey, account) };
    }
    const resolvedLe = resolveLegalEntity(account, config, ctx.reference);
    const claimed = await claim(ctx, idemKey, options.owner ?? newOwner());
    if (claimed.completed) {
      // Completed earlier but the Account shows no key (someone cleared it): write it back again.
      const d = claimed.record.data;
      return await finish(ctx, accountId, String(d.dataAreaId), String(d.customerAccount), {
        key,
        startedAt,
        info,
      });
    }
    const { lease } = claimed;
    try {
      const dataAreaId = String(lease.data().dataAreaId ?? resolvedLe);
      const currency = resolveCurrency(dataAreaId, account.CurrencyIsoCode, config, ctx.reference);
      const group = config.customerGroups.byLegalEntity[dataAreaId] ?? config.customerGroups.default;
      let customerAccount = lease.data().customerAccount as string | undefined;
      for (let tries = 0; ; tries++) {
        if (!customerAccount) {
          customerAccount = await allocateCustomerAccount(
            ctx,
            dataAreaId,
            options.prefix ?? config.accountWriteBack.customerAccountPrefix,
          );
          await lease.save({ dataAreaId, customerAccount });
        }
        const record = customerRecord(account, { dataAreaId, customerAccount, currency, group }, config);
        const triedBefore = lease.data().creating === customerAccount;
        await lease.save({ creating: customerAccount });
        if (await createOrConfirm(ctx, record, triedBefore)) break;
        if (tries >= 5)
          throw new ConditionFailedError(
            `customer numbers in ${dataAreaId} keep colliding; check the counter`,
          );
        customerAccount = undefined;
      }
      await writeKey(ctx, accountId, dataAreaId, customerAccount);
      await lease.complete({ dataAreaId, customerAccount });
      await audit(ctx, {
        recordKey: key,
        flow: FLOW,
        outcome: 'succeeded',
        startedAt,
        info,
        targetIds: { dataAreaId, customerAccount },
      });
      return {
        outcome: 'succeeded',
        dataAreaId,
        customerAccount,
        key: keyValue(ctx, dataAreaId, customerAccount),
      };
    } finally {
      await lease.release();
    }
  } catch (error) {
    if (error instanceof ParkedError) {
      await audit(ctx, {
        recordKey: key,
        flow: FLOW,
        outcome: 'parked',
        startedAt,
        info,
        error: error.message,
      });
      return { outcome: 'parked', reason: error.message };
    }
    await audit(ctx, {
      recordKey: key,
      flow: FLOW,
      outcome: 'failed',
      startedAt,
      info,
      error: describeFailure(error),
    });
    throw error;
  }
}

const keyValue = (ctx: EngineContext, dataAreaId: string, id: string) =>
  externalIdValue({ dataAreaId, id }, ctx.config.legalEntities.length > 1);

/** A stored Dynamics key as (legal entity, account); the single-entity form takes the only or the resolved legal entity. */
export function splitKey(
  ctx: EngineContext,
  value: string,
  account: Readonly<Record<string, unknown>>,
): { dataAreaId: string; customerAccount: string } {
  const { config } = ctx;
  const fallback = value.includes(':')
    ? undefined
    : config.legalEntities.length === 1
      ? config.legalEntities[0]
      : resolveLegalEntity(account, config, ctx.reference);
  const parsed = parseExternalIdValue(value, fallback);
  return { dataAreaId: parsed.dataAreaId, customerAccount: parsed.id };
}

/** Completes a record left in progress by an attempt that wrote the key back and then stopped. */
async function settle(ctx: EngineContext, idemKey: string): Promise<void> {
  const record = await ctx.state.getIdempotent(idemKey);
  if (record?.status !== 'in_progress') return;
  await ctx.state
    .completeIdempotent(idemKey, record.version, { leaseOwner: null, leaseUntil: null })
    .catch(() => undefined);
}

async function writeKey(ctx: EngineContext, accountId: string, dataAreaId: string, customerAccount: string) {
  const fields: Record<string, unknown> = {
    [ctx.config.externalIds.account]: keyValue(ctx, dataAreaId, customerAccount),
  };
  const leField = legalEntityField(ctx.config);
  if (leField) fields[leField] = dataAreaId;
  await parkOnRefusal(`writing the Dynamics key to Account ${accountId}`, () =>
    ctx.salesforce.update('Account', accountId, fields, optionsOf(ctx)),
  );
}

async function finish(
  ctx: EngineContext,
  accountId: string,
  dataAreaId: string,
  customerAccount: string,
  at: { key: string; startedAt: number; info: AttemptInfo },
): Promise<WriteBackResult> {
  await writeKey(ctx, accountId, dataAreaId, customerAccount);
  await audit(ctx, {
    recordKey: at.key,
    flow: FLOW,
    outcome: 'succeeded',
    startedAt: at.startedAt,
    info: at.info,
    targetIds: { dataAreaId, customerAccount },
  });
  return {
    outcome: 'succeeded',
    dataAreaId,
    customerAccount,
    key: keyValue(ctx, dataAreaId, customerAccount),
  };
}

/** An error's message for the audit trail: typed errors carry redacted context only. */
export function describeFailure(error: unknown): string {
  if (error instanceof DynamicsWriteError) return error.infolog ?? error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
