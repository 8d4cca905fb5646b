/**
 * `ml-connector status`: checkpoints and their age, queue and DLQ depth, the records still parked
 * with their reasons, last errors (local state);
 * with `--stack`, the deployed queues' and DLQs' depths and where the alarms and dashboard are.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SQSClient } from '@aws-sdk/client-sqs';
import { VERSION } from '#base/version.ts';
import { listParked } from '#core/engine/parked.ts';
import { QUEUES } from '#core/work/items.ts';
import { type CliIo, type CommandSpec, ExitCode } from './command.ts';
import { openLocalState, stateOptionHelp, stateOptions } from './local-engine.ts';
import { deployedAlarms, deployedQueueDepths, lookUpStack, stackOption, stackOptionHelp } from './stack.ts';

const options = { ...stateOptions, ...stackOption, json: { type: 'boolean' } } as const;

/** The deployed stack's status: queue and DLQ depths (GetQueueAttributes), the dashboard and alarm topic. */
export async function stackStatus(io: CliIo, name: string, json: boolean): Promise<ExitCode> {
  const stack = await lookUpStack(name);
  const [queues, alarms] = await Promise.all([
    deployedQueueDepths(new SQSClient({}), stack),
    deployedAlarms(new CloudWatchClient({}), stack),
  ]);
  const deadLetters = queues
    .filter((q) => q.queue.endsWith('DLQ'))
    .reduce((n, q) => n + q.visible + q.inFlight, 0);
  if (json) {
    io.stdout.write(
      `${JSON.stringify({ version: VERSION, stack: stack.name, queues, alarms, dashboard: stack.dashboardName, alarmTopic: stack.alarmTopicArn })}\n`,
    );
    return ExitCode.ok;
  }
  const lines = [`ml-connector ${VERSION}, stack ${stack.name}`, '', 'Queues:'];
  for (const q of queues)
    lines.push(`  ${q.queue.padEnd(18)} visible ${q.visible}, in flight ${q.inFlight}, delayed ${q.delayed}`);
  lines.push('', 'Alarms:');
  for (const a of alarms)
    lines.push(`  ${a.state.padEnd(17)} ${a.name}${a.state === 'OK' ? '' : ` (${a.reason ?? ''})`}`);
  if (alarms.length === 0) lines.push('  none found for the alarm topic');
  lines.push(
    '',
    deadLetters > 0
      ? `${deadLetters} dead letter(s): see why in the audit trail, then \`ml-connector redrive --stack ${stack.name}\`.`
      : 'No dead letters.',
    `Dashboard: ${stack.dashboardName} (CloudWatch); alarms notify ${stack.alarmTopicArn}`,
    '',
  );
  io.stdout.write(lines.join('\n'));
  return alarms.some((a) => a.state === 'ALARM') ? ExitCode.failure : ExitCode.ok;
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export const statusCommand: CommandSpec<typeof options> = {
  name: 'status',
  brief: 'checkpoints, queue and dead-letter depth, parked records, latest failures (or a stack)',
  summary:
    'Shows checkpoints and their age, queue and dead-letter depth, the records still parked with their reasons,\n' +
    'and the latest failures, from the local state;\n' +
    "with --stack, the deployed stack's queue and dead-letter depths.",
  usage: 'status [--state <file> | --stack <name>] [--json]',
  optionHelp: [['--json', 'machine-readable output'], ...stateOptionHelp, stackOptionHelp],
  options,
  async run(values, _positionals, io) {
    if (values.stack) return stackStatus(io, values.stack, Boolean(values.json));
    const local = openLocalState(values.state);
    try {
      const now = Date.now();
      const checkpoints = await local.state.listCheckpoints();
      const queues = Object.fromEntries(
        await Promise.all(Object.values(QUEUES).map(async (q) => [q, await local.queue.depth(q)] as const)),
      );
      const failures = [
        ...(await local.state.queryAudit({ outcome: 'failed', limit: 5 })),
        ...(await local.state.queryAudit({ outcome: 'parked', limit: 5 })),
      ]
        .sort((a, b) => b.at - a.at)
        .slice(0, 5);
      // Records whose latest outcome is parked: they wait for a person or for a missing record.
      const parked = await listParked(local.state, { now, limit: 100 });
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ version: VERSION, checkpoints, queues, parked, failures })}\n`);
        return ExitCode.ok;
      }
      const lines = [`ml-connector ${VERSION}`, '', 'Checkpoints:'];
      for (const c of checkpoints)
        lines.push(`  ${c.name.padEnd(48)} ${c.value.slice(0, 32).padEnd(32)} ${age(now - c.updatedAt)} ago`);
      if (checkpoints.length === 0) lines.push('  none yet');
      lines.push('', 'Queues:');
      for (const [name, d] of Object.entries(queues)) {
        const oldest = d.oldestDeadLetterAt ? ` (oldest ${age(now - d.oldestDeadLetterAt)})` : '';
        lines.push(
          `  ${name.padEnd(16)} visible ${d.visible}, in flight ${d.inFlight}, delayed ${d.delayed}, dead letters ${d.deadLettered}${oldest}`,
        );
      }
      lines.push('', `Parked (${parked.length}${parked.length === 100 ? '+' : ''}):`);
      for (const p of parked) {
        const waits = p.waitsFor.length > 0 ? `; retried when ${p.waitsFor.join(', ')} arrives` : '';
        lines.push(
          `  ${new Date(p.at).toISOString()} ${p.recordKey} (audit ${p.auditId}): ${p.reason}${waits}`,
        );
      }
      if (parked.length === 0) lines.push('  none');
      else lines.push('  Fix the cause, then `ml-connector replay <audit id>` (or `replay --failed`).');
      lines.push('', 'Latest failures:');
      for (const f of failures) {
        lines.push(
          `  ${new Date(f.at).toISOString()} ${f.outcome} ${f.recordKey} (audit ${f.auditId}): ${f.error ?? ''}`,
        );
      }
      if (failures.length === 0) lines.push('  none');
      io.stdout.write(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    } finally {
      local.close();
    }
  },
};
