/**
 * The accountWriteBack flow: a Salesforce Account without a Dynamics key becomes a CustomersV3
 * record, exactly once, and the new key is written back to the Account.
 *
 * F&O assigns the CustomerAccount from the legal entity's customer account number sequence (most
 * environments refuse a caller's number), so there is no caller-chosen key to retry on. Instead
 * the customer carries the Account Id in `accountWriteBack.salesforceIdField`, and the steps are:
 *
 * 1. idempotency record `customer:<Account Id>` (also a lease: one worker at a time);
 * 2. the customer: the one saved by an earlier attempt (confirmed by a key read), else one found
 *    by `<salesforceIdField> eq '<Account Id>'` across the synced legal entities, else a POST
 *    without CustomerAccount (renewing the lease first), whose assigned number is saved at once;
 * 3. the key `<le>:<CustomerAccount>` written back to the Account (an idempotent PATCH);
 * 4. the record completed, the attempt audited.
 * A crash after the POST and before saving its number is found again in step 2, never re-created.
 *
 * With `accountWriteBack.customerAccountPrefix` the connector chooses the number instead,
 * `<prefix><n>` from a per-legal-entity counter in the StateStore (`SF-000001`), allocated once and
 * saved before the create; a number already taken by someone else is skipped. F&O accepts it only
 * when the number sequence is Manual or allows changes (`ping` asks for that confirmation).
 */
import type { EngineContext } from '#core/engine/context.ts';
import { rememberDynamicsCanary } from '#core/engine/identity.ts';
import { FLOWS } from '#core/engine/wiring.ts';
import { CustomersV3, type FieldOf } from '#core/ports/dynamics/entities.ts';
import { DynamicsWriteError } from '#core/ports/dynamics/errors.ts';
import { eq } from '#core/ports/dynamics/odata.ts';
import { ConditionFailedError } from '#core/ports/state-store.ts';
import type { Trigger } from '#core/work/items.ts';
import { accountQuery, customerRecord, formatCustomerAccount } from '../mapping/account-write-back.ts';
import { configuredExternalId, parseExternalIdValue, recordKey } from '../mapping/keys.ts';
import {
  legalEntityField,
  ParkedError,
  resolveCurrency,
  resolveLegalEntity,
} from '../mapping/legal-entity.ts';
import { type AttemptInfo, audit, claim, type Lease, newOwner } from './exactly-once.ts';
import { parkOnRefusal } from './parking.ts';

const FLOW = FLOWS.accountWriteBack.name;

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

/** Step 2: the customer confirmed from an earlier attempt, found by the Account Id, or created. */
async function ensureCustomer(
  ctx: EngineContext,
  account: Readonly<Record<string, unknown>>,
  lease: Lease,
  how: { readonly resolvedLe: string; readonly prefix: string | undefined },
): Promise<{ dataAreaId: string; customerAccount: string }> {
  const { config } = ctx;
  const saved = lease.data();
  if (typeof saved.customerAccount === 'string' && typeof saved.dataAreaId === 'string') {
    const key = { dataAreaId: saved.dataAreaId, CustomerAccount: saved.customerAccount };
    if (await ctx.dynamics.get(CustomersV3, key, { ...optionsOf(ctx), select: ['CustomerAccount'] })) {
      return { dataAreaId: saved.dataAreaId, customerAccount: saved.customerAccount };
    }
  }
  const found = await findByAccountId(ctx, String(account.Id));
  if (found) {
    await lease.save(found);
    return found;
  }
  const dataAreaId = String(saved.dataAreaId ?? how.resolvedLe);
  const currency = resolveCurrency(dataAreaId, account.CurrencyIsoCode, config, ctx.reference);
  const group = config.customerGroups.byLegalEntity[dataAreaId] ?? config.customerGroups.default;
  const idField = config.accountWriteBack.salesforceIdField;
  if (how.prefix === undefined) {
    // Renews the lease (and proves it is still ours) right before the one write that is not repeatable.
    await lease.save({ dataAreaId, creating: 'customer' });
    const created = await ctx.dynamics.create(
      CustomersV3,
      customerRecord(account, { dataAreaId, currency, group }, config),
      // Re-sent after a 429 only while the lease is still ours (renewed after the wait).
      { ...optionsOf(ctx), beforeResend: () => lease.renew() },
    );
    const customerAccount = String(created.CustomerAccount ?? '');
    await lease.save({ dataAreaId, customerAccount });
    if (created[idField] !== account.Id) {
      ctx.logger.warn('account-write-back.id-field-not-kept', {
        field: `CustomersV3.${idField}`,
        dataAreaId,
        customerAccount,
        fix: 'set accountWriteBack.salesforceIdField to a CustomersV3 text field of at least 18 characters',
      });
    }
    return { dataAreaId, customerAccount };
  }
  let customerAccount = typeof saved.allocated === 'string' ? saved.allocated : undefined;
  for (let tries = 0; ; tries++) {
    if (!customerAccount) {
      customerAccount = await allocateCustomerAccount(ctx, dataAreaId, how.prefix);
      await lease.save({ dataAreaId, allocated: customerAccount });
    }
    const record = customerRecord(account, { dataAreaId, customerAccount, currency, group }, config);
    const triedBefore = lease.data().creating === customerAccount;
    await lease.save({ creating: customerAccount });
    if (await createOrConfirm(ctx, record, triedBefore)) break;
    if (tries >= 5)
      throw new ConditionFailedError(`customer numbers in ${dataAreaId} keep colliding; check the counter`);
    customerAccount = undefined;
  }
  await lease.save({ dataAreaId, customerAccount });
  return { dataAreaId, customerAccount };
}

/** The customer that carries this Account Id, across the synced legal entities (first by key when several). */
async function findByAccountId(
  ctx: EngineContext,
  accountId: string,
): Promise<{ dataAreaId: string; customerAccount: string } | undefined> {
  const idField = ctx.config.accountWriteBack.salesforceIdField;
  const found: { dataAreaId: string; customerAccount: string }[] = [];
  for await (const c of ctx.dynamics.read(
    CustomersV3,
    {
      company: ctx.config.legalEntities,
      filter: eq(idField, accountId),
      select: ['dataAreaId', 'CustomerAccount', idField as FieldOf<typeof CustomersV3>],
    },
    optionsOf(ctx),
  )) {
    // F&O compares strings case-insensitively; Salesforce Ids differ by case (15-character form).
    if (c[idField] !== accountId) continue;
    found.push({
      dataAreaId: String(c.dataAreaId).toLowerCase(),
      customerAccount: String(c.CustomerAccount),
    });
  }
  found.sort((a, b) =>
    `${a.dataAreaId}:${a.customerAccount}`.localeCompare(`${b.dataAreaId}:${b.customerAccount}`),
  );
  if (found.length > 1)
    ctx.logger.warn('account-write-back.several-customers', { accountId, count: found.length });
  return found[0];
}

/**
 * The accountWriteBack flow for one Account: done at once when it already has a Dynamics key; otherwise resolves the
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
      const { dataAreaId, customerAccount } = await ensureCustomer(ctx, account, lease, {
        resolvedLe,
        prefix: options.prefix ?? config.accountWriteBack.customerAccountPrefix,
      });
      await writeKey(ctx, accountId, dataAreaId, customerAccount);
      await lease.complete({ dataAreaId, customerAccount });
      // The newest customer the connector created: the F&O environment's canary (identity.ts).
      await rememberDynamicsCanary(ctx, { dataAreaId, customerAccount, accountId });
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
  configuredExternalId(ctx.config, { dataAreaId, id });

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
