/**
 * `ml-connector redrive --stack <name>`: moves dead-lettered work back to its queue with SQS
 * StartMessageMoveTask (the messages return to the queue they came from), and reports progress
 * with ListMessageMoveTasks; `--wait` follows the tasks until they finish.
 * Locally, `ml-connector dlq redrive` does the same on the SQLite queue.
 */
import {
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { type CliIo, type CommandSpec, ExitCode, intOption, UsageError } from './command.ts';
import { type DeployedStack, lookUpStack, stackOption } from './stack.ts';

const QUEUE_NAMES = ['to-salesforce', 'to-dynamics'] as const;
type QueueName = (typeof QUEUE_NAMES)[number];

const options = {
  ...stackOption,
  queue: { type: 'string' },
  wait: { type: 'boolean' },
  'poll-seconds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** One queue's redrive: the task handle when one was started, and its latest progress. */
export interface RedriveProgress {
  readonly queue: QueueName;
  readonly started: boolean;
  readonly status: string;
  readonly moved: number;
  readonly toMove: number | undefined;
  readonly failureReason?: string | undefined;
}

function progressOf(queue: QueueName, started: boolean, task: ListMessageMoveTasksResultEntry | undefined) {
  return {
    queue,
    started,
    status: task?.Status ?? 'NONE',
    moved: task?.ApproximateNumberOfMessagesMoved ?? 0,
    toMove: task?.ApproximateNumberOfMessagesToMove,
    ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}),
  } satisfies RedriveProgress;
}

async function latestTask(sqs: SQSClient, sourceArn: string) {
  const { Results } = await sqs.send(
    new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }),
  );
  return Results?.[0];
}

/** Starts a move task per queue (or finds the one already running) and returns its progress. */
export async function startRedrive(
  sqs: SQSClient,
  stack: DeployedStack,
  queues: readonly QueueName[],
): Promise<RedriveProgress[]> {
  return Promise.all(
    queues.map(async (queue) => {
      const sourceArn = stack.queues[queue].deadLetterArn;
      let started = true;
      try {
        await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn }));
      } catch (error) {
        // One move task per source queue at a time: report the running one instead.
        if (!/already|running|in progress/i.test((error as Error).message ?? '')) throw error;
        started = false;
      }
      return progressOf(queue, started, await latestTask(sqs, sourceArn));
    }),
  );
}

/** Polls until no task is RUNNING (or the signal aborts), reporting each round. */
export async function followRedrive(
  sqs: SQSClient,
  stack: DeployedStack,
  queues: readonly QueueName[],
  options: {
    readonly pollMs: number;
    readonly signal?: AbortSignal;
    readonly onProgress: (p: RedriveProgress[]) => void;
  },
): Promise<RedriveProgress[]> {
  for (;;) {
    const progress = await Promise.all(
      queues.map(async (q) => progressOf(q, false, await latestTask(sqs, stack.queues[q].deadLetterArn))),
    );
    options.onProgress(progress);
    if (!progress.some((p) => p.status === 'RUNNING') || options.signal?.aborted) return progress;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}

function render(progress: readonly RedriveProgress[]): string {
  return progress
    .map((p) => {
      const total = p.toMove === undefined ? '' : ` of ${p.toMove}`;
      const what = p.started ? 'started' : p.status === 'RUNNING' ? 'already running' : 'latest task';
      const reason = p.failureReason ? ` (${p.failureReason})` : '';
      return `${p.queue}: ${what}, ${p.status}, ${p.moved}${total} moved${reason}`;
    })
    .join('\n');
}

export const redriveCommand: CommandSpec<typeof options> = {
  name: 'redrive',
  brief: 'redrive the dead-letter queues of a deployed stack',
  summary:
    "Moves a deployed stack's dead letters back to their queues (SQS StartMessageMoveTask) and reports progress.\n" +
    'Failed backfill runs are not redriven: the next scheduled run covers them.',
  usage: 'redrive --stack <name> [--queue to-salesforce|to-dynamics] [--wait] [--json]',
  optionHelp: [
    ['--stack <name>', 'the deployed CloudFormation stack'],
    ['--queue <name>', `one queue (default both: ${QUEUE_NAMES.join(', ')})`],
    ['--wait', 'follow the move tasks until they finish'],
    ['--poll-seconds <n>', 'with --wait: seconds between progress reports (default 5)'],
    ['--json', 'machine-readable output'],
  ],
  options,
  async run(values, _positionals, io: CliIo) {
    if (!values.stack) throw new UsageError('--stack is required; locally, use `ml-connector dlq redrive`');
    const queue = values.queue;
    if (queue !== undefined && !(QUEUE_NAMES as readonly string[]).includes(queue))
      throw new UsageError(`unknown queue "${queue}"; use ${QUEUE_NAMES.join(' or ')}`);
    const queues = queue ? [queue as QueueName] : [...QUEUE_NAMES];
    const pollMs = intOption('poll-seconds', values['poll-seconds'], 5) * 1000;
    const stack = await lookUpStack(values.stack);
    const sqs = new SQSClient({});
    let progress = await startRedrive(sqs, stack, queues);
    const print = (p: RedriveProgress[]) =>
      io.stdout.write(values.json ? `${JSON.stringify(p)}\n` : `${render(p)}\n`);
    print(progress);
    if (values.wait) {
      let first = true;
      progress = await followRedrive(sqs, stack, queues, {
        pollMs,
        signal: io.stopSignal,
        onProgress: (p) => {
          if (!first) print(p);
          first = false;
        },
      });
    }
    return progress.some((p) => p.status === 'FAILED') ? ExitCode.failure : ExitCode.ok;
  },
};
