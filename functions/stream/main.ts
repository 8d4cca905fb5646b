/**
 * The Fargate task's entry point: installs the SIGTERM/SIGINT handlers first (ECS sends SIGTERM on
 * every deployment and scale-in, then SIGKILL after the stop timeout), builds the runtime from the
 * environment, starts the stream task (its health endpoint at once; the subscribers once real
 * credentials exist, see task.ts) and drains it on the signal, exiting 0 once the batches in
 * flight are acknowledged.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
 */
import { createEngineRuntime, type EngineRuntime } from '#adapters/aws/engine.ts';
import { type StreamTask, startStreamTask } from './task.ts';

const DEFAULT_HEALTH_PORT = 8080;

let runtime: EngineRuntime | undefined;
let task: StreamTask | undefined;
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  runtime?.logger.info('stream.signal', { signal });
  await task?.stop();
  await runtime?.close();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

// The task's metrics become CloudWatch metrics through log metric filters: one scalar per line.
runtime = createEngineRuntime({ immediateMetrics: true });
const started = await startStreamTask({
  runtime,
  healthPort: runtime.env.healthPort ?? DEFAULT_HEALTH_PORT,
  ...(runtime.env.healthHost ? { healthHost: runtime.env.healthHost } : {}),
});
task = started;
// A signal that arrived while the health endpoint was starting found no task to stop.
if (stopping) await started.stop();
