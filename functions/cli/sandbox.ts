/**
 * `ml-connector sandbox`: starts the Dynamics and Salesforce sandboxes on loopback and runs
 * until SIGINT/SIGTERM. With --json it prints one line of JSON with everything a client needs.
 */
import { join } from 'node:path';
import { type CommandSpec, ExitCode, intOption, UsageError } from './command.ts';

const options = {
  json: { type: 'boolean' },
  seed: { type: 'string' },
  customers: { type: 'string' },
  products: { type: 'string' },
  'sales-orders': { type: 'string' },
  'page-size': { type: 'string' },
  'latency-ms': { type: 'string' },
  'multi-currency': { type: 'boolean' },
  'no-address-picklists': { type: 'boolean' },
  'no-orders': { type: 'boolean' },
  'daily-api-limit': { type: 'string' },
  'dynamics-port': { type: 'string' },
  'authority-port': { type: 'string' },
  'my-domain-port': { type: 'string' },
  'instance-port': { type: 'string' },
  'pubsub-port': { type: 'string' },
  dir: { type: 'string' },
} as const;

export const sandboxCommand: CommandSpec<typeof options> = {
  name: 'sandbox',
  brief: 'start the built-in Dynamics and Salesforce sandboxes',
  summary:
    'Starts local stand-ins for Dynamics 365 F&O (Entra + OData) and a Salesforce org (REST + Pub/Sub)\n' +
    'with the example business, on loopback HTTPS with a local CA, until Ctrl-C.',
  usage: 'sandbox [--json] [options]',
  optionHelp: [
    ['--json', 'print one line of JSON with URLs, credentials and the CA file, then run'],
    ['--seed <n>', 'seed of the generated data (default 1)'],
    ['--customers <n>', 'Dynamics customers across the three legal entities (default 3000)'],
    ['--products <n>', 'Dynamics released products (default 2000)'],
    ['--sales-orders <n>', 'seeded Dynamics sales orders (default 300)'],
    ['--page-size <n>', 'OData server page size, at most 10000 (default 10000)'],
    ['--latency-ms <n>', 'latency added to every API call of both sandboxes (default 0)'],
    ['--multi-currency', 'enable multi-currency in the Salesforce org'],
    [
      '--no-address-picklists',
      'an org without State and Country/Territory Picklists (no …CountryCode fields)',
    ],
    ['--no-orders', 'an org without Orders enabled (no Order, OrderItem)'],
    ['--daily-api-limit <n>', 'the Salesforce org daily API allocation (default 100000)'],
    ['--dynamics-port <n>', 'OData port (default: any free port); likewise --authority-port,'],
    ['', '--my-domain-port, --instance-port, --pubsub-port'],
    ['--dir <path>', 'where the sandbox CA lives (default .sandbox under the current directory)'],
  ],
  options,
  async run(values, _positionals, io) {
    const { startSandboxes } = await import('#sandbox/index.ts');
    const latencyMs = intOption('latency-ms', values['latency-ms'], 0);
    const sandboxes = await startSandboxes({
      ...(values.dir ? { tlsDir: join(values.dir, 'tls') } : {}),
      dynamics: {
        seed: intOption('seed', values.seed, 1),
        customers: intOption('customers', values.customers, 3000),
        products: intOption('products', values.products, 2000),
        salesOrders: intOption('sales-orders', values['sales-orders'], 300),
        pageSize: intOption('page-size', values['page-size'], 10_000),
        latencyMs,
        odataPort: intOption('dynamics-port', values['dynamics-port'], 0),
        authorityPort: intOption('authority-port', values['authority-port'], 0),
      },
      salesforce: {
        seed: intOption('seed', values.seed, 1),
        multiCurrency: values['multi-currency'] ?? false,
        stateCountryPicklists: !(values['no-address-picklists'] ?? false),
        orders: !(values['no-orders'] ?? false),
        dailyApiLimit: intOption('daily-api-limit', values['daily-api-limit'], 100_000),
        latencyMs,
        myDomainPort: intOption('my-domain-port', values['my-domain-port'], 0),
        instancePort: intOption('instance-port', values['instance-port'], 0),
      },
      pubsub: { port: intOption('pubsub-port', values['pubsub-port'], 0) },
    }).catch((error: unknown) => {
      // The sandboxes validate their options with RangeErrors: those are the user's arguments.
      throw error instanceof RangeError ? new UsageError(error.message) : error;
    });
    const { info } = sandboxes;
    if (values.json) {
      io.stdout.write(`${JSON.stringify(info)}\n`);
    } else {
      const d = info.dynamics;
      const s = info.salesforce;
      io.stdout.write(
        [
          'ml-connector sandboxes are running (Ctrl-C to stop).',
          '',
          'Dynamics 365 F&O sandbox',
          `  environment     ${d.environmentUrl}   (OData: ${d.odataUrl})`,
          `  authority host  ${d.authorityHost}   tenant ${d.tenantId}`,
          `  client id       ${d.clientId}`,
          '',
          'Salesforce sandbox',
          `  My Domain       ${s.myDomainUrl}   (REST instance: ${s.instanceUrl}, API v${s.apiVersion})`,
          `  Pub/Sub         ${s.pubsubEndpoint}   org ${s.orgId}`,
          `  client id       ${s.clientId}`,
          '',
          `Trust the sandbox CA: NODE_EXTRA_CA_CERTS=${info.caFile}`,
          'Client secrets and control tokens: run `ml-connector sandbox --json`.',
          '',
        ].join('\n'),
      );
    }
    await new Promise<void>((resolve) => {
      if (io.stopSignal.aborted) resolve();
      io.stopSignal.addEventListener('abort', () => resolve(), { once: true });
    });
    await sandboxes.close();
    if (!values.json) io.stdout.write('Sandboxes stopped.\n');
    return ExitCode.ok;
  },
};
