/** `ml-connector replay <audit id>` / `replay --failed [--since …]`: send failed work through again, now. */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { replayAuditEntry, replayFailed } from '#core/engine/replay.ts';
import { type CliIo, type CommandSpec, ExitCode, UsageError } from './command.ts';
import { drainAll } from './drain.ts';
import { openLocalEngine, stateOptionHelp, stateOptions } from './local-engine.ts';
import { deployedStatePorts, lookUpStack, stackOption, stackOptionHelp } from './stack.ts';

const options = {
  ...stateOptions,
  ...stackOption,
  failed: { type: 'boolean' },
  since: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** On a deployed stack: enqueue on its queues; its workers do the rest. */
async function replayOnStack(
  io: CliIo,
  name: string,
  auditId: string | undefined,
  since: number | undefined,
  json: boolean,
): Promise<ExitCode> {
  const stack = await lookUpStack(name);
  const { state, queue } = deployedStatePorts(stack, {
    dynamodb: new DynamoDBClient({}),
    sqs: new SQSClient({}),
  });
  const ctx = { state, queue, now: Date.now };
  let recordKeys: readonly string[];
  if (auditId !== undefined) {
    const entry = await state.getAudit(auditId);
    await replayAuditEntry(ctx, auditId);
    recordKeys = entry ? [entry.recordKey] : [];
  } else {
    recordKeys = (await replayFailed(ctx, { since: since ?? 0 })).replayed;
  }
  io.stdout.write(
    json
      ? `${JSON.stringify({ stack: stack.name, enqueued: recordKeys })}\n`
      : `Enqueued ${recordKeys.length} record(s) on ${stack.name}; its workers process them now.\n` +
          `Follow with \`ml-connector audit --stack ${stack.name} <record key>\`.\n`,
  );
  return ExitCode.ok;
}

/** `24h`, `90m`, `7d`, or an ISO date-time, to epoch ms. */
export function parseSince(text: string, now: number): number {
  const relative = /^(\d+)([mhd])$/.exec(text);
  if (relative)
    return (
      now - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']
    );
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new UsageError(`--since takes 90m, 24h, 7d or an ISO date-time, not "${text}"`);
  return at;
}

export const replayCommand: CommandSpec<typeof options> = {
  name: 'replay',
  brief: 'send failed or parked work through again',
  summary:
    'Sends failed or parked work through its flow again and processes it now: one item by audit id, or\n' +
    'every record still failing since a time with --failed. Replays are idempotent.',
  usage: 'replay <audit id> | replay --failed [--since 24h]',
  optionHelp: [
    ['--failed', 'replay every record whose latest outcome is failed or parked'],
    ['--since <t>', 'with --failed: 90m, 24h (default), 7d or an ISO date-time'],
    ['--json', 'machine-readable output'],
    ...stateOptionHelp,
    stackOptionHelp,
  ],
  options,
  async run(values, positionals, io) {
    const byFailed = values.failed === true;
    if (byFailed === (positionals.length === 1) || positionals.length > 1) {
      throw new UsageError('give one audit id, or --failed');
    }
    const since = byFailed ? parseSince(values.since ?? '24h', Date.now()) : undefined;
    if (values.stack) return replayOnStack(io, values.stack, positionals[0], since, Boolean(values.json));
    const engine = await openLocalEngine(io, values);
    try {
      const { state } = engine.ctx;
      let recordKeys: readonly string[];
      if (since === undefined) {
        const auditId = positionals[0] as string;
        const entry = await state.getAudit(auditId);
        await replayAuditEntry(engine.ctx, auditId);
        recordKeys = entry ? [entry.recordKey] : [];
      } else {
        recordKeys = (await replayFailed(engine.ctx, { since })).replayed;
      }
      const processed = await drainAll(engine.ctx);
      const outcomes = await Promise.all(
        recordKeys.map(async (recordKey) => {
          const [latest] = await state.queryAudit({ recordKey, limit: 1 });
          return { recordKey, outcome: latest?.outcome, error: latest?.error, auditId: latest?.auditId };
        }),
      );
      const failing = outcomes.filter((o) => o.outcome === 'failed' || o.outcome === 'parked');
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ replayed: recordKeys.length, processed, outcomes })}\n`);
      } else {
        const lines = [`Replayed ${recordKeys.length} record(s); processed ${processed} work item(s).`];
        for (const o of outcomes)
          lines.push(`  ${o.recordKey}: ${o.outcome}${o.error ? ` (${o.error})` : ''}`);
        io.stdout.write(`${lines.join('\n')}\n`);
      }
      return failing.length > 0 ? ExitCode.failure : ExitCode.ok;
    } finally {
      await engine.close();
    }
  },
};
