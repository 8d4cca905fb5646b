/**
 * `ml-connector status`: checkpoints and their age, queue and DLQ depth, the records still parked
 * with their reasons, last errors (local state);
 * with `--stack`, the same from the deployed state table, the deployed queues' and DLQs' depths,
 * and where the alarms and dashboard are.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { VERSION } from '#base/version.ts';
import { QUEUES } from '#core/work/items.ts';
import { type CliIo, type CommandSpec, ExitCode } from './command.ts';
import { openLocalState, stateOptionHelp, stateOptions } from './local-engine.ts';
import {
  type DeployedStack,
  deployedAlarms,
  deployedQueueDepths,
  deployedStatePorts,
  lookUpStack,
  stackOption,
  stackOptionHelp,
} from './stack.ts';
import {
  age,
  checkpointLines,
  failureLines,
  parkedLines,
  readStateReport,
  type StateReport,
} from './status-report.ts';

const options = { ...stateOptions, ...stackOption, json: { type: 'boolean' } } as const;

/** The state report, or why the deployed state table could not be read (the other sections still print). */
type DeployedState = { readonly report: StateReport } | { readonly error: string };

async function readDeployedState(stack: DeployedStack, sqs: SQSClient, now: number): Promise<DeployedState> {
  const { state } = deployedStatePorts(stack, { dynamodb: new DynamoDBClient({}), sqs });
  try {
    return { report: await readStateReport(state, now) };
  } catch (error) {
    return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

/**
 * The deployed stack's status: checkpoints, parked records and latest failures from its state
 * table (Query on the table's checkpoint partition and on the byOutcome and byRecord indexes, no
 * Scan), queue and DLQ depths (GetQueueAttributes), the alarms (DescribeAlarms), the dashboard and
 * alarm topic. Exits 1 while an alarm is in ALARM or the state table cannot be read.
 */
export async function stackStatus(io: CliIo, name: string, json: boolean): Promise<ExitCode> {
  const stack = await lookUpStack(name);
  const now = Date.now();
  const sqs = new SQSClient({});
  const [queues, alarms, deployed] = await Promise.all([
    deployedQueueDepths(sqs, stack),
    deployedAlarms(new CloudWatchClient({}), stack),
    readDeployedState(stack, sqs, now),
  ]);
  const deadLetters = queues
    .filter((q) => q.queue.endsWith('DLQ'))
    .reduce((n, q) => n + q.visible + q.inFlight, 0);
  const code =
    alarms.some((a) => a.state === 'ALARM') || 'error' in deployed ? ExitCode.failure : ExitCode.ok;
  if (json) {
    const state = 'error' in deployed ? { stateError: deployed.error } : deployed.report;
    io.stdout.write(
      `${JSON.stringify({
        version: VERSION,
        stack: stack.name,
        stateTable: stack.stateTableName,
        queues,
        alarms,
        ...state,
        dashboard: stack.dashboardName,
        alarmTopic: stack.alarmTopicArn,
      })}\n`,
    );
    return code;
  }
  const lines = [`ml-connector ${VERSION}, stack ${stack.name}`, ''];
  if ('error' in deployed) {
    lines.push(
      `State table ${stack.stateTableName}: cannot read it (${deployed.error}).`,
      '  status --stack needs dynamodb:Query on the table and its byRecord and byOutcome indexes, and',
      "  kms:Decrypt on the stack's key (docs/runbooks/redrive-and-replay.md).",
    );
  } else {
    lines.push(...checkpointLines(deployed.report.checkpoints, now));
  }
  lines.push('', 'Queues:');
  for (const q of queues)
    lines.push(`  ${q.queue.padEnd(18)} visible ${q.visible}, in flight ${q.inFlight}, delayed ${q.delayed}`);
  lines.push('', 'Alarms:');
  for (const a of alarms)
    lines.push(`  ${a.state.padEnd(17)} ${a.name}${a.state === 'OK' ? '' : ` (${a.reason ?? ''})`}`);
  if (alarms.length === 0) lines.push('  none found for the alarm topic');
  if (!('error' in deployed)) {
    lines.push('', ...parkedLines(deployed.report.parked, ` --stack ${stack.name}`));
    lines.push('', ...failureLines(deployed.report.failures));
  }
  lines.push(
    '',
    deadLetters > 0
      ? `${deadLetters} dead letter(s): see why in the audit trail, then \`ml-connector redrive --stack ${stack.name}\`.`
      : 'No dead letters.',
    `Dashboard: ${stack.dashboardName} (CloudWatch); alarms notify ${stack.alarmTopicArn}`,
    '',
  );
  io.stdout.write(lines.join('\n'));
  return code;
}

export const statusCommand: CommandSpec<typeof options> = {
  name: 'status',
  brief: 'checkpoints, queue and dead-letter depth, parked records, latest failures (or a stack)',
  summary:
    'Shows checkpoints and their age, queue and dead-letter depth, the records still parked with their reasons,\n' +
    'and the latest failures, from the local state;\n' +
    "with --stack, the same from the deployed stack's state table, its queue and dead-letter depths and alarms.",
  usage: 'status [--state <file> | --stack <name>] [--json]',
  optionHelp: [['--json', 'machine-readable output'], ...stateOptionHelp, stackOptionHelp],
  options,
  async run(values, _positionals, io) {
    if (values.stack) return stackStatus(io, values.stack, Boolean(values.json));
    const local = openLocalState(values.state);
    try {
      const now = Date.now();
      const queues = Object.fromEntries(
        await Promise.all(Object.values(QUEUES).map(async (q) => [q, await local.queue.depth(q)] as const)),
      );
      const { checkpoints, parked, failures } = await readStateReport(local.state, now);
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ version: VERSION, checkpoints, queues, parked, failures })}\n`);
        return ExitCode.ok;
      }
      const lines = [`ml-connector ${VERSION}`, '', ...checkpointLines(checkpoints, now), '', 'Queues:'];
      for (const [name, d] of Object.entries(queues)) {
        const oldest = d.oldestDeadLetterAt ? ` (oldest ${age(now - d.oldestDeadLetterAt)})` : '';
        lines.push(
          `  ${name.padEnd(16)} visible ${d.visible}, in flight ${d.inFlight}, delayed ${d.delayed}, dead letters ${d.deadLettered}${oldest}`,
        );
      }
      lines.push('', ...parkedLines(parked), '', ...failureLines(failures));
      io.stdout.write(`${lines.join('\n')}\n`);
      return ExitCode.ok;
    } finally {
      local.close();
    }
  },
};
