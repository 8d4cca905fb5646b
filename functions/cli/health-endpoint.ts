/**
 * `start --health-port`: the local connector's liveness endpoint for a container or a process
 * supervisor, on the same server as the Fargate task's (functions/adapters/health-server.ts). `GET /health`
 * answers 200 with the version while the process runs and has not been asked to stop, 503 once
 * SIGTERM/SIGINT arrived (while it finishes the work in hand); it says nothing about the two
 * systems (that is `ml-connector ping`). Off unless the option is given.
 */

import { startHealthServer } from '#adapters/health-server.ts';
import { VERSION } from '#base/version.ts';
import { type CliIo, intOption } from './command.ts';

/** The options `start` adds for the endpoint. */
export const healthOptions = {
  'health-port': { type: 'string' },
  'health-host': { type: 'string' },
} as const;

export const healthOptionHelp: readonly (readonly [string, string])[] = [
  ['--health-port <n>', 'serve GET /health on this port (default: no endpoint)'],
  ['--health-host <h>', 'where it listens (default 127.0.0.1; 0.0.0.0 in a container)'],
];

/**
 * Starts the endpoint when `--health-port` is given; disposing of the result closes it. Use with
 * `await using`, so it closes however the command ends.
 */
export async function openHealthEndpoint(
  values: { readonly 'health-port'?: string | undefined; readonly 'health-host'?: string | undefined },
  io: CliIo,
): Promise<AsyncDisposable & { readonly port: number | undefined }> {
  if (values['health-port'] === undefined) return { port: undefined, [Symbol.asyncDispose]: async () => {} };
  const server = await startHealthServer({
    port: intOption('health-port', values['health-port'], 0),
    host: values['health-host'] ?? '127.0.0.1',
    report: () => ({
      healthy: !io.stopSignal.aborted,
      status: io.stopSignal.aborted ? 'stopping' : 'running',
      version: VERSION,
    }),
  });
  io.stdout.write(`Health endpoint: http://${values['health-host'] ?? '127.0.0.1'}:${server.port}/health\n`);
  return { port: server.port, [Symbol.asyncDispose]: () => server.close() };
}
