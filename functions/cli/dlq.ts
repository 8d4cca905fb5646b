/**
 * `ml-connector dlq list|redrive`: the dead-letter queues of the local state; `dlq list --stack`
 * peeks at a deployed stack's DLQs (SQS, nothing deleted) with the reason each letter carries.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter } from '#core/ports/work-queue.ts';
import { QUEUES } from '#core/work/items.ts';
import { type CliIo, type CommandSpec, ExitCode, UsageError } from './command.ts';
import { openLocalState, stateOptionHelp, stateOptions } from './local-engine.ts';
import { deployedStatePorts, lookUpStack, stackOption } from './stack.ts';

const options = {
  ...stateOptions,
  ...stackOption,
  queue: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Why a letter is dead: the worker's reason, or the queue's redrive policy after its receives. */
export function deadLetterReason(letter: DeadLetter): string {
  return letter.reason ?? `received ${letter.receiveCount} times (the queue's redrive policy)`;
}

function printLetters(io: CliIo, letters: Record<string, readonly DeadLetter[]>, json: boolean): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(letters)}\n`);
    return;
  }
  for (const [q, list] of Object.entries(letters)) {
    io.stdout.write(`${q}: ${list.length} dead letter(s)\n`);
    for (const l of list)
      io.stdout.write(
        `  ${new Date(l.deadLetteredAt).toISOString()} ${JSON.stringify(l.body)} (${deadLetterReason(l)})\n`,
      );
  }
}

export const dlqCommand: CommandSpec<typeof options> = {
  name: 'dlq',
  brief: 'list or redrive dead-lettered work (local state; list also for a deployed stack)',
  summary:
    'Lists dead-lettered work with the reason, or moves it back to its queue (redrive) for the next start.',
  usage: 'dlq list|redrive [--queue to-salesforce|to-dynamics] [--json] [--state <file> | --stack <name>]',
  optionHelp: [
    ['--queue <name>', `one queue (default both: ${Object.values(QUEUES).join(', ')})`],
    ['--json', 'machine-readable output'],
    ...stateOptionHelp,
    ['--stack <name>', "list: a deployed stack's DLQs (redrive them with `ml-connector redrive --stack`)"],
  ],
  options,
  async run(values, positionals, io) {
    const [action] = positionals;
    if (action !== 'list' && action !== 'redrive') throw new UsageError('use `dlq list` or `dlq redrive`');
    const all: readonly string[] = Object.values(QUEUES);
    if (values.queue && !all.includes(values.queue))
      throw new UsageError(`unknown queue "${values.queue}"; use ${all.join(' or ')}`);
    const queues = values.queue ? [values.queue] : all;
    if (values.stack) {
      if (action === 'redrive')
        throw new UsageError(`for a deployed stack, use \`ml-connector redrive --stack ${values.stack}\``);
      const stack = await lookUpStack(values.stack);
      const sqs = new SQSClient({});
      const { queue } = deployedStatePorts(stack, { dynamodb: new DynamoDBClient({}), sqs });
      try {
        const letters = Object.fromEntries(
          await Promise.all(
            queues.map(async (q) => [q, await queue.listDeadLetters(q, { limit: 1000 })] as const),
          ),
        );
        printLetters(io, letters, Boolean(values.json));
        return ExitCode.ok;
      } finally {
        sqs.destroy();
      }
    }
    const local = openLocalState(values.state);
    try {
      if (action === 'redrive') {
        const moved = Object.fromEntries(
          await Promise.all(queues.map(async (q) => [q, await local.queue.redrive(q)] as const)),
        );
        io.stdout.write(
          values.json
            ? `${JSON.stringify(moved)}\n`
            : `${Object.entries(moved)
                .map(([q, n]) => `${q}: ${n} moved back`)
                .join('\n')}\n`,
        );
        return ExitCode.ok;
      }
      const letters = Object.fromEntries(
        await Promise.all(
          queues.map(async (q) => [q, await local.queue.listDeadLetters(q, { limit: 1000 })] as const),
        ),
      );
      printLetters(io, letters, Boolean(values.json));
      return ExitCode.ok;
    } finally {
      local.close();
    }
  },
};
