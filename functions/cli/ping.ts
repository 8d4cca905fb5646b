/** `ml-connector ping`: does the configuration fit the real systems? Reads only; prints a fix per problem. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClients } from '#adapters/clients.ts';
import { createFileSecrets } from '#adapters/local/secrets-file.ts';
import { VERSION } from '#base/version.ts';
import type { ConnectorConfig } from '#core/config/schema.ts';
import type { ConnectorSecrets as ConnectorCredentials } from '#core/ports/secrets.ts';
import { type CommandSpec, ExitCode, UsageError } from './command.ts';
import { loadConfigFile } from './config-file.ts';
import { type PingReport, runPing } from './ping-checks.ts';
import { lookUpStack, readDeployedSecrets, stackOption, stackOptionHelp } from './stack.ts';

const options = {
  config: { type: 'string' },
  credentials: { type: 'string' },
  json: { type: 'boolean' },
  'refresh-metadata': { type: 'boolean' },
  'metadata-cache': { type: 'string' },
  ...stackOption,
} as const;

function render(report: PingReport, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [`ml-connector ${VERSION}`, ''];
  for (const c of report.checks) {
    lines.push(`${c.ok ? paint(32, 'ok  ') : paint(31, 'FAIL')} ${c.system}: ${c.name}`);
    lines.push(`     ${c.detail}`);
    if (c.fix) lines.push(`     fix: ${c.fix}`);
  }
  lines.push(
    '',
    report.ok ? 'Everything fits.' : `${report.checks.filter((c) => !c.ok).length} problem(s) found.`,
    '',
  );
  return lines.join('\n');
}

export const pingCommand: CommandSpec<typeof options> = {
  name: 'ping',
  brief: 'check the configuration against your real systems; writes nothing',
  summary:
    'Checks the configuration and credentials against your real Dynamics and Salesforce: tokens, the OData\n' +
    'service, legal entities and currencies, External ID fields, Pub/Sub topics and the API allocation,\n' +
    "and every field the connector and the configuration use against F&O's $metadata and Salesforce\n" +
    'describe (existence, type, field-level security).\n' +
    'It writes nothing to either system. Exit code 1 when anything needs fixing.',
  usage: 'ping [--config <file> | --stack <name>] [--refresh-metadata] [--json]',
  optionHelp: [
    ['--config <file>', 'the configuration file (default ./ml-connector.yaml)'],
    ['--credentials <file>', 'the encrypted credentials file (default: the one `credentials set` writes)'],
    ['--json', 'print the report as JSON'],
    ['--refresh-metadata', "read F&O's $metadata again instead of the cached copy (kept 24 hours)"],
    ['--metadata-cache <dir>', 'where the $metadata copy is cached (default .ml-connector)'],
    [stackOptionHelp[0], "use the deployed stack's configuration and its Secrets Manager credentials"],
  ],
  options,
  async run(values, _positionals, io) {
    let config: ConnectorConfig;
    let secrets: ConnectorCredentials;
    if (values.stack) {
      if (values.config || values.credentials)
        throw new UsageError(
          '--stack takes the configuration and credentials from the stack: drop --config/--credentials',
        );
      const stack = await lookUpStack(values.stack);
      config = stack.config;
      secrets = await readDeployedSecrets(new SecretsManagerClient({}), stack);
    } else {
      config = loadConfigFile(values.config);
      secrets = await createFileSecrets({
        env: io.env,
        ...(values.credentials ? { path: values.credentials } : {}),
      }).get();
    }
    const clients = createClients(config, secrets);
    try {
      const report = await runPing(config, clients, {
        metadataDir: values['metadata-cache'],
        refreshMetadata: values['refresh-metadata'],
      });
      io.stdout.write(
        values.json
          ? `${JSON.stringify({ version: VERSION, ...report })}\n`
          : render(report, Boolean(io.stdout.isTTY) && !io.env.NO_COLOR),
      );
      return report.ok ? ExitCode.ok : ExitCode.failure;
    } finally {
      await clients.close();
    }
  },
};
