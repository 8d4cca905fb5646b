import { beforeEach, describe, expect, it } from 'vitest';
import type { EngineContext } from '#core/engine/context.ts';
import { ReplayError, replayAuditEntry, replayFailed } from '#core/engine/replay.ts';
import { type DynamicsStub, QUEUES, type SalesforceStub } from '#core/work/items.ts';
import { testConfig } from '#test/support/config.ts';
import { inMemoryEngineContext } from '#test/support/engine-context.ts';

const stub = (account: string): DynamicsStub => ({
  kind: 'dynamics-stub',
  entity: 'CustomersV3',
  key: { dataAreaId: 'usmf', CustomerAccount: account },
  trigger: 'business-event',
  observedAt: 0,
});

describe('replay', () => {
  let ctx: EngineContext;
  let clock: number;
  beforeEach(() => {
    clock = 1_000_000;
    ctx = inMemoryEngineContext(() => clock, { config: testConfig() });
  });
  const base = { flow: 'customers', trigger: 'business-event', attempt: 1 } as const;

  it('re-enqueues the work of one audit entry with the replay trigger', async () => {
    const failed = await ctx.state.appendAudit({
      ...base,
      recordKey: 'a',
      outcome: 'failed',
      work: stub('US-1'),
      error: 'boom',
    });
    await replayAuditEntry(ctx, failed.auditId);
    const [message] = await ctx.queue.receive<DynamicsStub>(QUEUES.toSalesforce);
    expect(message?.body).toMatchObject({
      key: { CustomerAccount: 'US-1' },
      trigger: 'replay',
      source: failed.auditId,
    });
    expect((await ctx.state.queryAudit({ recordKey: 'a' }))[0]).toMatchObject({
      outcome: 'enqueued',
      attempt: 2,
    });
  });

  it('sends a Salesforce stub to the to-Dynamics queue', async () => {
    const work: SalesforceStub = {
      kind: 'salesforce-stub',
      sobject: 'Opportunity',
      id: '006000000000001AAA',
      trigger: 'cdc',
      observedAt: 0,
    };
    const parked = await ctx.state.appendAudit({
      ...base,
      flow: 'won-opportunities',
      recordKey: 'o',
      outcome: 'parked',
      work,
    });
    await replayAuditEntry(ctx, parked.auditId);
    expect(await ctx.queue.receive(QUEUES.toDynamics)).toHaveLength(1);
  });

  it('refuses an unknown audit id or an entry without work', async () => {
    await expect(replayAuditEntry(ctx, 'nope')).rejects.toBeInstanceOf(ReplayError);
    const note = await ctx.state.appendAudit({ ...base, recordKey: 'n', outcome: 'ignored' });
    await expect(replayAuditEntry(ctx, note.auditId)).rejects.toThrow(/no replayable work/);
  });

  it('replays each still-failing record once and leaves the ones that succeeded since', async () => {
    await ctx.state.appendAudit({ ...base, recordKey: 'a', outcome: 'failed', work: stub('A') });
    clock += 10;
    await ctx.state.appendAudit({ ...base, recordKey: 'a', outcome: 'failed', work: stub('A'), attempt: 2 });
    await ctx.state.appendAudit({ ...base, recordKey: 'b', outcome: 'failed', work: stub('B') });
    clock += 10;
    await ctx.state.appendAudit({ ...base, recordKey: 'b', outcome: 'succeeded' });
    const result = await replayFailed(ctx, { since: 0 });
    expect(result).toEqual({ replayed: ['a'], alreadyFine: ['b'], pending: [] });
    expect((await replayFailed(ctx, { since: 0 })).pending).toEqual(['a']);
    expect((await ctx.queue.depth(QUEUES.toSalesforce)).visible).toBe(1);
  });
});
