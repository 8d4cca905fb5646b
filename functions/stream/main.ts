/**
 * The Fargate task's entry point: builds the runtime from the environment, starts the stream task
 * and drains it on SIGTERM (ECS sends it on every deployment and scale-in, then SIGKILL after the
 * stop timeout), exiting 0 once the batches in flight are acknowledged.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_timeout
 */
import { createEngineRuntime } from '#adapters/aws/engine.ts';
import { startStreamTask } from './task.ts';

const DEFAULT_HEALTH_PORT = 8080;

const runtime = createEngineRuntime();
const task = await startStreamTask({ runtime, healthPort: runtime.env.healthPort ?? DEFAULT_HEALTH_PORT });

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  runtime.logger.info('stream.signal', { signal });
  await task.stop();
  await runtime.close();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
