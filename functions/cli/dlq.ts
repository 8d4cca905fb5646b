/** `ml-connector dlq list|redrive`: the dead-letter queues of the local state. */
import { QUEUES } from '#core/work/items.ts';
import { type CommandSpec, ExitCode, UsageError } from './command.ts';
import { openLocalState, stateOptionHelp, stateOptions } from './local-engine.ts';

const options = { ...stateOptions, queue: { type: 'string' }, json: { type: 'boolean' } } as const;

export const dlqCommand: CommandSpec<typeof options> = {
  name: 'dlq',
  brief: 'list or redrive dead-lettered work (local state)',
  summary:
    'Lists dead-lettered work with the reason, or moves it back to its queue (redrive) for the next start.',
  usage: 'dlq list|redrive [--queue to-salesforce|to-dynamics] [--json]',
  optionHelp: [
    ['--queue <name>', `one queue (default both: ${Object.values(QUEUES).join(', ')})`],
    ['--json', 'machine-readable output'],
    ...stateOptionHelp,
  ],
  options,
  async run(values, positionals, io) {
    const [action] = positionals;
    if (action !== 'list' && action !== 'redrive') throw new UsageError('use `dlq list` or `dlq redrive`');
    const all: readonly string[] = Object.values(QUEUES);
    if (values.queue && !all.includes(values.queue))
      throw new UsageError(`unknown queue "${values.queue}"; use ${all.join(' or ')}`);
    const queues = values.queue ? [values.queue] : all;
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
      if (values.json) {
        io.stdout.write(`${JSON.stringify(letters)}\n`);
      } else {
        for (const [q, list] of Object.entries(letters)) {
          io.stdout.write(`${q}: ${list.length} dead letter(s)\n`);
          for (const l of list)
            io.stdout.write(
              `  ${new Date(l.deadLetteredAt).toISOString()} ${JSON.stringify(l.body)} (${l.reason ?? `received ${l.receiveCount} times`})\n`,
            );
        }
      }
      return ExitCode.ok;
    } finally {
      local.close();
    }
  },
};
