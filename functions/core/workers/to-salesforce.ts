/**
 * The batched to-Salesforce worker: stubs from the queue → grouped by entity, keys deduplicated →
 * full records read from OData by key sets (OR-chains packed per legal entity, few calls) →
 * `syncRecords` (hash skip, Collections/Bulk upsert, price book) → SQS partial-batch outcome.
 * Refusals go to the dead-letter queue with their reason; transient trouble (network, 429/5xx
 * after retries, the Salesforce daily budget) is retried for the affected items only.
 */
import type { BatchOutcome, EngineContext } from '#core/engine/context.ts';
import { markDeleted } from '#core/flows/deletions.ts';
import type { DynamicsRecord } from '#core/mapping/customers.ts';
import type { EntityKey } from '#core/ports/dynamics/entities.ts';
import { formatKey, keyIdentity, validateKey } from '#core/ports/dynamics/keys.ts';
import type { ReceivedMessage } from '#core/ports/work-queue.ts';
import type { DynamicsStub, OrderStatusStub } from '#core/work/items.ts';
import { auditKey, type SyncEntity, syncRecords, TO_SALESFORCE_FLOWS } from '../flows/sync.ts';
import { isTransient, reasonOf } from '../flows/transient.ts';
import { handleOrderStubs, isOrderStatusStub } from './order-status.ts';

/** A worker of the `to-salesforce` queue. */
export interface ToSalesforceWorker {
  /**
   * Handles one batch; never throws (an unexpected error retries the undecided items). Bodies are
   * validated: anything but a Dynamics stub or an order-status stub is dead-lettered.
   */
  handle(messages: readonly ReceivedMessage<unknown>[]): Promise<BatchOutcome>;
}

interface Group {
  readonly key: Readonly<Record<string, string>>;
  readonly dataAreaId: string;
  readonly id: string;
  readonly messages: ReceivedMessage<DynamicsStub>[];
}

type Verdict = { kind: 'done' } | { kind: 'retry' } | { kind: 'dead'; reason: string };

function isStub(body: unknown): body is DynamicsStub {
  const b = body as Partial<DynamicsStub> | null;
  return (
    !!b &&
    typeof b === 'object' &&
    b.kind === 'dynamics-stub' &&
    (b.entity === 'CustomersV3' || b.entity === 'ReleasedProductsV2') &&
    !!b.key &&
    typeof b.key === 'object'
  );
}

/** Creates the worker over an engine context. */
export function createToSalesforceWorker(ctx: EngineContext): ToSalesforceWorker {
  const synced = new Set(ctx.config.legalEntities);

  async function note(stub: DynamicsStub, attempt: number, outcome: 'skipped' | 'ignored', error: string) {
    const flow = TO_SALESFORCE_FLOWS[stub.entity];
    await ctx.state.appendAudit({
      recordKey: auditKey(stub.entity, stub.key.dataAreaId ?? '', stub.key[flow.idField] ?? ''),
      flow: flow.name,
      trigger: stub.trigger,
      attempt,
      outcome,
      error,
      work: stub,
    });
  }

  /** Reads and syncs one entity's groups; returns a verdict per message. */
  async function handleEntity(entity: SyncEntity, groups: readonly Group[], verdicts: Map<string, Verdict>) {
    const flow = TO_SALESFORCE_FLOWS[entity];
    const set = (group: Group, verdict: Verdict) => {
      for (const m of group.messages) verdicts.set(m.receiptHandle, verdict);
    };
    let found: ReadonlyMap<string, Readonly<Record<string, unknown>>>;
    try {
      const result = await ctx.dynamics.readByKeys(
        flow.entity,
        groups.map((g) => g.key as EntityKey<typeof flow.entity>),
        {
          select: flow.select(ctx.config) as never,
          signal: ctx.signal,
          batch: ctx.config.batches.odataBatchReads,
        },
      );
      found = result.found;
    } catch (error) {
      const verdict: Verdict = isTransient(error)
        ? { kind: 'retry' }
        : { kind: 'dead', reason: reasonOf(error) };
      for (const g of groups) set(g, verdict);
      ctx.logger.warn('to-salesforce.read-failed', { entity, keys: groups.length, error: reasonOf(error) });
      return;
    }
    const present: Group[] = [];
    const records: DynamicsRecord[] = [];
    const missing: Group[] = [];
    for (const g of groups) {
      const record = found.get(formatKey(flow.entity, g.key as EntityKey<typeof flow.entity>));
      if (record) {
        present.push(g);
        records.push(record);
      } else missing.push(g);
    }
    if (missing.length > 0) {
      // Not in F&O: deleted there if the connector synced it before (flows/deletions.ts).
      let marks: readonly string[];
      try {
        marks = await markDeleted(
          ctx,
          entity,
          missing.map((g) => ({ dataAreaId: g.dataAreaId, id: g.id })),
          ctx.signal,
        );
      } catch (error) {
        ctx.logger.warn('to-salesforce.mark-deleted-failed', { entity, error: reasonOf(error) });
        const verdict: Verdict = isTransient(error)
          ? { kind: 'retry' }
          : { kind: 'dead', reason: reasonOf(error) };
        for (const g of missing) set(g, verdict);
        marks = [];
      }
      for (const [i, mark] of marks.entries()) {
        const g = missing[i] as Group;
        const first = g.messages[0] as ReceivedMessage<DynamicsStub>;
        const why =
          mark === 'marked'
            ? 'not found in Dynamics: deleted there, marked in Salesforce (lifecycle.deleted)'
            : mark === 'ignored'
              ? 'not found in Dynamics: deleted there, left in Salesforce (lifecycle.deleted.action: ignore)'
              : 'not found in Dynamics';
        await note(first.body, first.receiveCount, 'skipped', why);
        set(g, { kind: 'done' });
      }
    }
    if (records.length === 0) return;
    const { outcomes } = await syncRecords(ctx, entity, records, {
      trigger: 'sync',
      stubs: present.map((g) => g.messages[0]?.body),
      attempts: present.map((g) => Math.max(...g.messages.map((m) => m.receiveCount))),
      signal: ctx.signal,
    });
    present.forEach((g, i) => {
      const o = outcomes[i];
      if (!o || o.status === 'deferred') set(g, { kind: 'retry' });
      else if (o.status === 'failed') set(g, { kind: 'dead', reason: o.reason });
      else set(g, { kind: 'done' });
    });
  }

  async function handle(messages: readonly ReceivedMessage<unknown>[]): Promise<BatchOutcome> {
    const verdicts = new Map<string, Verdict>();
    const byEntity = new Map<SyncEntity, Map<string, Group>>();
    const orderStubs: ReceivedMessage<OrderStatusStub>[] = [];
    try {
      for (const m of messages) {
        if (isOrderStatusStub(m.body)) {
          orderStubs.push(m as ReceivedMessage<OrderStatusStub>);
          continue;
        }
        if (!isStub(m.body)) {
          verdicts.set(m.receiptHandle, { kind: 'dead', reason: 'not a Dynamics stub work item' });
          continue;
        }
        const stub = m.body;
        const message = m as ReceivedMessage<DynamicsStub>;
        const flow = TO_SALESFORCE_FLOWS[stub.entity];
        let key: Readonly<Record<string, string>>;
        try {
          key = validateKey(flow.entity, stub.key as EntityKey<typeof flow.entity>);
        } catch (error) {
          verdicts.set(m.receiptHandle, { kind: 'dead', reason: reasonOf(error) });
          continue;
        }
        const dataAreaId = key.dataAreaId as string;
        if (!ctx.config.flows[flow.name].enabled || !synced.has(dataAreaId)) {
          const why = synced.has(dataAreaId)
            ? `flow ${flow.name} is disabled`
            : `legal entity ${dataAreaId} is not synced`;
          await note(stub, m.receiveCount, 'ignored', why);
          verdicts.set(m.receiptHandle, { kind: 'done' });
          continue;
        }
        const groups = byEntity.get(stub.entity) ?? new Map<string, Group>();
        byEntity.set(stub.entity, groups);
        const identity = keyIdentity(flow.entity, key);
        const group = groups.get(identity);
        if (group) group.messages.push(message);
        else groups.set(identity, { key, dataAreaId, id: key[flow.idField] as string, messages: [message] });
      }
      for (const [entity, groups] of byEntity) await handleEntity(entity, [...groups.values()], verdicts);
      if (orderStubs.length > 0) await handleOrderStubs(ctx, orderStubs, verdicts);
    } catch (error) {
      // State store or programming trouble: nothing is lost, the undecided items come back.
      ctx.logger.error('to-salesforce.batch-failed', { error: reasonOf(error) });
    }
    const done: string[] = [];
    const retry: string[] = [];
    const deadLetter: { receiptHandle: string; reason: string }[] = [];
    for (const m of messages) {
      const v = verdicts.get(m.receiptHandle) ?? { kind: 'retry' };
      if (v.kind === 'done') done.push(m.receiptHandle);
      else if (v.kind === 'retry') retry.push(m.receiptHandle);
      else deadLetter.push({ receiptHandle: m.receiptHandle, reason: v.reason });
    }
    return { done, retry, deadLetter };
  }

  return { handle };
}
