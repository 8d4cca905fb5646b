/** Shared set-up of the to-Dynamics integration tests: Salesforce data a rep would create, stubs, Dynamics look-ups. */
import type { EngineContext } from '#core/engine/context.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import type { SalesforceStub } from '#core/work/items.ts';
import type { EngineHarness } from '#test/support/engine-harness.ts';

export { createSalesforceProducts } from '#test/support/sales-order-fixture.ts';

let seq = 0;

/** An Account as the customers flow would have synced it from a Dynamics customer (one per key: the key is unique). */
export function createSyncedAccount(h: EngineHarness, dataAreaId: string, customerAccount: string): string {
  const key = `${dataAreaId}:${customerAccount}`;
  const sf = h.sandboxes.salesforce.control;
  const [existing] = sf.query(`SELECT Id FROM Account WHERE D365_Customer_Key__c = '${key}'`).records;
  if (existing) return String(existing.Id);
  return sf.createAccount({
    Name: `Synced ${customerAccount} ${++seq}`,
    D365_Customer_Key__c: key,
    D365_Legal_Entity__c: dataAreaId,
  });
}

/** A rep's opportunity with one line per item (quantities 1, 2, 3, …), closed won. */
export function createWonOpportunity(h: EngineHarness, accountId: string, items: readonly string[]): string {
  const sf = h.sandboxes.salesforce.control;
  const { id } = sf.createOpportunity({
    accountId,
    name: `Deal ${++seq}`,
    lines: items.map((productCode, i) => ({ productCode, quantity: i + 1 })),
  });
  sf.closeOpportunityWon(id);
  return id;
}

/** A queue delivery of a stub, as the worker receives it. */
export function delivery(
  sobject: SalesforceStub['sobject'],
  id: string,
  receiveCount = 1,
): ReceivedMessage<SalesforceStub> {
  const n = ++seq;
  return {
    messageId: `m${n}`,
    receiptHandle: `r${n}`,
    receiveCount,
    sentAt: Date.now(),
    body: { kind: 'salesforce-stub', sobject, id, trigger: 'cdc', observedAt: Date.now() },
  };
}

/** The Dynamics sales orders carrying this Salesforce id, with their lines (read through the control surface). */
export function dynamicsOrdersFor(h: EngineHarness, salesforceId: string) {
  const d = h.sandboxes.dynamics.control;
  return d
    .listRecords('SalesOrderHeadersV2', { filter: `CustomersOrderReference eq '${salesforceId}'` })
    .map((header) => ({
      header,
      lines: d.salesOrderLines(String(header.dataAreaId), String(header.SalesOrderNumber)),
    }));
}

/** The Dynamics customers with this organization name. */
export function dynamicsCustomersNamed(h: EngineHarness, name: string) {
  return h.sandboxes.dynamics.control.listRecords('CustomersV3', {
    filter: `OrganizationName eq '${name.replaceAll("'", "''")}'`,
  });
}

type AnyFn = (...args: never[]) => unknown;

/** Which writes crash: the k-th write call through the wrapped ports (1-based), after or before it reaches the system. */
export interface CrashPlan {
  at: number;
  when: 'after' | 'before';
  /** The process dies: after the crash nothing more reaches any port (no lease release, no audit). */
  kill?: boolean;
}

/** Thrown by the crash wrapper: the worker "died" here. */
export class SimulatedCrash extends Error {
  override name = 'SimulatedCrash';
}

/**
 * Wraps the context so that the k-th write (Dynamics create/update/change set, Salesforce update/create,
 * completing an idempotency record) throws, before or after it took effect: a worker killed between steps.
 */
export function crashingContext(
  ctx: EngineContext,
  plan: CrashPlan,
): { ctx: EngineContext; writes: string[] } {
  const writes: string[] = [];
  let count = 0;
  let killed = false;
  const wrap = <T extends object>(target: T, methods: readonly string[], label: string): T =>
    new Proxy(target, {
      get(obj, prop, receiver) {
        const value = Reflect.get(obj, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (!methods.includes(String(prop))) {
          if (!plan.kill) return value;
          return (...args: unknown[]) => {
            if (killed) throw new SimulatedCrash(`the worker is dead (${label}.${String(prop)})`);
            return (value as AnyFn).apply(obj, args as never[]);
          };
        }
        return async (...args: unknown[]) => {
          count += 1;
          const name = `${label}.${String(prop)}${args[0] && typeof args[0] === 'object' && 'name' in args[0] ? `:${String((args[0] as { name: unknown }).name)}` : ''}`;
          writes.push(name);
          if (killed) throw new SimulatedCrash(`the worker is dead (${name})`);
          if (count === plan.at && plan.when === 'before') {
            killed = plan.kill === true;
            throw new SimulatedCrash(`crash before ${name}`);
          }
          const result = await (value as AnyFn).apply(obj, args as never[]);
          if (count === plan.at && plan.when === 'after') {
            killed = plan.kill === true;
            throw new SimulatedCrash(`crash after ${name}`);
          }
          return result;
        };
      },
    });
  return {
    writes,
    ctx: {
      ...ctx,
      dynamics: wrap(ctx.dynamics, ['create', 'update', 'changeSet'], 'dynamics'),
      salesforce: wrap(ctx.salesforce, ['update', 'create'], 'salesforce'),
      state: wrap(ctx.state, ['completeIdempotent'], 'state'),
    },
  };
}
