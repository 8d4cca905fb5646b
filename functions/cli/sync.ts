/** `ml-connector sync`: a one-shot backfill of the chosen flows, with progress and a summary. */
import { backfillEntities, backfillObjects, enabledFlows, FLOWS, type FlowKey } from '#core/engine/wiring.ts';
import { type BackfillProgress, runDynamicsBackfill } from '#core/triggers/dynamics-backfill.ts';
import { markReconciled } from '#core/triggers/reconcile-schedule.ts';
import { runSalesforceBackfill } from '#core/triggers/salesforce-backfill.ts';
import { type CommandSpec, ExitCode, UsageError } from './command.ts';
import { drainAll } from './drain.ts';
import { openLocalEngine, stateOptionHelp, stateOptions } from './local-engine.ts';
import { describeCalls } from './start.ts';

const options = {
  ...stateOptions,
  flow: { type: 'string', multiple: true },
  full: { type: 'boolean' },
  reconcile: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const syncCommand: CommandSpec<typeof options> = {
  name: 'sync',
  brief: 'one-shot backfill of the chosen flows, with a summary',
  summary:
    'Runs a one-shot backfill of the chosen flows (default: every enabled flow) and the work it finds,\n' +
    'then prints what was read, upserted, skipped unchanged and failed, and the API calls used.',
  usage: `sync [--flow <${Object.keys(FLOWS).join('|')}>]... [--full] [--reconcile] [--json]`,
  optionHelp: [
    ['--flow <name>', `a flow to run (repeatable): ${Object.keys(FLOWS).join(', ')}`],
    ['--full', 'ignore watermarks and compare everything (unchanged records are still skipped)'],
    [
      '--reconcile',
      'repair drift: look records the state calls synced up in Salesforce; recreate deleted, correct edited',
    ],
    ['--json', 'print the summary as JSON'],
    ...stateOptionHelp,
  ],
  options,
  async run(values, _positionals, io) {
    const chosen = (values.flow as FlowKey[] | undefined) ?? [];
    for (const f of chosen) {
      if (!(f in FLOWS))
        throw new UsageError(`unknown flow "${f}"; choose from ${Object.keys(FLOWS).join(', ')}`);
    }
    const engine = await openLocalEngine(io, values);
    try {
      const { config } = engine.ctx;
      const only = chosen.length > 0 ? chosen : undefined;
      const enabled = enabledFlows(config, only);
      const entities = backfillEntities(config, only);
      const objects = backfillObjects(config, only);
      const tty = Boolean(io.stderr.isTTY) && !io.env.CI;
      const progress = (p: BackfillProgress) => {
        if (!tty) return;
        io.stderr.write(
          `\r${p.entity} ${p.legalEntity}: read ${p.read}, upserted ${p.upserted}, unchanged ${p.skipped}, failed ${p.failed}; API calls: Dynamics ${p.apiCalls.dynamics}, Salesforce ${p.apiCalls.salesforce}   ${p.done ? '\n' : ''}`,
        );
      };
      const dynamics = entities.length
        ? await runDynamicsBackfill(engine.ctx, {
            entities,
            ...(values.full ? { full: true } : {}),
            ...(values.reconcile ? { reconcile: true } : {}),
            onProgress: progress,
          })
        : { runs: [] };
      if (values.reconcile && !('stopped' in dynamics && dynamics.stopped)) await markReconciled(engine.ctx);
      const salesforce = objects.length
        ? await runSalesforceBackfill(engine.ctx, { objects, ...(values.full ? { full: true } : {}) })
        : { enqueued: {}, watermarks: {} };
      const worked = await drainAll(engine.ctx);
      const totals = dynamics.runs.reduce(
        (t, r) => ({
          read: t.read + r.read,
          upserted: t.upserted + r.upserted,
          skipped: t.skipped + r.skipped,
          failed: t.failed + r.failed,
        }),
        { read: 0, upserted: 0, skipped: 0, failed: 0 },
      );
      const summary = {
        flows: enabled,
        dynamicsToSalesforce: totals,
        salesforceToDynamics: { enqueued: salesforce.enqueued },
        workItemsProcessed: worked,
        apiCalls: {
          dynamics: engine.clients.dynamics.counter.snapshot(),
          salesforce: engine.clients.salesforce.counter.snapshot(),
        },
        stopped: 'stopped' in dynamics ? dynamics.stopped : undefined,
      };
      if (values.json) {
        io.stdout.write(`${JSON.stringify(summary)}\n`);
      } else {
        io.stdout.write(
          [
            `Flows: ${enabled.join(', ') || 'none enabled'}`,
            `Dynamics → Salesforce: read ${totals.read}, upserted ${totals.upserted}, unchanged ${totals.skipped}, failed ${totals.failed}`,
            `Salesforce → Dynamics: ${
              Object.entries(salesforce.enqueued)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'nothing owed'
            }; work items processed ${worked}`,
            `API calls: ${describeCalls(engine.clients)}`,
            ...(summary.stopped ? [`Stopped early: ${summary.stopped}`] : []),
            '',
          ].join('\n'),
        );
      }
      return totals.failed > 0 || summary.stopped ? ExitCode.failure : ExitCode.ok;
    } finally {
      await engine.close();
    }
  },
};
