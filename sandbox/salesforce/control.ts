/**
 * The sandbox's control surface: act as a sales rep in the UI (writes carry an empty
 * changeOrigin and use no API allocation), inspect and reset counters, steer faults, the clock
 * and the API allocation, and inject CDC gap events. Available programmatically and over HTTP
 * under `/_sandbox/...` on the instance origin (bearer `controlToken`).
 */
import type { SandboxClock } from '#sandbox/shared/clock.ts';
import { type FaultInjector, type FaultPlan, validateFaultPlan } from '#sandbox/shared/faults.ts';
import { type ChangeEventInput, publishChangeEvent } from './change-events.ts';
import type { ChangeFeed, ChangeType } from './change-feed.ts';
import { type FieldAccess, setFieldAccess } from './field-security.ts';
import type { ApiUsage, CallCounters } from './limits.ts';
import type { Org } from './org.ts';
import type { QueryPage } from './query.ts';
import { QueryError } from './query.ts';
import { recordJson } from './sobjects.ts';
import { RecordError, type Row, type Table, type Transaction } from './store.ts';

/** A control-surface request the sandbox refuses (HTTP 400). */
export class ControlError extends Error {
  override name = 'ControlError';
}

export interface ProductLine {
  /** Product2.ProductCode, or give `product2Id`. */
  readonly productCode?: string;
  readonly product2Id?: string;
  readonly quantity: number;
  /** Defaults to the price book entry's list price. */
  readonly unitPrice?: number;
}

export interface OpportunityInput {
  readonly accountId: string;
  readonly name: string;
  readonly lines?: readonly ProductLine[];
  /** CurrencyIsoCode (multi-currency orgs); defaults to the corporate currency. */
  readonly currency?: string;
  readonly stageName?: string;
  /** `YYYY-MM-DD`; defaults to 30 days from the sandbox clock's today. */
  readonly closeDate?: string;
}

export interface OrderInput {
  readonly accountId: string;
  /** Order.OpportunityId: the Opportunity the order was created from (Salesforce's standard lookup). */
  readonly opportunityId?: string;
  readonly lines?: readonly ProductLine[];
  readonly currency?: string;
  /** `YYYY-MM-DD`; defaults to the sandbox clock's today. */
  readonly effectiveDate?: string;
}

export type GapChangeType = Extract<ChangeType, `GAP_${string}`>;

export interface SalesforceControl {
  createAccount(fields: Readonly<Record<string, unknown>>): string;
  createOpportunity(input: OpportunityInput): { id: string; lineIds: string[] };
  /** Moves the opportunity to a won stage (default 'Closed Won'): IsClosed and IsWon become true. */
  closeOpportunityWon(id: string, stageName?: string): void;
  createOrder(input: OrderInput): { id: string; lineIds: string[] };
  /** Sets Status to 'Activated' (the order needs at least one OrderItem). */
  activateOrder(id: string): void;
  insert(type: string, fields: Readonly<Record<string, unknown>>): string;
  update(type: string, id: string, fields: Readonly<Record<string, unknown>>): void;
  delete(type: string, id: string): void;
  undelete(type: string, id: string): void;
  /** The record in REST form, or undefined. */
  get(type: string, id: string): Record<string, unknown> | undefined;
  /** Runs SOQL and returns every record (no paging). */
  query(soql: string, options?: { all?: boolean }): QueryPage;
  counters(): Readonly<Record<string, number>>;
  resetCounters(): void;
  getFaultPlan(): FaultPlan;
  setFaultPlan(plan: FaultPlan): void;
  advanceClock(ms: number): void;
  apiUsage(): { used: number; max: number; remaining: number };
  setApiUsage(input: { used?: number; max?: number }): void;
  /** Field-level security of the integration user, as describe shows it (field-security.ts). */
  setFieldAccess(sobject: string, field: string, access: FieldAccess): void;
  /** Publishes a GAP_* event (with recordIds) or GAP_OVERFLOW (entity only) on the change feed. */
  injectGap(input: { entityName: string; changeType: GapChangeType; recordIds?: readonly string[] }): void;
  /** Publishes one change event for several records changed alike, or for a wildcard id (`001*`). */
  publishChangeEvent(input: ChangeEventInput): void;
}

export interface ControlDeps {
  readonly org: Org;
  readonly clock: SandboxClock;
  readonly faults: FaultInjector;
  readonly usage: ApiUsage;
  readonly counters: CallCounters;
  readonly feed: ChangeFeed;
}

const today = (ms: number, plusDays = 0) => new Date(ms + plusDays * 86_400_000).toISOString().slice(0, 10);

export function createControl(deps: ControlDeps): SalesforceControl {
  const { org, clock } = deps;
  const write = <T>(fn: (tx: Transaction) => T): T => {
    const tx = org.store.begin(org.uiContext());
    try {
      const out = fn(tx);
      tx.commit();
      return out;
    } catch (err) {
      tx.rollback();
      if (err instanceof RecordError) throw new ControlError(`${err.statusCode}: ${err.message}`);
      throw err;
    }
  };
  const tableOf = (type: string): Table => {
    const t = org.store.table(type);
    if (!t) throw new ControlError(`unknown object type '${type}'`);
    return t;
  };
  const productId = (line: ProductLine): string => {
    if (line.product2Id) return line.product2Id;
    const products = tableOf('Product2');
    for (const row of products.rows.values()) {
      if (row.IsDeleted !== true && row.ProductCode === line.productCode) return row.Id as string;
    }
    throw new ControlError(`no product with ProductCode '${String(line.productCode)}'`);
  };
  const entryFor = (line: ProductLine, currency: string): Row => {
    const pid = productId(line);
    const entries = tableOf('PricebookEntry');
    for (const id of entries.children('Product2Id', pid)) {
      const e = entries.rows.get(id);
      const c = (e?.CurrencyIsoCode as string | null | undefined) ?? org.settings.currencies[0];
      if (e && e.Pricebook2Id === org.settings.standardPricebookId && c === currency && e.IsActive === true)
        return e;
    }
    throw new ControlError(`product ${pid} has no active standard price book entry in ${currency}`);
  };
  const addLines = (
    tx: Transaction,
    type: 'OpportunityLineItem' | 'OrderItem',
    parentField: string,
    parentId: string,
    lines: readonly ProductLine[],
    currency: string,
  ): string[] =>
    lines.map((line) => {
      if (!(typeof line.quantity === 'number' && line.quantity > 0))
        throw new ControlError('each line needs a positive quantity');
      const entry = entryFor(line, currency);
      return org.dml.insert(tx, type, {
        [parentField]: parentId,
        PricebookEntryId: entry.Id,
        Quantity: line.quantity,
        UnitPrice: line.unitPrice ?? entry.UnitPrice,
      });
    });
  const currencyFields = (currency: string | undefined): Record<string, unknown> => {
    if (currency === undefined) return {};
    if (!org.settings.multiCurrency) throw new ControlError('currency needs a multi-currency org');
    return { CurrencyIsoCode: currency };
  };
  const requireString = (value: unknown, name: string): string => {
    if (typeof value !== 'string' || value === '')
      throw new ControlError(`${name} must be a non-empty string`);
    return value;
  };

  return {
    setFieldAccess: (sobject, field, access) => setFieldAccess(org, tableOf(sobject).def.name, field, access),
    createAccount: (fields) => write((tx) => org.dml.insert(tx, 'Account', fields)),
    createOpportunity(input) {
      requireString(input.accountId, 'accountId');
      requireString(input.name, 'name');
      const currency = input.currency ?? (org.settings.currencies[0] as string);
      return write((tx) => {
        const id = org.dml.insert(tx, 'Opportunity', {
          AccountId: input.accountId,
          Name: input.name,
          StageName: input.stageName ?? 'Prospecting',
          CloseDate: input.closeDate ?? today(clock.now(), 30),
          Pricebook2Id: org.settings.standardPricebookId,
          ...currencyFields(input.currency),
        });
        return {
          id,
          lineIds: addLines(tx, 'OpportunityLineItem', 'OpportunityId', id, input.lines ?? [], currency),
        };
      });
    },
    closeOpportunityWon(id, stageName = 'Closed Won') {
      write((tx) => org.dml.update(tx, 'Opportunity', requireString(id, 'id'), { StageName: stageName }));
    },
    createOrder(input) {
      requireString(input.accountId, 'accountId');
      const currency = input.currency ?? (org.settings.currencies[0] as string);
      return write((tx) => {
        const id = org.dml.insert(tx, 'Order', {
          AccountId: input.accountId,
          EffectiveDate: input.effectiveDate ?? today(clock.now()),
          Status: 'Draft',
          Pricebook2Id: org.settings.standardPricebookId,
          ...(input.opportunityId ? { OpportunityId: input.opportunityId } : {}),
          ...currencyFields(input.currency),
        });
        return { id, lineIds: addLines(tx, 'OrderItem', 'OrderId', id, input.lines ?? [], currency) };
      });
    },
    activateOrder(id) {
      write((tx) => org.dml.update(tx, 'Order', requireString(id, 'id'), { Status: 'Activated' }));
    },
    insert: (type, fields) => write((tx) => org.dml.insert(tx, tableOf(type).def.name, fields)),
    update(type, id, fields) {
      write((tx) => org.dml.update(tx, tableOf(type).def.name, id, fields));
    },
    delete(type, id) {
      write((tx) => org.dml.delete(tx, tableOf(type).def.name, id));
    },
    undelete(type, id) {
      write((tx) => org.dml.undelete(tx, tableOf(type).def.name, id));
    },
    get(type, id) {
      const table = tableOf(type);
      const row = org.store.get(table.def.name, id);
      return row ? recordJson(table, row, '63.0') : undefined;
    },
    query(soql, options = {}) {
      try {
        const first = org.queries.run(soql, { all: options.all ?? false });
        const records = [...first.records];
        let page = first;
        while (!page.done && page.nextRecordsUrl) {
          const [locator, offset] = (page.nextRecordsUrl.split('/').at(-1) as string).split('-');
          page = org.queries.more(locator as string, Number(offset));
          records.push(...page.records);
        }
        return { totalSize: first.totalSize, done: true, records };
      } catch (err) {
        if (err instanceof QueryError) throw new ControlError(`${err.errorCode}: ${err.message}`);
        throw err;
      }
    },
    counters: () => deps.counters.read(),
    resetCounters: () => deps.counters.reset(),
    getFaultPlan: () => deps.faults.plan,
    setFaultPlan(plan) {
      try {
        deps.faults.setPlan(validateFaultPlan(plan));
      } catch (err) {
        throw new ControlError((err as Error).message);
      }
    },
    advanceClock(ms) {
      try {
        clock.advance(ms);
      } catch (err) {
        throw new ControlError((err as Error).message);
      }
    },
    apiUsage: () => ({ used: deps.usage.used, max: deps.usage.max, remaining: deps.usage.remaining }),
    setApiUsage(input) {
      const ok = (v: unknown) => v === undefined || (Number.isInteger(v) && (v as number) >= 0);
      if (!ok(input.used) || !ok(input.max))
        throw new ControlError('used and max must be non-negative integers');
      if (input.max !== undefined) deps.usage.max = input.max;
      if (input.used !== undefined) deps.usage.setUsed(input.used);
    },
    injectGap(input) {
      const table = tableOf(requireString(input.entityName, 'entityName'));
      const kinds: readonly string[] = [
        'GAP_CREATE',
        'GAP_UPDATE',
        'GAP_DELETE',
        'GAP_UNDELETE',
        'GAP_OVERFLOW',
      ];
      if (!kinds.includes(input.changeType))
        throw new ControlError(`changeType must be one of ${kinds.join(', ')}`);
      if (!table.def.cdc) throw new ControlError(`${table.def.name} is not enabled for Change Data Capture`);
      const overflow = input.changeType === 'GAP_OVERFLOW';
      const recordIds = overflow ? [] : [...(input.recordIds ?? [])];
      if (!overflow && recordIds.length === 0) throw new ControlError('GAP events need recordIds');
      deps.feed.publish({
        entityName: table.def.name,
        changeType: input.changeType,
        recordIds,
        changedFields: [],
        nulledFields: [],
        diffFields: [],
        values: {},
        changeOrigin: '',
        transactionKey: org.store.transactionKey(),
        sequenceNumber: 1,
        commitTimestamp: clock.now(),
        commitNumber: org.store.nextCommitNumber(),
        commitUser: org.salesRepUserId,
      });
    },
    publishChangeEvent(input) {
      publishChangeEvent({ org, feed: deps.feed, now: () => clock.now() }, input, (m) => new ControlError(m));
    },
  };
}
