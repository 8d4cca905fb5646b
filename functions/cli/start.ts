/**
 * `ml-connector start`: the long-running local connector in one process. With a configuration
 * and credentials it runs against your systems; with neither it starts the built-in sandboxes and
 * runs the demo against them, and says so.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConnectorClients } from '#adapters/clients.ts';
import { startLocalRunner } from '#adapters/local/runner.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import { type Secrets, staticSecrets } from '#core/ports/secrets.ts';
import { type CliIo, type CommandSpec, ExitCode, intOption } from './command.ts';
import { DEFAULT_CONFIG_FILE, loadConfigFile } from './config-file.ts';
import { describeBusiness, describeSalesforce, runSalesStory } from './demo.ts';
import { demoConfig } from './demo-config.ts';
import { healthOptionHelp, healthOptions, openHealthEndpoint } from './health-endpoint.ts';
import { DEFAULT_STATE, openLocalEngine } from './local-engine.ts';

const options = {
  config: { type: 'string' },
  demo: { type: 'boolean' },
  state: { type: 'string' },
  'receiver-host': { type: 'string' },
  'receiver-port': { type: 'string' },
  customers: { type: 'string' },
  products: { type: 'string' },
  'log-level': { type: 'string' },
  ...healthOptions,
} as const;

function waitForStop(io: CliIo): Promise<void> {
  return new Promise((resolve) => {
    if (io.stopSignal.aborted) return resolve();
    io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** What {@link untilStopped} returns when the stop request came first. */
export const STOPPED: unique symbol = Symbol('stopped');

/**
 * Awaits `work` unless the process is asked to stop first: then resolves with {@link STOPPED} at
 * once, and `cleanUp` receives the result if the abandoned work still produces one.
 */
export function untilStopped<T>(
  work: Promise<T>,
  signal: AbortSignal,
  cleanUp?: (result: T) => unknown,
): Promise<T | typeof STOPPED> {
  if (signal.aborted) {
    work.then((result) => cleanUp?.(result)).catch(() => {});
    return Promise.resolve(STOPPED);
  }
  return new Promise((resolve, reject) => {
    const onStop = () => {
      work.then((result) => cleanUp?.(result)).catch(() => {});
      resolve(STOPPED);
    };
    signal.addEventListener('abort', onStop, { once: true });
    work.then(
      (result) => {
        signal.removeEventListener('abort', onStop);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onStop);
        reject(error);
      },
    );
  });
}

interface Running {
  readonly config: ConnectorConfig;
  readonly secrets: Secrets;
  readonly statePath: string;
}

/** What the demo adds around the ordinary run. */
interface DemoHooks {
  /** Before the initial sync, once the receiver listens. */
  beforeSync(clients: ConnectorClients, receiverUrl: string | undefined): Promise<void>;
  /** After the initial sync has drained. */
  afterSync(clients: ConnectorClients): Promise<void>;
}

/**
 * How long a stop waits for the work in hand, then for the clients to close, ms. With the entry
 * point's own bound on what is left (bin/ml-connector.ts), Ctrl-C ends the process within 10 s.
 */
const STOP_GRACE_MS = 4000;
const CLOSE_BOUND_MS = 2000;

/** The line `start` prints once it runs: every trigger and worker is up (the queues need not be empty). */
export const READY_LINE =
  'Ready: the receiver, the CDC stream, the workers and the backfill schedule run. Ctrl-C to stop.';

/**
 * Runs the connector until the process is asked to stop. A stop request is honoured at every
 * step: while the start-up check runs, during the initial sync and afterwards. Readiness waits
 * for the triggers and workers to be up, not for the queues to drain: after a crash, messages the
 * dead process held stay in flight until their visibility time-out, and the pumps take them then.
 */
async function runConnector(
  io: CliIo,
  running: Running,
  values: Record<string, string | boolean | undefined>,
  demo?: DemoHooks,
) {
  const say = (line: string) => io.stdout.write(`${line}\n`);
  const stopped = io.stopSignal;
  const engine = await untilStopped(
    openLocalEngine(io, values as { 'log-level'?: string }, running),
    stopped,
    (abandoned) => abandoned.close(),
  );
  if (engine === STOPPED) {
    say('Stopped before the connector started.');
    return;
  }
  try {
    // How the backfill run at start ended: its report, or undefined when it failed (reported).
    let firstBackfill: { readonly stopped?: string | undefined } | undefined;
    const runner = await startLocalRunner({
      ctx: engine.ctx,
      tokens: engine.clients.salesforce.tokenSource,
      secrets: engine.secrets,
      receiver: {
        ...(values['receiver-host'] ? { host: String(values['receiver-host']) } : {}),
        port: intOption('receiver-port', values['receiver-port'] as string | undefined, 0),
      },
      onEvent: (event) => {
        if (event.type === 'error') say(`! ${event.where}: ${event.message}`);
        if (event.type === 'backfill-finished')
          firstBackfill ??= event.dynamics as { readonly stopped?: string | undefined };
      },
    });
    say(`Business-event receiver: ${runner.receiverUrl}`);
    say('Initial sync (backfill) running in the background.');
    if (engine.config.orderStatus.enabled) say('The sales order status poll runs on its schedule too.');
    say(READY_LINE);
    // The initial sync and the demo's story run beside the wait for Ctrl-C, never before it.
    const initialSync = (async () => {
      if (
        demo &&
        (await untilStopped(demo.beforeSync(engine.clients, runner.receiverUrl), stopped)) === STOPPED
      )
        return;
      if ((await untilStopped(runner.startBackfill, stopped)) === STOPPED) return;
      const retry = `the schedule tries again every ${engine.config.schedules.backfillMinutes} minutes`;
      if (!firstBackfill) say(`Initial sync failed (above); ${retry}.`);
      else if (firstBackfill.stopped) say(`Initial sync stopped early: ${firstBackfill.stopped}; ${retry}.`);
      else say(`Initial sync done. API calls so far: ${describeCalls(engine.clients)}.`);
      if (!demo) return;
      // The demo's story starts from a synced business: its state is new, nothing is left in flight.
      await runner.idle({ timeoutMs: 10 * 60_000, signal: stopped });
      if ((await untilStopped(demo.afterSync(engine.clients), stopped)) === STOPPED) return;
      say('');
      say(
        `The demo is done; the connector keeps running. API calls so far: ${describeCalls(engine.clients)}.`,
      );
    })().catch((error: unknown) => {
      if (!stopped.aborted) say(`! initial sync: ${error instanceof Error ? error.message : String(error)}`);
    });
    await waitForStop(io);
    say('Stopping: aborting the work in hand...');
    const { complete } = await runner.stop({ graceMs: STOP_GRACE_MS });
    await initialSync;
    say(
      complete
        ? 'Stopped. Unfinished work stays queued in the state database for the next start.'
        : 'Stopped (some work did not finish in time: its messages reappear at the next start; nothing is lost).',
    );
  } finally {
    // Closing waits for requests still open; past the bound the process exits without them (bin).
    await untilStopped(engine.close(), AbortSignal.timeout(CLOSE_BOUND_MS));
  }
}

/** API calls made by the two clients, by operation. */
export function describeCalls(clients: ConnectorClients): string {
  const part = (name: string, snapshot: { total: number; byOperation: Readonly<Record<string, number>> }) =>
    `${name} ${snapshot.total} (${Object.entries(snapshot.byOperation)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')})`;
  return `${part('Dynamics', clients.dynamics.counter.snapshot())}; ${part('Salesforce', clients.salesforce.counter.snapshot())}`;
}

export const startCommand: CommandSpec<typeof options> = {
  name: 'start',
  brief: 'run the connector in one process (the demo when nothing is configured)',
  summary:
    'Runs the connector in one process: the business-event receiver, the Salesforce CDC stream, the\n' +
    'scheduled backfill and the workers, over an embedded SQLite state and queue. With no configuration\n' +
    'and no credentials it starts the built-in sandboxes and runs the demo against them.',
  usage: 'start [--config <file>] [--demo] [--state <file>] [--receiver-port <n>]',
  optionHelp: [
    ['--config <file>', `the configuration (default ./${DEFAULT_CONFIG_FILE})`],
    ['--demo', 'run the demo against the built-in sandboxes even if a configuration exists'],
    ['--state <file>', `the SQLite state and queue (default ${DEFAULT_STATE})`],
    ['--receiver-host <h>', 'where the business-event receiver listens (default 127.0.0.1)'],
    ['--receiver-port <n>', 'its port (default: any free port)'],
    ['--customers <n>', 'demo: sandbox customers (default 3000)'],
    ['--products <n>', 'demo: sandbox released products (default 2000)'],
    ['--log-level <l>', 'debug, info, warn (default) or error; logs go to stderr as JSON lines'],
    ...healthOptionHelp,
  ],
  options,
  async run(values, _positionals, io) {
    await using _health = await openHealthEndpoint(values, io);
    const configPath = resolve(values.config ?? DEFAULT_CONFIG_FILE);
    const fileSecrets = createFileSecrets({ env: io.env });
    const demo = values.demo || (!existsSync(configPath) && !fileSecrets.has());
    if (!demo) {
      await runConnector(
        io,
        {
          config: loadConfigFile(values.config),
          secrets: fileSecrets,
          statePath: resolve(values.state ?? DEFAULT_STATE),
        },
        values,
      );
      return ExitCode.ok;
    }

    const say = (line: string) => io.stdout.write(`${line}\n`);
    say('No configuration and no credentials: running the demo against the built-in sandboxes.');
    say('(Run `ml-connector init` and `ml-connector credentials set` to connect your own systems.)');
    say('');
    const { startSandboxes } = await import('#sandbox/index.ts');
    const started = await untilStopped(
      startSandboxes({
        dynamics: {
          customers: intOption('customers', values.customers, 3000),
          products: intOption('products', values.products, 2000),
        },
      }),
      io.stopSignal,
      (abandoned) => abandoned.close(),
    );
    if (started === STOPPED) {
      say('Stopped before the sandboxes started.');
      return ExitCode.ok;
    }
    const sandboxes = started;
    try {
      // Trust the sandboxes' local CA for this process, as NODE_EXTRA_CA_CERTS would.
      const { trustCaFile } = await import('#sandbox/shared/tls.ts');
      trustCaFile(sandboxes.info.caFile);
      const config = demoConfig(sandboxes.info);
      const receiverSecret = randomBytes(24).toString('base64url');
      const { dynamics, salesforce } = sandboxes.info;
      const secrets = staticSecrets({
        dynamics: { clientId: dynamics.clientId, clientSecret: dynamics.clientSecret },
        salesforce: { clientId: salesforce.clientId, clientSecret: salesforce.clientSecret },
        businessEvents: { current: receiverSecret },
      });
      const statePath = resolve(values.state ?? '.ml-connector/demo.db');
      // The sandboxes start afresh each time, so the demo's state does too.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${statePath}${suffix}`, { force: true });
      await runConnector(io, { config, secrets, statePath }, values, {
        async beforeSync(clients, receiverUrl) {
          await describeBusiness(clients, config, say);
          // F&O posts business events for changes to the receiver, authenticated by its secret.
          if (receiverUrl)
            sandboxes.dynamics.control.configureBusinessEvents({
              url: `${receiverUrl}?code=${receiverSecret}`,
            });
        },
        async afterSync(clients) {
          await describeSalesforce(clients, config, say);
          await runSalesStory(sandboxes, clients, config, say);
        },
      });
    } finally {
      await sandboxes.close();
    }
    return ExitCode.ok;
  },
};
