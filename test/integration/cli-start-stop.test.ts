import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openLocalState } from '#cli/local-engine.ts';
import { QUEUES } from '#core/work/items.ts';
import type { Sandboxes } from '#sandbox/index.ts';
import { type CliChild, spawnCli, useCliWorkspace, writeSandboxConfig } from '#test/support/cli.ts';
import { until } from '#test/support/wait.ts';

/** The bound issue 10 sets: `start` stops within 10 s of Ctrl-C, whatever it is doing. */
const STOP_WITHIN_MS = 10_000;
const RECEIVER_SECRET = 'cli-test-receiver-secret';

describe('ml-connector start, stopped and restarted', () => {
  let sandboxes: Sandboxes;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let statePath: string;
  const children: CliChild[] = [];

  useCliWorkspace('mlc-start-stop-', { dynamics: { customers: 300, products: 30, salesOrders: 0 } }, (w) => {
    ({ sandboxes, dir, env } = w);
    // The customer business event the sandbox raises, mapped as docs/CONFIGURATION.md describes.
    writeSandboxConfig(dir, sandboxes, [
      'businessEvents:',
      '  events:',
      '    MLCustomerChangedBusinessEvent: { entity: CustomersV3, keyFields: { CustomerAccount: CustomerAccount } }',
    ]);
    statePath = join(dir, 'state.db');
  });
  afterAll(() => {
    for (const c of children) c.child.kill('SIGKILL');
  });

  const start = () => {
    const child = spawnCli(['start', '--state', statePath], { cwd: dir, env });
    children.push(child);
    return child;
  };

  /** The to-Salesforce queue's depth, read from the state database as `ml-connector status` would. */
  async function depth() {
    const local = openLocalState(statePath);
    try {
      return await local.queue.depth(QUEUES.toSalesforce);
    } finally {
      local.close();
    }
  }

  it('becomes ready after a SIGKILL mid-work, without waiting for the messages the dead process held, and stops on SIGINT', async () => {
    const dynamics = sandboxes.dynamics.control;
    const first = start();
    await first.printed('Ctrl-C to stop');
    const receiverUrl = /Business-event receiver: (\S+)/.exec(first.stdout())?.[1];
    expect(receiverUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    dynamics.configureBusinessEvents({ url: `${receiverUrl}?code=${RECEIVER_SECRET}` });

    // Slow Dynamics down so the worker is mid-batch, then change customers: F&O posts business
    // events, the receiver queues them, the pump takes them in flight (visibility 5 minutes).
    dynamics.setFaultPlan({ rules: [{ kind: 'latency', match: 'odata.*', latencyMs: 3000 }] });
    const customers = dynamics.listRecords('CustomersV3', { company: 'usmf', top: 20 });
    for (const c of customers) {
      dynamics.updateRecord(
        'CustomersV3',
        { dataAreaId: 'usmf', CustomerAccount: String(c.CustomerAccount) },
        { OrganizationName: `${String(c.OrganizationName)} (renamed)` },
      );
    }
    await dynamics.flushBusinessEvents();
    await until(
      'the worker to hold business-event work in flight',
      async () => (await depth()).inFlight > 0,
      {
        detail: first.stdout,
      },
    );
    first.child.kill('SIGKILL');
    expect(await first.exit()).toBe('SIGKILL');
    // The dead process's messages stay in flight until their visibility time-out ends.
    expect((await depth()).inFlight).toBeGreaterThan(0);

    dynamics.setFaultPlan({ rules: [] });
    const second = start();
    await second.printed('Ctrl-C to stop');
    second.child.kill('SIGINT');
    // A functional bound, not a speed measurement: Ctrl-C must end the process within 10 s.
    expect(await second.exit(STOP_WITHIN_MS)).toBe(0);
    expect(second.stdout()).toMatch(/Stopped/);

    // Nothing was lost or dead-lettered: the interrupted work waits in the queue for the next start.
    const after = await depth();
    expect(after.deadLettered).toBe(0);
    expect(after.visible + after.inFlight + after.delayed).toBeGreaterThan(0);
  }, 120_000);

  it('stops on SIGINT while its start-up check waits on a slow Dynamics', async () => {
    const dynamics = sandboxes.dynamics.control;
    dynamics.setFaultPlan({ rules: [{ kind: 'latency', match: 'odata.*', latencyMs: 30_000 }] });
    try {
      const reads = () => Object.entries(dynamics.counters()).filter(([op]) => op.startsWith('odata.'));
      const before = JSON.stringify(reads());
      const child = start();
      await until('the start-up check to call Dynamics', () => JSON.stringify(reads()) !== before, {
        detail: child.stdout,
      });
      child.child.kill('SIGINT');
      expect(await child.exit(STOP_WITHIN_MS)).toBe(0);
      expect(child.stdout()).toMatch(/Stopped before the connector started/);
      expect(child.stdout()).not.toMatch(/Ctrl-C to stop/);
    } finally {
      dynamics.setFaultPlan({ rules: [] });
    }
  }, 60_000);

  it('stops on SIGINT in the middle of its initial sync, a Salesforce write in flight', async () => {
    // A fresh state: every record is new to it, so the initial sync must write to Salesforce.
    const freshState = join(dir, 'fresh.db');
    const salesforce = sandboxes.salesforce.control;
    salesforce.setFaultPlan({
      rules: [
        { kind: 'latency', match: 'rest.composite', latencyMs: 30_000 },
        { kind: 'latency', match: 'rest.bulk', latencyMs: 30_000 },
      ],
    });
    try {
      const customerReads = () => sandboxes.dynamics.control.counters()['odata.read:CustomersV3'] ?? 0;
      const before = customerReads();
      const child = spawnCli(['start', '--state', freshState], { cwd: dir, env });
      children.push(child);
      await child.printed('Ctrl-C to stop');
      // The backfill has read customers: its upsert now waits on the slow Salesforce.
      await until('the initial sync to read customers', () => customerReads() > before, {
        detail: child.stdout,
      });
      child.child.kill('SIGINT');
      expect(await child.exit(STOP_WITHIN_MS)).toBe(0);
      expect(child.stdout()).not.toMatch(/Initial sync done/);
      expect(child.stdout()).toMatch(/Stopped/);
    } finally {
      salesforce.setFaultPlan({ rules: [] });
    }
  }, 60_000);
});
